/**
 * Browser-test harness: serves the app with Vite and drives Debian's Chromium
 * through playwright-core, with WebGPU on SwiftShader (no GPU needed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createServer, type ViteDevServer } from 'vite';

export const ROOT = path.resolve(__dirname, '../..');
export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');

const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(): string {
  const p = CHROMIUM_CANDIDATES.find((c) => c && fs.existsSync(c));
  if (!p) throw new Error('No Chromium found: install Debian\'s "chromium" package (apt-get install -y chromium) or set CHROMIUM_PATH');
  return p;
}

/** WebGPU on SwiftShader's Vulkan */
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export interface Session {
  server: ViteDevServer;
  url: string;
  browser: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function startServer(): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({ root: ROOT, configFile: path.join(ROOT, 'vite.config.ts'), server: { port: 0, host: '127.0.0.1' }, logLevel: 'warn' });
  await server.listen();
  const addr = server.httpServer!.address();
  if (!addr || typeof addr === 'string') throw new Error('vite did not report a port');
  return { server, url: `http://127.0.0.1:${addr.port}/` };
}

/** A fresh profile each time (a persistent context, so IndexedDB survives reloads within a test). */
export async function launch(extraArgs: string[] = WEBGPU_ARGS): Promise<BrowserContext> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-chromium-'));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    viewport: { width: 1280, height: 900 },
  });
}

/** Opens the app; `args` replaces the WebGPU flags (pass [] for a browser without WebGPU). */
export async function openApp(args: string[] = WEBGPU_ARGS): Promise<Session> {
  const { server, url } = await startServer();
  const browser = await launch(args);
  const page = browser.pages()[0] ?? (await browser.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') console.log('[browser error]', m.text());
  });
  await page.goto(url);
  return {
    server,
    url,
    browser,
    page,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** Opens the app with WebGPU and waits until the page shows the adapter (the engine worker is up). */
export async function openReadyApp(): Promise<Session> {
  const s = await openApp();
  await s.page.getByTestId('gpu-adapter').waitFor({ timeout: 120_000 });
  return s;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const p = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: p, fullPage: true });
  return p;
}

export type { Browser };
