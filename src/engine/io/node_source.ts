/** Node-only: a FileSource over a folder on disk (CLI, tests, benchmarks). */
import fs from 'node:fs';
import path from 'node:path';
import type { ByteSource } from './byte_source';
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

/** A file on disk read by ranges (GGUF: tensor by tensor, never the whole file at once). */
export function fileByteSource(p: string): ByteSource {
  if (!fs.existsSync(p)) throw new Error(`${p}: no such file`);
  const size = fs.statSync(p).size;
  return {
    name: p,
    size,
    async read(offset, length) {
      if (offset + length > size) throw new RangeError(`${p}: bytes ${offset}..${offset + length} lie past the end (${size} bytes)`);
      const out = new Uint8Array(length);
      const fd = fs.openSync(p, 'r');
      try {
        let done = 0;
        while (done < length) {
          const n = fs.readSync(fd, out, done, length - done, offset + done);
          if (n === 0) throw new RangeError(`${p}: file ended at byte ${offset + done} while reading`);
          done += n;
        }
      } finally {
        fs.closeSync(fd);
      }
      return out;
    },
  };
}
