/**
 * The adapter download exports the run the user picks (issue 24 part 2), not
 * whatever adapter is on the model: two 2-step runs on stories260K-hf with
 * different learning rates (Run 2's adapter is the one on the model after
 * training), Run 1 picked in Take it away: the zip's tensors equal Run 1's
 * saved checkpoint in IndexedDB value for value, and differ from Run 2's.
 */
import fs from 'node:fs';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, type Session } from './harness';
import { setUpSmokeRun } from './helpers';

const STEPS = 2;

/** The F32 tensors of a safetensors file by name. */
function readF32(st: Uint8Array): Map<string, number[]> {
  const view = new DataView(st.buffer, st.byteOffset, st.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + n))) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const out = new Map<string, number[]>();
  for (const [k, t] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    expect(t.dtype).toBe('F32');
    const bytes = st.slice(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
    out.set(k, Array.from(new Float32Array(bytes.buffer)));
  }
  return out;
}

describe('adapter download of a picked run', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  const status = () => s.page.getByTestId('train-status').textContent().then((t) => (t ?? '').replace(/\s+/g, ' '));

  it('trains two runs', async () => {
    const page = s.page;
    await setUpSmokeRun(page, STEPS);
    for (const [i, lr] of [
      [1, '0.002'],
      [2, '0.02'],
    ] as const) {
      await page.getByLabel('Learning rate', { exact: true }).fill(lr);
      await page.getByTestId('train-start').click();
      await expect.poll(status, { timeout: 150_000 }).toMatch(new RegExp(`done · step ${STEPS} of ${STEPS}.*Run ${i}`));
    }
  });

  it("exports Run 1's saved adapter while Run 2's is on the model", async () => {
    const page = s.page;
    const options = await page.getByTestId('export-pick').locator('option').allTextContents();
    expect(options).toEqual([`Run 2 (step ${STEPS}, as saved)`, `Run 1 (step ${STEPS}, as saved)`, 'The adapter on the model now']);
    await page.getByTestId('export-pick').selectOption({ label: `Run 1 (step ${STEPS}, as saved)` });
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-adapter').click()]);
    expect(dl.suggestedFilename()).toBe('lora-Run-1.zip');
    const files = unzipSync(new Uint8Array(fs.readFileSync((await dl.path())!)));
    expect(JSON.parse(new TextDecoder().decode(files['adapter_config.json']))).toMatchObject({ peft_type: 'LORA', r: 8, base_model_name_or_path: expect.any(String) });
    const got = readF32(files['adapter_model.safetensors']);

    // both runs' checkpoints as IndexedDB keeps them
    const saved = await page.evaluate(async () => {
      const d = await new Promise<IDBDatabase>((ok, bad) => {
        const r = indexedDB.open('lima-playground');
        r.onsuccess = () => ok(r.result);
        r.onerror = () => bad(r.error);
      });
      const get = (id: number) =>
        new Promise<{ checkpoint: { adapter: Record<string, { a: Float32Array; b: Float32Array }> } }>((ok) => {
          const q = d.transaction('runData').objectStore('runData').get(id);
          q.onsuccess = () => ok(q.result);
        });
      const plain = async (id: number) => Object.fromEntries(Object.entries((await get(id)).checkpoint.adapter).map(([k, v]) => [k, { a: Array.from(v.a), b: Array.from(v.b) }]));
      const out = { 1: await plain(1), 2: await plain(2) };
      d.close();
      return out;
    });
    const keys = Object.keys(saved[1]);
    expect(got.size).toBe(2 * keys.length);
    let differsFromRun2 = false;
    for (const k of keys) {
      expect(got.get(`base_model.model.${k}.lora_A.weight`)).toEqual(saved[1][k].a);
      expect(got.get(`base_model.model.${k}.lora_B.weight`)).toEqual(saved[1][k].b);
      if (saved[2][k].b.some((x, i) => x !== saved[1][k].b[i])) differsFromRun2 = true;
    }
    expect(differsFromRun2).toBe(true); // Run 2's adapter (on the model) is another one
  });
});
