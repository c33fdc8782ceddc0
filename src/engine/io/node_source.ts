/** Node-only: a FileSource over a folder on disk (CLI, tests, benchmarks). */
import fs from 'node:fs';
import path from 'node:path';
import type { FileSource } from './weights';

export function folderSource(dir: string): FileSource {
  return {
    name: dir,
    async read(file: string) {
      const p = path.join(dir, file);
      if (!fs.existsSync(p)) return null;
      const b = fs.readFileSync(p);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    },
  };
}

/** Reads a whole file as Uint8Array, with a clear error when it is missing. */
export function readFileBytes(p: string): Uint8Array {
  if (!fs.existsSync(p)) throw new Error(`${p}: no such file`);
  const b = fs.readFileSync(p);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
