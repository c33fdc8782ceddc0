/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  // WGSL sources are imported as text (`import src from './x.wgsl?raw'`).
  assetsInclude: ['**/*.wgsl'],
  worker: { format: 'es' },
  server: { fs: { allow: ['..'] } },
  build: { target: 'es2022' },
  test: {
    include: ['test/**/*.test.ts'],
    // GPU tests run on SwiftShader (CPU); give them room and one file per fork.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 600_000,
    hookTimeout: 600_000,
    reporters: ['default'],
  },
});
