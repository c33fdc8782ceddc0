/** Paths into ../shared (models, data) with a clear failure when a file is missing. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// import.meta.url, not __dirname: benchmarks import test helpers outside vitest (plain ESM under tsx)
export const SHARED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared');

export function sharedPath(rel: string): string {
  const p = path.join(SHARED, rel);
  if (!fs.existsSync(p)) throw new Error(`missing shared fixture ${p} (tests need ../shared beside the repository; see ../shared/README.md)`);
  return p;
}

export interface ReferenceCase {
  prompt: string;
  steps: number;
  text: string;
  prompt_ids: number[];
  greedy_ids_first60: number[];
  last_logits_head: number[];
}

/** reference.json's cases (default: ../shared's; the GPU kit passes its own copy) */
export function referenceCases(file = sharedPath('models/stories260K/reference.json')): ReferenceCase[] {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file (the stories260K ground truth)`);
  return JSON.parse(fs.readFileSync(file, 'utf8')).cases;
}
