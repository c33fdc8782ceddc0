/**
 * The CLI run in a child process, for benches that record the command a
 * figure came from (bench/real_model.ts, bench/frozen_bits_quality.ts):
 * `npx tsx src/cli/main.ts …` (= `npm run -s cli -- …`), its --json result
 * (the last stdout line), wall seconds and the load average at its end
 * (os.loadavg(), as uptime shows it: these machines are shared).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

export const loadAvg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

/** The command as a user would type it (arguments quoted where the shell needs it). */
export const shownCommand = (args: string[]) => `npm run -s cli -- ${args.map((a) => (/^[\w./=:-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`;

export async function runCli(args: string[], log: (s: string) => void): Promise<{ json: Record<string, any>; wall_s: number; load_avg: number[]; command: string }> {
  const command = shownCommand(args);
  log(command);
  const t0 = performance.now();
  const child = spawn('npx', ['tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const code: number = await new Promise((resolve) => child.on('close', resolve));
  const wall_s = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${command}: exit ${code}`);
  return { json: JSON.parse(out.trim().split('\n').pop() ?? ''), wall_s: Number(wall_s.toFixed(1)), load_avg: loadAvg(), command };
}
