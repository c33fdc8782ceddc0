/**
 * Node-only: load a model from a path the way the CLI, tests and benchmarks
 * name it: an HF folder, a GGUF file, or a llama2.c `.bin` plus its `tokenizer.bin`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadGguf } from './gguf_model';
import { loadHF } from './hf';
import { loadLlama2c } from './llama2c';
import { fileByteSource, folderSource, readFileBytes } from './node_source';
import { LoadError, type LoadedModel } from './weights';

export async function loadModelPath(modelPath: string, tokenizerPath?: string): Promise<LoadedModel> {
  if (!fs.existsSync(modelPath)) throw new LoadError(modelPath, 'no such file or folder');
  if (fs.statSync(modelPath).isDirectory()) return loadHF(folderSource(modelPath));
  if (isGgufFile(modelPath)) {
    if (tokenizerPath) throw new LoadError(tokenizerPath, 'a GGUF file carries its own tokenizer; leave --tokenizer out');
    return loadGguf(fileByteSource(modelPath));
  }
  const model = { name: path.basename(modelPath), bytes: readFileBytes(modelPath) };
  let tok = tokenizerPath;
  if (!tok) {
    // llama2.c keeps tokenizer.bin beside the model; take it when it is there
    const beside = ['tokenizer.bin', 'tok512.bin'].map((f) => path.join(path.dirname(modelPath), f)).find((p) => fs.existsSync(p));
    tok = beside;
  }
  if (tok && !fs.existsSync(tok)) throw new LoadError(tok, 'no such tokenizer file');
  return loadLlama2c(model, tok ? { name: path.basename(tok), bytes: readFileBytes(tok) } : null);
}

/** A GGUF file by its magic bytes (whatever its name says). */
function isGgufFile(p: string): boolean {
  const fd = fs.openSync(p, 'r');
  try {
    const b = Buffer.alloc(4);
    return fs.readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === 'GGUF';
  } finally {
    fs.closeSync(fd);
  }
}
