/**
 * Which requests are running the model now. Embedding prompts (a curation,
 * the in-context baseline's "k most representative") switches the adapter
 * off on the shared model for its forwards, so it runs alone: it is refused
 * while other work on the model (generation, scoring, judging, the start of
 * training) is in flight, and that work is refused while it runs. Training
 * itself is guarded apart (engine.worker.ts notWhileTraining): it goes on
 * after its request has returned.
 */
import type { Request } from './protocol';

/** The requests that embed, and what the user is told they are waiting for. */
const EMBEDS: Partial<Record<Request['type'], string>> = {
  'curate-run': 'the curation',
  'incontext-set': 'the in-context baseline being set',
};
const USES: Partial<Record<Request['type'], string>> = {
  generate: 'the answer being generated',
  'generate-pair': 'the answers being generated',
  'mc-eval': 'the benchmark being scored',
  'heldout-eval': 'the held-out scoring',
  'judge-run': 'the judge',
  'token-shift': 'the token-shift analysis',
  'train-start': 'training to start',
  'train-resume': 'training to resume',
  ...EMBEDS,
};

const running = new Map<number, Request['type']>();

/**
 * Claims the model for `req` when it uses it, or throws what it must wait
 * for; returns the release (a no-op for requests that do not use the model).
 */
export function claimModel(req: Pick<Request, 'type' | 'id'>): () => void {
  if (!(req.type in USES)) return () => {};
  const embeds = req.type in EMBEDS;
  for (const other of running.values()) {
    if (embeds || other in EMBEDS) throw new Error(`Wait for ${USES[other]} to finish (or stop it): embedding prompts switches the adapter off on the model, so it runs alone.`);
  }
  running.set(req.id, req.type);
  return () => running.delete(req.id);
}
