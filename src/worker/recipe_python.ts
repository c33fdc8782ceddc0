/**
 * The recipe's Python, as text: train_peft.py is a real .py file beside this
 * one (linted by ruff, run by test/peers against torch/transformers/peft).
 * This is the text import for bundlers that read `?raw`: the page (Vite),
 * and the GPU kit's esbuild bundles (bench/gpu_kit/pack.ts turns `?raw`
 * into esbuild's text loader). Node without a bundler (tsx, vitest) reads the
 * same file through recipe_python.node.ts; package.json's "imports" entry
 * `#recipe-python` picks one of the two by condition.
 */
import TRAIN_PEFT_PY from './train_peft.py?raw';

export { TRAIN_PEFT_PY };
