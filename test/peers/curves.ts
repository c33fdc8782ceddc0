/** Per-step loss logs (`cli train --log`, train_peft.py --log: one JSON object a line) and how far two of them are apart. */
import fs from 'node:fs';

export interface StepRecord {
  step: number;
  loss: number;
  tokens?: number;
  grad_norm?: number;
}

export function readSteps(file: string): StepRecord[] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as StepRecord);
}

export interface CurveDiff {
  /** steps both logs have, matched by step number */
  steps: number;
  /** |theirs − ours| / |ours| at step 1 */
  firstRel: number;
  maxAbs: number;
  meanAbs: number;
  /** max over steps of |theirs − ours| / |ours| */
  maxRel: number;
  lastOurs: number;
  lastTheirs: number;
}

export function curveDiff(ours: StepRecord[], theirs: StepRecord[]): CurveDiff {
  const byStep = new Map(theirs.map((r) => [r.step, r.loss]));
  const pairs = ours.filter((r) => byStep.has(r.step)).map((r) => [r.loss, byStep.get(r.step)!] as const);
  const abs = pairs.map(([a, b]) => Math.abs(b - a));
  const rel = pairs.map(([a, b]) => Math.abs(b - a) / Math.abs(a));
  const first = ours.find((r) => r.step === 1);
  return {
    steps: pairs.length,
    firstRel: first && byStep.has(1) ? Math.abs(byStep.get(1)! - first.loss) / Math.abs(first.loss) : NaN,
    maxAbs: Math.max(...abs),
    meanAbs: abs.reduce((s, x) => s + x, 0) / abs.length,
    maxRel: Math.max(...rel),
    lastOurs: pairs.at(-1)?.[0] ?? NaN,
    lastTheirs: pairs.at(-1)?.[1] ?? NaN,
  };
}
