/**
 * A full storage quota while caching a model: the page says so plainly (what
 * happened and what to do) and the model still loads and runs. The browser's
 * refusal is simulated by making IndexedDB's put throw a QuotaExceededError
 * DOMException, as browsers do when a site is out of quota.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, screenshot, type Session } from './harness';
import { loadModelFiles } from './helpers';

describe('storage quota', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
    await s.page.addInitScript(() => {
      const put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
        if (this.name === 'files') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        return put.apply(this, args);
      };
    });
    await s.page.reload();
    await s.page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('reports a full quota and keeps the loaded model', async () => {
    await loadModelFiles(s.page);
    const notice = s.page.getByText('storage quota exceeded', { exact: false });
    await notice.waitFor({ timeout: 60_000 });
    const text = (await notice.textContent()) ?? '';
    console.log('quota notice:', text);
    expect(text).toMatch(/Delete cached models|allow this site more storage/);
    expect(await s.page.getByTestId('model-status').textContent()).toMatch(/260\.\dK parameters/);
    await screenshot(s.page, 'storage-quota');
  });
});
