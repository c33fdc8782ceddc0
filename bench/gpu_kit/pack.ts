/**
 * `npm run gpu:pack [-- --out .gpu]`: the GPU kit, a folder that runs our
 * engine on a machine with no Node, no npm and no network (the device
 * machine lent for issue 10), and that travels in its 64 MiB working tree:
 *
 *   node.xz                 this machine's Node binary, xz-compressed
 *   app/*.mjs, app/chunks/  the CLI, the bench, bench/gpu_figures.ts and
 *                           bench/reference_check.ts bundled
 *                           by esbuild (tfjs and every other dependency inside)
 *   app/node_modules/webgpu the `webgpu` package's loader and its linux-x64
 *                           Dawn binary (dawn.node.xz, unpacked on first run)
 *   deb/*.deb               the Vulkan loader and the GL vendor-neutral
 *                           libraries NVIDIA's driver loads (Debian packages,
 *                           as the device README lists them), unpacked into
 *                           a private folder, never into /
 *   data/                   stories260K-hf, its reference.json and tinystories-instruct-1k.jsonl
 *                           from ../shared (which does not travel)
 *   run.sh                  unpacks into a work folder and runs a command
 *                           (bench/gpu_kit/run.sh says how)
 *
 * Re-running reuses node.xz and dawn.node.xz while their sources are unchanged.
 * The kit's size is printed and must stay under MAX_KIT_BYTES.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';
import { MAX_KIT_BYTES, treeBytes } from './pack_limits';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEBS = ['libvulkan1', 'libglvnd0', 'libgl1', 'libglx0', 'libegl1', 'libopengl0', 'libgles2'];

const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(ROOT, '.gpu') }, shared: { type: 'string', default: path.join(ROOT, '../shared') } } });
const out = path.resolve(values.out!);
const shared = path.resolve(values.shared!);

function log(s: string): void {
  console.error(`gpu:pack: ${s}`);
}

/** xz -6 of `src` into `dst`, unless dst's stamp says it was made from this very file. */
function compressOnce(src: string, dst: string): void {
  const st = fs.statSync(src);
  const stamp = `${src} ${st.size} ${st.mtimeMs}`;
  const stampFile = `${dst}.source`;
  if (fs.existsSync(dst) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) {
    log(`${path.basename(dst)} is up to date`);
    return;
  }
  log(`compressing ${src} (${(st.size / 2 ** 20).toFixed(1)} MiB)`);
  const tmp = `${dst}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    execFileSync('xz', ['-T2', '-6', '-c', src], { stdio: ['ignore', fd, 'inherit'] });
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, dst);
  fs.writeFileSync(stampFile, stamp);
}

function need(p: string, what: string): string {
  if (!fs.existsSync(p)) throw new Error(`${p} is missing (${what})`);
  return p;
}

fs.mkdirSync(out, { recursive: true });

/**
 * `import text from './f.py?raw'` (Vite's text import, which the recipe's Python
 * uses) as esbuild's text loader: the file's contents become the default export.
 */
const rawText: Plugin = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (a) => ({ path: path.resolve(a.resolveDir, a.path.slice(0, -'?raw'.length)), namespace: 'raw-text' }));
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, (a) => ({ contents: fs.readFileSync(a.path, 'utf8'), loader: 'text' }));
  },
};

// 1. the bundles: one shared chunk of tfjs and the engine, one small entry per command
const app = path.join(out, 'app');
fs.rmSync(path.join(app, 'chunks'), { recursive: true, force: true });
await build({
  entryPoints: { cli: path.join(ROOT, 'src/cli/main.ts'), bench: path.join(ROOT, 'bench/main.ts'), gpu_figures: path.join(ROOT, 'bench/gpu_figures.ts'), reference_check: path.join(ROOT, 'bench/reference_check.ts') },
  outdir: app,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outExtension: { '.js': '.mjs' },
  external: ['webgpu'], // a native addon: shipped as a package beside the bundles
  // package.json's #recipe-python: the `?raw` text import (rawText), not the Node module that reads the .py at run time
  conditions: ['lima-text'],
  plugins: [rawText],
  // CommonJS dependencies call require(); give the ESM bundle one
  banner: { js: "import { createRequire as __limaRequire } from 'node:module'; const require = __limaRequire(import.meta.url);" },
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
});
log(`bundled cli, bench, gpu_figures and reference_check (${(treeBytes(app) / 2 ** 20).toFixed(1)} MiB so far)`);

// 2. Dawn for Node: the package's loader as it is, its linux-x64 binary compressed
const webgpuSrc = path.join(ROOT, 'node_modules/webgpu');
const webgpu = path.join(app, 'node_modules/webgpu');
fs.mkdirSync(path.join(webgpu, 'dist/linux-x64'), { recursive: true });
for (const f of ['package.json', 'index.js', 'LICENSE.md']) fs.copyFileSync(need(path.join(webgpuSrc, f), 'npm ci installs the webgpu package'), path.join(webgpu, f));
compressOnce(need(path.join(webgpuSrc, 'dist/linux-x64/dawn.node'), 'the webgpu package ships it'), path.join(webgpu, 'dist/linux-x64/dawn.node.xz'));

// 3. Node itself
compressOnce(process.execPath, path.join(out, 'node.xz'));

// 4. the Vulkan loader and the GL libraries the NVIDIA driver's ICD links against
const debs = path.join(out, 'deb');
fs.mkdirSync(debs, { recursive: true });
const have = fs.readdirSync(debs).filter((f) => f.endsWith('.deb'));
const missing = DEBS.filter((p) => !have.some((f) => f.startsWith(`${p}_`)));
if (missing.length) {
  log(`downloading ${missing.join(' ')} (amd64) from Debian`);
  try {
    execFileSync('apt-get', ['-oAPT::Architecture=amd64', 'download', ...missing], { cwd: debs, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    throw new Error(`apt-get download ${missing.join(' ')} failed: run 'apt-get update' once (as root) and pack again`);
  }
}

// 5. the fixtures the device checks use
const data = path.join(out, 'data');
fs.mkdirSync(path.join(data, 'stories260K-hf'), { recursive: true });
const model = need(path.join(shared, 'models/stories260K-hf'), 'the shared fixtures');
for (const f of fs.readdirSync(model)) fs.copyFileSync(path.join(model, f), path.join(data, 'stories260K-hf', f));
fs.copyFileSync(need(path.join(shared, 'data/tinystories-instruct-1k.jsonl'), 'the shared fixtures'), path.join(data, 'tinystories-instruct-1k.jsonl'));
fs.copyFileSync(need(path.join(shared, 'models/stories260K/reference.json'), 'the shared fixtures'), path.join(data, 'reference.json'));
fs.chmodSync(path.join(data, 'reference.json'), 0o644);
for (const f of fs.readdirSync(path.join(data, 'stories260K-hf'))) fs.chmodSync(path.join(data, 'stories260K-hf', f), 0o644);
fs.chmodSync(path.join(data, 'tinystories-instruct-1k.jsonl'), 0o644);

// 6. the entry point
fs.copyFileSync(path.join(ROOT, 'bench/gpu_kit/run.sh'), path.join(out, 'run.sh'));
fs.chmodSync(path.join(out, 'run.sh'), 0o755);

// 7. the kit's identity: run.sh unpacks again when it changes
const hash = createHash('sha256');
for (const f of [...fs.readdirSync(app, { recursive: true, encoding: 'utf8' })].sort()) {
  const p = path.join(app, f);
  if (fs.statSync(p).isFile()) hash.update(f).update(fs.readFileSync(p));
}
hash.update(fs.readFileSync(path.join(out, 'node.xz.source')));
fs.writeFileSync(path.join(out, 'kit.id'), hash.digest('hex').slice(0, 16));

const bytes = treeBytes(out);
log(`kit at ${out}: ${(bytes / 2 ** 20).toFixed(1)} MiB (limit ${MAX_KIT_BYTES / 2 ** 20} MiB)`);
if (bytes > MAX_KIT_BYTES) {
  log('the kit is too large to travel to the device machine beside the repository');
  process.exit(1);
}
