/** Number formatting and small statistics for the page. */
import { decidedWinRate } from '../../engine/eval/wilson';

export function fmtBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}

export function fmtParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function fmtDuration(sec: number): string {
  if (!isFinite(sec) || sec < 0) return '–';
  if (sec < 60) return `${Math.round(sec)} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`;
  return `${Math.floor(sec / 3600)} h ${Math.round((sec % 3600) / 60)} min`;
}

/**
 * A win rate over decided comparisons (ties apart: the page's one
 * definition, src/engine/eval/wilson.ts decidedWinRate) with its 95% Wilson
 * interval; `n` is the decided count (p 0 and [0, 1] when it is 0).
 */
export function wilson(wins: number, n: number): { p: number; lo: number; hi: number } {
  return decidedWinRate(wins, n - wins) ?? { p: 0, lo: 0, hi: 1 };
}

/** Triggers a browser download of bytes or text. */
export function download(name: string, data: Uint8Array | string, type = 'application/octet-stream'): void {
  const blob = new Blob([data as BlobPart], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
