/**
 * Readable from the back of the room (issue 16 item 5): at 1280×720 (a
 * projector) and 768 px wide the page never scrolls sideways — with the
 * model and data loaded, after a run, and with Large text on — and the
 * Large text toggle (a labelled checkbox, kept in localStorage) scales the
 * type. Screenshots at both sizes with large text on.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReadyApp, screenshot, SCREENSHOTS, type Session } from './harness';
import { setUpSmokeRun } from './helpers';

const SIZES = [
  { name: 'projector', width: 1280, height: 720 },
  { name: 'tablet', width: 768, height: 1024 },
] as const;

/** How far the document is wider than the window, and the elements that stick out past its right edge while their parent fits (to say what to fix). */
async function overflow(page: Page): Promise<{ scrollWidth: number; clientWidth: number; culprits: string[] }> {
  return page.evaluate(() => {
    const cw = document.documentElement.clientWidth;
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= cw + 0.5) continue;
      // the element that breaks out: it sticks out while its parent fits (or is the body)
      const parent = el.parentElement;
      if (parent && parent !== document.body && parent.getBoundingClientRect().right > cw + 0.5) continue;
      out.push(`${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''} right=${Math.round(r.right)}: ${(el.textContent ?? '').trim().slice(0, 40)}`);
    }
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth: cw, culprits: out.slice(0, 8) };
  });
}

describe('layout at a projector and a tablet width, large text', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openReadyApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  async function fitsBothSizes(when: string): Promise<void> {
    for (const size of SIZES) {
      await s.page.setViewportSize({ width: size.width, height: size.height });
      // let the chart's ResizeObserver and the layout settle
      await expect
        .poll(async () => {
          const o = await overflow(s.page);
          if (o.scrollWidth > o.clientWidth) console.log(`${when} at ${size.width} px: scrollWidth ${o.scrollWidth} > ${o.clientWidth}`, o.culprits);
          return o.scrollWidth <= o.clientWidth;
        }, { timeout: 5_000, message: `${when}: horizontal scrolling at ${size.width} px` })
        .toBe(true);
    }
  }

  it('fits both sizes with the model and data loaded and after a run', async () => {
    const page = s.page;
    await setUpSmokeRun(page, 2);
    await fitsBothSizes('model and data loaded');
    await page.getByTestId('train-start').click();
    await expect.poll(async () => (await page.getByTestId('train-status').textContent()) ?? '', { timeout: 150_000 }).toMatch(/done · step 2 of 2/);
    await fitsBothSizes('after a run');
  });

  it('scales the type with Large text, still without horizontal scrolling, and keeps the choice', async () => {
    const page = s.page;
    const rootPx = () => page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
    const h2Px = () => page.locator('#train-h').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    await page.setViewportSize({ width: 1280, height: 720 });
    const [root0, h20] = [await rootPx(), await h2Px()];
    const toggle = page.getByLabel('Large text');
    expect(await toggle.isChecked()).toBe(false);
    await toggle.check();
    await expect.poll(rootPx).toBeCloseTo(root0 * 1.25, 1);
    expect(await h2Px()).toBeCloseTo(h20 * 1.25, 1);
    console.log(`root font ${root0} px → ${await rootPx()} px; section heading ${h20} px → ${await h2Px()} px`);
    await fitsBothSizes('large text');
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      await page.evaluate(() => window.scrollTo(0, 0));
      // the first screen as the room sees it, and the whole page
      await page.screenshot({ path: path.join(SCREENSHOTS, `layout-large-${size.name}-top.png`) });
      await screenshot(page, `layout-large-${size.name}`);
    }
    // each step on its own at the narrow size, to look at (the whole page is too tall to read in one picture)
    for (const id of ['model', 'data', 'train', 'runs', 'compare', 'takeaway']) await page.locator(`#${id}`).screenshot({ path: path.join(SCREENSHOTS, `layout-large-tablet-${id}.png`) });
    await page.getByTestId('loss-chart').screenshot({ path: path.join(SCREENSHOTS, 'layout-large-tablet-loss-chart.png') });
    // kept across a reload
    await page.reload();
    await page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
    expect(await page.getByLabel('Large text').isChecked()).toBe(true);
    expect(await page.evaluate(() => document.documentElement.classList.contains('large-text'))).toBe(true);
    await page.getByLabel('Large text').uncheck();
    await expect.poll(rootPx).toBeCloseTo(root0, 1);
    expect(await page.evaluate(() => localStorage.getItem('lima-large-text'))).toBe('0');
  });
});
