/**
 * Random access to one large file without holding it whole: a GGUF of a
 * billion-parameter model is read tensor by tensor, so its bytes sit in
 * memory once (as the tensors' own arrays), never as the whole file plus
 * copies. The browser reads a dropped `File` by slices; Node reads a path
 * (node_source.ts fileByteSource); tests read an array.
 */
export interface ByteSource {
  /** a name for messages (a file name or path) */
  readonly name: string;
  readonly size: number;
  /** `length` bytes from `offset`; throws when they lie past the end */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A Blob or File (browser, worker, or Node's Blob). */
export function blobByteSource(blob: Blob, name: string): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      if (offset + length > blob.size) throw new RangeError(`${name}: bytes ${offset}..${offset + length} lie past the end (${blob.size} bytes)`);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** Bytes already in memory (tests, the model cache). */
export function arrayByteSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      if (offset + length > bytes.byteLength) throw new RangeError(`${name}: bytes ${offset}..${offset + length} lie past the end (${bytes.byteLength} bytes)`);
      return bytes.subarray(offset, offset + length);
    },
  };
}
