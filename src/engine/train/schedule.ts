/**
 * Learning-rate schedules with linear warmup, as HF transformers defines them
 * (get_constant/linear/cosine_schedule_with_warmup): the multiplier for
 * optimizer step `step` (0-based), so with warmup the first step uses lr 0·base.
 */
export type ScheduleKind = 'constant' | 'linear' | 'cosine';

export function lrMultiplier(kind: ScheduleKind, step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  if (kind === 'constant') return 1;
  const progress = (step - warmup) / Math.max(1, total - warmup);
  if (kind === 'linear') return Math.max(0, 1 - progress);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
