/**
 * A run's multiple-choice score stays with the version of the run it was
 * taken on (issue 24 part 2): a run on stories260K-hf paused at step K is
 * scored on the built-in benchmark, then trains on to its last step; the
 * runs table keeps the score and marks it "taken at step K" instead of
 * dropping it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, type Session } from './harness';
import { setUpSmokeRun } from './helpers';

const STEPS = 8;

describe('scores taken at step K', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  const status = () => s.page.getByTestId('train-status').textContent().then((t) => (t ?? '').replace(/\s+/g, ' '));
  const mcCell = () => s.page.getByTestId('run-row-1').getByTestId('run-mc').textContent().then((t) => (t ?? '').replace(/\s+/g, ' ').trim());

  it('keeps the score of a paused run and marks it once the run trains on', async () => {
    const page = s.page;
    await setUpSmokeRun(page, STEPS);
    await page.getByTestId('train-start').click();
    await expect.poll(status, { timeout: 150_000 }).toMatch(/step 1 of 8/);
    await page.getByTestId('train-pause').click();
    await expect.poll(status, { timeout: 120_000 }).toMatch(/^\s*paused/);
    const pausedAt = Number(/step (\d+)/.exec(await status())![1]);
    console.log('paused at step', pausedAt);
    expect(pausedAt).toBeLessThan(STEPS);

    await page.getByTestId('mc-run').click();
    await expect.poll(mcCell, { timeout: 120_000 }).toMatch(/^\d+% \(\d+%\)$/);
    const score = await mcCell();
    expect(await page.getByTestId('run-mc-at').count()).toBe(0); // the run is where it was scored

    await page.getByTestId('train-resume').click();
    await expect.poll(status, { timeout: 240_000 }).toMatch(new RegExp(`done · step ${STEPS} of ${STEPS}`));
    await expect.poll(() => page.getByTestId('run-mc-at').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('run-mc-at').textContent()).toBe(`taken at step ${pausedAt}`);
    expect(await mcCell()).toBe(`${score}taken at step ${pausedAt}`); // the score as it was, the mark on the next line
  });
});
