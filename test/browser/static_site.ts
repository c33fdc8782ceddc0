/**
 * The built page as a class would host it: `vite build` into a temporary
 * folder, served by a plain static file server under a sub-path (no Vite, no
 * server code, no special headers), on loopback only.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { build, type Plugin } from 'vite';
import { launch, ROOT } from './harness';

/**
 * Builds the page (the project's vite.config.ts, as `npm run build` does) into
 * `outDir` (a fresh temporary folder by default); `plugins` are added to the
 * config's (a test makes a second, different build with one).
 */
export async function buildSite(outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lima-dist-')), plugins: Plugin[] = []): Promise<string> {
  // vitest sets NODE_ENV=test, which would make this a development build (import.meta.env.PROD false: no service worker)
  const env = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: ROOT, configFile: path.join(ROOT, 'vite.config.ts'), mode: 'production', build: { outDir, emptyOutDir: true }, plugins, logLevel: 'warn' });
  } finally {
    process.env.NODE_ENV = env;
  }
  return outDir;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
};

export interface StaticSite {
  /** the page's address, ending in the sub-path's slash */
  url: string;
  /** every path asked for, in order (to check what the page fetched, and from where) */
  requests: string[];
  /** while true the server drops every connection unanswered, as if the network were gone */
  down: boolean;
  close(): Promise<void>;
}

/** Serves `dir` at http://127.0.0.1:<port><prefix>; anything outside the prefix is 404, as on a shared host. */
export async function serveStatic(dir: string, prefix: string): Promise<StaticSite> {
  const requests: string[] = [];
  const state = { down: false };
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(pathname);
    if (state.down) {
      req.socket.destroy();
      return;
    }
    if (pathname === prefix.replace(/\/$/, '')) {
      res.writeHead(301, { Location: prefix }).end(); // what static hosts do for a folder without its slash
      return;
    }
    if (!pathname.startsWith(prefix)) {
      res.writeHead(404).end('not found');
      return;
    }
    let file = path.join(dir, pathname.slice(prefix.length));
    if (!file.startsWith(dir)) {
      res.writeHead(403).end();
      return;
    }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!fs.existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': body.byteLength });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('the static server did not report a port');
  return {
    url: `http://127.0.0.1:${addr.port}${prefix}`,
    requests,
    get down() {
      return state.down;
    },
    set down(v: boolean) {
      state.down = v;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface HostedPage {
  /** the build's folder (a fresh temporary one, removed by close) */
  dist: string;
  site: StaticSite;
  browser: BrowserContext;
  page: Page;
  /** uncaught page errors, in order */
  errors: string[];
  close(): Promise<void>;
}

/** Builds the page, serves it under `prefix` and opens a fresh Chromium profile on it (not yet navigated); console errors are printed. */
export async function openHostedPage(prefix: string): Promise<HostedPage> {
  const dist = await buildSite();
  const site = await serveStatic(dist, prefix);
  const browser = await launch();
  const page = browser.pages()[0] ?? (await browser.newPage());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && console.log('[browser error]', m.text()));
  return {
    dist,
    site,
    browser,
    page,
    errors,
    async close() {
      await browser.close();
      await site.close();
      fs.rmSync(dist, { recursive: true, force: true });
    },
  };
}
