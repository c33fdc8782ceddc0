import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, screenshot, type Session } from './harness';

describe('the page in headless Chromium (SwiftShader WebGPU)', () => {
  let s: Session;
  beforeAll(async () => {
    s = await openApp();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('shows the WebGPU adapter and its limits', async () => {
    const adapter = s.page.getByTestId('gpu-adapter');
    await adapter.waitFor({ timeout: 120_000 });
    const text = await adapter.textContent();
    console.log('adapter shown:', text);
    expect(text?.toLowerCase()).toContain('swiftshader');
    await expect.poll(() => s.page.getByText('shader-f16').count()).toBeGreaterThan(0);
    const file = await screenshot(s.page, 'gpu-status');
    console.log('screenshot', file);
  });
});

describe('a browser without WebGPU', () => {
  it('says plainly that WebGPU is missing and what to do', async () => {
    // headless Chromium on Linux without --enable-unsafe-webgpu and Vulkan has no WebGPU adapter
    const s = await openApp(['--disable-features=Vulkan,WebGPU']);
    try {
      const alert = s.page.getByRole('alert');
      await alert.waitFor({ timeout: 120_000 });
      const text = (await alert.textContent()) ?? '';
      expect(text).toMatch(/WebGPU is not available|no WebGPU/i);
      expect(text).toMatch(/Chrome|Edge|flag|enable/i);
      await screenshot(s.page, 'no-webgpu');
    } finally {
      await s.close();
    }
  });
});
