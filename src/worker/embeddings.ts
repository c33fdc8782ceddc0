/**
 * The worker's prompt embeddings, one cache per loaded model
 * (engine/curate/embed.ts EmbeddingCache): a second curation ("Pick N
 * diverse" with another N, other filters) and the in-context baseline's
 * "k most representative" reuse what an earlier one embedded instead of
 * running the model again. Keyed by the model object, so a model's entries
 * go when it is replaced.
 */
import type { EmbeddingCache } from '../engine/curate';
import type { LlamaModel } from '../engine/model';

const caches = new WeakMap<LlamaModel, EmbeddingCache>();

export function embeddingCache(model: LlamaModel): EmbeddingCache {
  let c = caches.get(model);
  if (!c) caches.set(model, (c = new Map()));
  return c;
}
