/**
 * A GPU device lost mid-training (driver reset, tab backgrounded on some
 * laptops): the run stops cleanly with a message, and Resume gets a new
 * worker and device, reloads the model from the cache and goes on from the
 * last IndexedDB checkpoint. The loss is provoked from the test by destroying
 * the worker's GPUDevice on its next command encoder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, screenshot, type Session } from './harness';
import { loadDataset, loadModelFiles, TINYSTORIES } from './helpers';

const STEPS = 4;

describe('a lost GPU device during training', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('stops with a message and a Resume that continues from the last checkpoint', async () => {
    const page = s.page;
    const status = () => page.getByTestId('train-status').textContent().then((t) => t ?? '');
    await loadModelFiles(page);
    await loadDataset(page, TINYSTORIES, '1,000');
    await page.getByText('Smoke test: 3 steps').click();
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Max steps (0: epochs decide)').fill(String(STEPS));
    await page.getByLabel('Validation loss every N steps').fill('0');
    await page.getByTestId('train-start').click();
    // step 2 shown means step 1's checkpoint is in IndexedDB (checkpoint every step, saved before the next one)
    await expect.poll(status, { timeout: 200_000 }).toMatch(/step 2 of 4/);

    // the engine worker's device goes away on its next GPU command
    const worker = page.workers().find((w) => w.url().includes('engine.worker'));
    expect(worker, 'engine worker not found').toBeTruthy();
    const patched = await worker!.evaluate(() => {
      const proto = (globalThis as unknown as { GPUDevice: { prototype: GPUDevice } }).GPUDevice.prototype;
      const orig = proto.createCommandEncoder;
      proto.createCommandEncoder = function (this: GPUDevice, d?: GPUCommandEncoderDescriptor) {
        this.destroy();
        proto.createCommandEncoder = orig;
        return orig.call(this, d);
      };
      return typeof orig;
    });
    console.log('patched createCommandEncoder:', patched);
    const panel = () => page.locator('#train').textContent().then((t) => (t ?? '').replace(/\s+/g, ' '));
    await expect
      .poll(panel, { timeout: 120_000 })
      .toMatch(/GPU device was lost[\s\S]*press Resume/i)
      .catch(async (e) => {
        console.log('train panel (end):', (await panel()).slice(-600));
        console.log('page mentions of "lost":', ((await page.locator('main').textContent()) ?? '').replace(/\s+/g, ' ').match(/.{0,120}lost.{0,160}/gi));
        throw e;
      });
    console.log('after the loss:', (await panel()).slice(-400));
    expect(await page.getByTestId('train-start').isDisabled()).toBe(true); // no starting over on a dead device
    await screenshot(page, 'device-lost');

    const resume = page.getByTestId('train-resume-saved');
    await resume.waitFor({ timeout: 60_000 });
    await resume.click();
    await expect
      .poll(status, { timeout: 300_000 })
      .toMatch(new RegExp(`done · step ${STEPS} of ${STEPS}`))
      .catch(async (e) => {
        console.log('train panel:', (await panel()).slice(0, 1500));
        throw e;
      });
    expect(await page.getByTestId('model-status').textContent()).toMatch(/260\.0K parameters/);
    await screenshot(page, 'device-lost-resumed');
  });
});
