/**
 * The recipe's Python in Node without a bundler (the CLI under tsx, vitest):
 * read from the .py file beside this one, which tsx cannot import as text.
 * Same exports as recipe_python.ts; package.json's `#recipe-python` chooses.
 */
import fs from 'node:fs';

export const TRAIN_PEFT_PY = fs.readFileSync(new URL('./train_peft.py', import.meta.url), 'utf8');
