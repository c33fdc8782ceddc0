/**
 * The GPU kit's size: its limit and how it is counted, apart from pack.ts
 * (which packs when imported) so tests can use them. The device machine takes
 * 64 MiB of working tree, and the repository travels beside the kit.
 */
import fs from 'node:fs';
import path from 'node:path';

export const MAX_KIT_BYTES = 56 * 2 ** 20;

/** Bytes of the files under p (or of p itself). */
export function treeBytes(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, f) => n + treeBytes(path.join(p, f)), 0);
}
