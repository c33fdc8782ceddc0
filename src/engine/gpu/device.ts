/**
 * WebGPU device set-up: the one place where the engine gets a GPU.
 *
 * Browser: `navigator.gpu`. Node: the `webgpu` npm package (Dawn), which we
 * point at Chromium's SwiftShader Vulkan driver when no other ICD is set, so
 * tests and the CLI run on a CPU-only machine. On a machine with a real GPU,
 * set VK_ICD_FILENAMES yourself (or leave it unset with LIMA_GPU=native).
 *
 * We create the GPUDevice ourselves (asking for `shader-f16` and `subgroups`
 * when the adapter has them) and hand it to tfjs's WebGPUBackend, so the
 * adapter facts the page shows are the ones our kernels run with, and so the
 * memory counter (memory.ts) sees every buffer from the first one.
 */
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { trackGpuMemory } from './memory';
import { boundBufferPool } from './pool';
import { getBackend, setAdapterFlavor } from '../../../kernels/program';

export interface GpuInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
  limits: Record<string, number>;
  /** true when this is a software rasteriser (SwiftShader) rather than a GPU */
  software: boolean;
}

export class NoWebGPUError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoWebGPUError';
  }
}

/** The ICD that Debian's `chromium` package ships: SwiftShader's Vulkan. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const KEY_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

let ready: Promise<GpuInfo> | null = null;
let gpuDevice: GPUDevice | null = null;
let gpuInfo: GpuInfo | null = null;

/** Finds `navigator.gpu`, installing Dawn's in Node. Throws NoWebGPUError with advice. */
async function getGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (!isNode) {
    throw new NoWebGPUError(
      'This browser has no WebGPU (navigator.gpu is missing). Use Chrome or Edge 113+ ' +
        '(on Linux start it with --enable-unsafe-webgpu --enable-features=Vulkan), ' +
        'Safari 26+, or Firefox 141+ on Windows; the page must be served over https or localhost.',
    );
  }
  const fs = await import('node:fs');
  if (!process.env.VK_ICD_FILENAMES && process.env.LIMA_GPU !== 'native' && fs.existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const modName = 'webgpu';
  let dawn: { create: (opts: string[]) => GPU; globals: Record<string, unknown> };
  try {
    dawn = await import(/* @vite-ignore */ modName);
  } catch (e) {
    throw new NoWebGPUError(`Could not load the 'webgpu' package (Dawn for Node): ${(e as Error).message}. Run npm ci.`);
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  Object.defineProperty(globalThis, 'navigator', { value: { ...(nav ?? {}), gpu }, configurable: true, writable: true });
  return gpu;
}

function describeAdapter(adapter: GPUAdapter): GpuInfo {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const limits: Record<string, number> = {};
  for (const k of KEY_LIMITS) limits[k] = Number((adapter.limits as unknown as Record<string, number>)[k]);
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    features: [...adapter.features].map(String).sort(),
    limits,
    software: text.includes('swiftshader') || text.includes('llvmpipe') || text.includes('lavapipe'),
  };
}

async function init(): Promise<GpuInfo> {
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    const hint = isNode
      ? `Dawn found no Vulkan adapter. Install Debian's 'chromium' (for ${SWIFTSHADER_ICD}) and 'libvulkan1', ` +
        'or point VK_ICD_FILENAMES at your GPU driver.'
      : 'The browser has WebGPU but gave no adapter: check chrome://gpu, enable hardware acceleration, or try --enable-unsafe-webgpu.';
    throw new NoWebGPUError(`No WebGPU adapter. ${hint}`);
  }
  const want: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'].filter((f) =>
    adapter.features.has(f),
  ) as GPUFeatureName[];
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: want,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  trackGpuMemory(device); // before tfjs allocates anything on it
  gpuDevice = device;
  const info = describeAdapter(adapter);
  gpuInfo = info;
  setAdapterFlavor(info.software ? 'simple' : 'tiled');
  // Keep every op on the GPU: tfjs would otherwise run small ops on the CPU and
  // read GPU data back synchronously, which needs OffscreenCanvas (absent in Node).
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  // In a browser, importing @tensorflow/tfjs-backend-webgpu already registered its own 'webgpu'
  // factory (it does wherever navigator.gpu exists at import), which makes a device of its own
  // (no shader-f16, no subgroups) and would win over ours: replace it, so tfjs runs on this device.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  if (!tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info), 10)) {
    throw new NoWebGPUError('tfjs would not take our WebGPU device (a webgpu backend was already registered).');
  }
  if (!(await tf.setBackend('webgpu'))) throw new NoWebGPUError('tfjs could not start its WebGPU backend on this adapter.');
  await tf.ready();
  boundBufferPool(tf.backend() as WebGPUBackend); // tfjs's pool would grow with every new batch length
  return info;
}

/**
 * Starts tfjs on WebGPU once per process and returns what the adapter is.
 * Every test, the CLI, the benchmarks and the worker call this; nothing else
 * touches navigator.gpu.
 */
export function initGpu(): Promise<GpuInfo> {
  if (!ready) {
    ready = init().catch((e) => {
      ready = null;
      throw e;
    });
  }
  return ready;
}

/** The GPUDevice tfjs runs on (after initGpu). */
export function getDevice(): GPUDevice {
  if (!gpuDevice) throw new Error('initGpu() has not finished');
  return gpuDevice;
}

/** What the adapter is (after initGpu), or null before. */
export function getGpuInfo(): GpuInfo | null {
  return gpuInfo;
}

/** The tfjs WebGPU backend, for running our own WGSL programs (kernels/program.ts owns it: the kernels sit below the engine). */
export { getBackend };
