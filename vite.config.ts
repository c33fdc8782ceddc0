/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  // Relative base: the built page, its worker and its assets are addressed from
  // wherever index.html is, so dist/ works under any path on any static host.
  base: './',
  plugins: [svelte()],
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
