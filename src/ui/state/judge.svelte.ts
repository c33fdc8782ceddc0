/**
 * The model judge (issue 11 part 3), page side: a second model loaded in the
 * worker beside the model under test (worker/judge.ts), any two picks of
 * {base, run 1, …} as in Compare, the first N held-out instructions of the
 * loaded dataset answered by both, each pair judged in both orders.
 *
 * One win-rate definition for people and judge alike: B's wins over the
 * decided comparisons (ties and unparsed verdicts apart, reported beside),
 * with a 95% Wilson interval (src/engine/eval/wilson.ts). The human rate for
 * the same pair comes from the kept blind votes (compare.svelte.ts tallyPair).
 * Results are kept in IndexedDB (worker/db.ts `judged`, one per pair of
 * picks) and restored on reload; the runs table shows each run's latest one
 * against base, with the step each run was at when it was judged.
 */
import type { FrozenBits } from '../../engine/frozen';
import { addKept, deleteKept, isQuotaError, listKept, QUOTA_MESSAGE, readModelBlob, readModelFiles, saveModelFiles } from '../../worker/db';
import type { FileBytes, GenerateSettings, HeldOutPrompt, JudgeReport, JudgeSummary, ModelFiles } from '../../worker/protocol';
import { EngineError, modelTransfer } from '../engine';
import { fetchBytes, fileUrl } from '../lib/hub';
import { engine, onPush } from './app.svelte';
import { compare, runIdsOf, useOf, type Pick } from './compare.svelte';
import { memory } from './memory.svelte';
import { models, refreshCache } from './model.svelte';
import { runs } from './runs.svelte';
import { checkRoom } from './storage.svelte';

export interface JudgeResult extends JudgeReport {
  /** the picks as the selects name them */
  picks: { a: Pick; b: Pick };
  labels: { a: string; b: string };
  judgeName: string;
  /** the step each run of the picks was at when judged (the runs table says 'taken at step K' once it trains on) */
  runSteps?: Record<number, number>;
  /** its key in IndexedDB (worker/db.ts `judged`) once kept */
  key?: number;
}

export const judge = $state({
  loaded: null as JudgeSummary | null,
  loading: null as string | null,
  error: null as string | null,
  notice: null as string | null,
  /** a Hub download in progress: bytes so far of all files */
  download: null as { done: number; total: number } | null,
  a: 'base' as Pick,
  b: 'base' as Pick,
  /** held-out instructions to answer and judge */
  count: 8,
  /** new tokens per answer: both answers and the judge prompt must fit the judge's context */
  answerTokens: 48,
  running: false,
  stopping: false,
  progress: null as { label: string; done: number; total: number } | null,
  /** the latest result; `results` keeps one per pair of picks, newest last */
  result: null as JudgeResult | null,
  results: [] as JudgeResult[],
});

/** The files of an HF folder a judge needs; '' when they are all there. */
export function missingJudgeFiles(names: string[]): string {
  const base = names.map((n) => n.split('/').pop()!);
  const need = ['config.json', 'tokenizer.json'].filter((f) => !base.includes(f));
  if (!base.some((n) => n.endsWith('.safetensors'))) need.push('model.safetensors');
  return need.join(', ');
}

/**
 * The judge's frozen bits: the Frozen weights choice when it names bits;
 * with Auto, the bits the model under test was loaded at (the judge is not
 * trained, so there is no run to fit: it follows the model beside it).
 */
function judgeBits(): FrozenBits | undefined {
  if (memory.frozenBits !== 'auto') return memory.frozenBits;
  return models.loaded?.frozenBits ?? undefined;
}

async function send(files: ModelFiles): Promise<void> {
  judge.loading = `Loading ${files.name} as the judge…`;
  judge.error = null;
  try {
    const frozenBits = judgeBits();
    const r = await engine().call({ type: 'judge-load', files, ...(frozenBits ? { frozenBits } : {}) }, 'judge-model', { transfer: modelTransfer(files) });
    judge.loaded = r.judge;
  } catch (e) {
    judge.error = e instanceof EngineError ? `Could not load the judge ${files.name}: ${e.message}` : (e as Error).message;
  } finally {
    judge.loading = null;
  }
}

/** An HF folder's files picked by the user (config.json, tokenizer.json, tokenizer_config.json with its chat template, model.safetensors). */
export async function loadJudgeFiles(list: File[]): Promise<void> {
  judge.error = null;
  if (list.length === 0) return;
  const missing = missingJudgeFiles(list.map((f) => f.name));
  if (missing) {
    judge.error = `Not a judge model: an HF folder's files are needed; missing ${missing}. Got: ${list.map((f) => f.name).join(', ')}.`;
    return;
  }
  const folder = (list[0] as File & { webkitRelativePath?: string }).webkitRelativePath?.split('/')[0];
  const files: FileBytes[] = await Promise.all(list.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
  await send({ format: 'hf', name: folder || 'local judge', files });
}

/** A model kept in this browser's model cache (a Hub download, or files or a GGUF picked in step 1). */
export async function loadJudgeCached(id: string): Promise<void> {
  judge.error = null;
  const gguf = await readModelBlob(id).catch(() => null);
  if (gguf) return send({ format: 'gguf', name: gguf.name, file: gguf.blob });
  const hit = await readModelFiles(id).catch((e: Error) => {
    judge.error = `Could not read ${id} from the model cache: ${e.message}`;
    return null;
  });
  if (!hit) return;
  if (hit.model.format !== 'hf') {
    judge.error = `${hit.model.name} is a llama2.c checkpoint: a judge must be an instruction-tuned HF model (with a chat template).`;
    return;
  }
  await send({ format: 'hf', name: hit.model.name, files: hit.files });
}

/** What a judge is read from on the Hub: one safetensors file (sharded checkpoints are not read here); the optional ones may be missing. */
export const JUDGE_HUB_FILES = [
  { path: 'config.json', optional: false },
  { path: 'generation_config.json', optional: true },
  { path: 'tokenizer.json', optional: false },
  { path: 'tokenizer_config.json', optional: true },
  { path: 'model.safetensors', optional: false },
];

let hubDownload: AbortController | null = null;

/**
 * Downloads an HF repository's files from the Hub (e.g. Qwen/Qwen2.5-0.5B-Instruct),
 * or reads them from the model cache when fetched before, keeps them there
 * (they show in the cache list) and loads them as the judge.
 */
export async function loadJudgeHub(repoText: string): Promise<void> {
  judge.error = null;
  judge.notice = null;
  const repo = repoText.trim().replace(/^https:\/\/huggingface\.co\//, '').replace(/\/+$/, '');
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) {
    judge.error = `"${repoText}" is not a Hub repository: write it as owner/name, e.g. Qwen/Qwen2.5-0.5B-Instruct.`;
    return;
  }
  const id = `judge:${repo}`;
  judge.loading = `Looking for ${repo} in the model cache…`; // busy from the click on: no second load can start meanwhile
  const hit = await readModelFiles(id).catch(() => null);
  judge.loading = null;
  if (hit) return send({ format: 'hf', name: repo, files: hit.files });
  const ctrl = new AbortController();
  hubDownload = ctrl;
  const sizes = new Map<string, { done: number; total: number }>();
  judge.download = { done: 0, total: 0 };
  const files: FileBytes[] = [];
  try {
    for (const f of JUDGE_HUB_FILES) {
      try {
        const bytes = await fetchBytes(fileUrl(repo, { path: f.path }), ctrl.signal, (done, total) => {
          sizes.set(f.path, { done, total });
          const all = [...sizes.values()];
          judge.download = { done: all.reduce((n, x) => n + x.done, 0), total: all.reduce((n, x) => n + Math.max(x.total, x.done), 0) };
        });
        files.push({ name: f.path, bytes });
      } catch (e) {
        if (f.optional && / answered 404/.test((e as Error).message)) continue;
        if (f.path === 'model.safetensors' && / answered 404/.test((e as Error).message)) {
          throw new Error(`${repo} has no single model.safetensors (a sharded or .bin checkpoint is not read here): ${(e as Error).message}`);
        }
        throw e;
      }
    }
  } catch (e) {
    judge.error = (e as Error).name === 'AbortError' ? 'Download cancelled.' : `Could not download the judge ${repo}: ${(e as Error).message}`;
    return;
  } finally {
    hubDownload = null;
    judge.download = null;
  }
  await checkRoom(`caching the judge ${repo}`, files.reduce((n, f) => n + f.bytes.byteLength, 0));
  try {
    await saveModelFiles({ id, name: repo, format: 'hf' }, files.map((f) => ({ name: f.name, bytes: f.bytes.slice() })));
  } catch (e) {
    judge.notice = isQuotaError(e) ? QUOTA_MESSAGE : `Could not cache ${repo}: ${(e as Error).message}`;
  }
  await refreshCache();
  await send({ format: 'hf', name: repo, files });
}

export function cancelJudgeDownload(): void {
  hubDownload?.abort();
}

/** Answers `prompts` (held-out rows' instructions with their input and system message) with both picks and judges each pair in both orders; Compare's sampling settings, `answerTokens` new tokens. */
export async function runJudge(prompts: HeldOutPrompt[], labels: { a: string; b: string }): Promise<void> {
  judge.error = null;
  judge.running = true;
  judge.stopping = false;
  judge.progress = { label: 'Starting', done: 0, total: 2 * prompts.length };
  const picks = { a: judge.a, b: judge.b };
  const settings = { ...($state.snapshot(compare.settings) as GenerateSettings), maxNewTokens: judge.answerTokens };
  try {
    const r = await engine().call({ type: 'judge-run', prompts: $state.snapshot(prompts) as HeldOutPrompt[], a: useOf(picks.a), b: useOf(picks.b), settings }, 'judged', {
      onEvent: (e) => e.type === 'progress' && (judge.progress = { label: e.label, done: e.done, total: e.total }),
    });
    const ids = runIdsOf(picks.a, picks.b);
    const runSteps = Object.fromEntries(ids.map((id) => [id, runs.list.find((x) => x.id === id)?.step ?? 0]));
    const result: JudgeResult = { ...r.report, picks, labels, judgeName: judge.loaded?.name ?? 'the judge', runSteps };
    const replaced = judge.results.filter((x) => x.picks.a === picks.a && x.picks.b === picks.b);
    judge.result = result;
    judge.results = [...judge.results.filter((x) => !replaced.includes(x)), result];
    await keepResult(judge.results[judge.results.length - 1], ids, replaced);
  } catch (e) {
    const msg = (e as Error).message;
    judge.error = /judging stopped/.test(msg) ? 'Stopped: no result (a judged sample is only meaningful whole).' : `The judge could not finish: ${msg}`;
  } finally {
    judge.running = false;
    judge.progress = null;
  }
}

/** Keeps a result in IndexedDB in place of the older ones for its pair of picks; a failure is said, the result stays on the page. */
async function keepResult(result: JudgeResult, ids: number[], replaced: JudgeResult[]): Promise<void> {
  try {
    const { key: _key, ...value } = $state.snapshot(result) as JudgeResult;
    const key = await addKept('judged', { runs: ids, at: Date.now(), value });
    if (key !== null) result.key = key;
    for (const old of replaced) if (old.key !== undefined) await deleteKept('judged', old.key);
  } catch (e) {
    judge.notice = isQuotaError(e) ? `This judge result is not kept for the next visit: ${QUOTA_MESSAGE}` : `This judge result is not kept for the next visit: ${(e as Error).message}`;
  }
}

/** The kept results, at start (nothing judged yet on this visit); the latest is shown. */
export async function restoreJudged(): Promise<void> {
  const kept = await listKept<JudgeResult>('judged');
  if (judge.results.length) return;
  judge.results = kept.map(({ key, record }) => ({ ...record.value, key }));
  judge.result = judge.results.at(-1) ?? null;
}

/** Drops the results about a deleted run from the page (IndexedDB's went with it). */
export function forgetRunJudged(id: number): void {
  judge.results = judge.results.filter((x) => !runIdsOf(x.picks.a, x.picks.b).includes(id));
  if (judge.result && !judge.results.includes(judge.result)) judge.result = judge.results.at(-1) ?? null;
}

export async function stopJudge(): Promise<void> {
  judge.stopping = true;
  await engine().request({ type: 'judge-stop' });
}

onPush((e) => {
  // a new worker (after a lost device) holds no judge
  if (e.type === 'device-lost') judge.loaded = null;
});
