/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { VitePWA } from 'vite-plugin-pwa';

export default defineConfig({
  // Relative base: the built page, its worker and its assets are addressed from
  // wherever index.html is, so dist/ works under any path on any static host.
  base: './',
  plugins: [
    svelte(),
    // A Workbox service worker (generateSW) precaches the built page: app shell,
    // the engine worker with its bundled WGSL kernels, the demo datasets and the
    // built-in stories260K, so a page opened once reopens and runs the demo
    // offline. Hub downloads are not touched (no runtime caching; they stay in
    // IndexedDB). A new build has a new precache manifest: its service worker
    // waits until the page's update banner (UpdateBanner.svelte) is taken, then
    // replaces the old cache. Off under `vite dev` (and so in the dev-server tests).
    VitePWA({
      strategies: 'generateSW',
      registerType: 'prompt',
      injectRegister: false,
      manifest: false,
      devOptions: { enabled: false },
      workbox: {
        globPatterns: ['**/*.{html,js,css,svg,wasm}', 'demo/*.jsonl', 'models/**/*.bin'],
        // the engine worker bundle (tfjs and the kernels) is ~2.3 MB, over Workbox's 2 MiB default
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        navigateFallback: null,
      },
    }),
  ],
  // WGSL sources are imported as text (`import src from './x.wgsl?raw'`).
  assetsInclude: ['**/*.wgsl'],
  worker: { format: 'es' },
  server: { fs: { allow: ['..'] } },
  build: { target: 'es2022' },
  test: {
    include: ['test/**/*.test.ts'],
    // GPU and browser tests run on SwiftShader, which already uses every core:
    // one file at a time, each in its own process, so none starves another.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
