/**
 * The one bridge from our WGSL kernels to tfjs's WebGPU backend.
 *
 * tfjs prepends a preamble to every program: bindings for the output
 * (`result`, binding 0, read_write) and each input (named as in
 * `variableNames`, read-only), plus a `uniforms` struct holding shapes and
 * whatever the program declares in `uniforms`. Our kernels index those
 * storage arrays directly with their own index maths; they do not use tfjs's
 * coordinate helpers. `shaderKey` must name every compile-time constant baked
 * into the WGSL, because tfjs caches pipelines by it.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu/dist/webgpu_program';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/**
 * Two families of kernels compute the same ops:
 * - 'tiled': workgroups stage tiles in workgroup memory between barriers, the
 *   shape that makes real GPUs fast;
 * - 'simple': every invocation owns a few outputs and reads storage directly,
 *   with no workgroup memory and no barriers. SwiftShader (WebGPU on the CPU)
 *   runs barriers as coroutine switches, so there these are several times
 *   faster (see BENCHMARKS.md).
 * The default follows the adapter: 'simple' on a software adapter, else
 * 'tiled'. LIMA_KERNELS=tiled|simple (Node) or setKernelFlavor() override it;
 * tests run both.
 */
export type KernelFlavor = 'tiled' | 'simple';
let flavorOverride: KernelFlavor | null = null;
/** what the adapter calls for; src/engine/gpu/device.ts sets it when it starts the GPU */
let adapterFlavor: KernelFlavor = 'tiled';

export function setAdapterFlavor(f: KernelFlavor): void {
  adapterFlavor = f;
}

export function setKernelFlavor(f: KernelFlavor | null): void {
  flavorOverride = f;
}

export function kernelFlavor(): KernelFlavor {
  if (flavorOverride) return flavorOverride;
  const env = typeof process !== 'undefined' ? process.env?.LIMA_KERNELS : undefined;
  if (env === 'tiled' || env === 'simple') return env;
  return adapterFlavor;
}

/** The tfjs WebGPU backend our programs run on (started by src/engine/gpu/device.ts initGpu()). */
export function getBackend(): WebGPUBackend {
  const b = tf.backend();
  if (!(b instanceof WebGPUBackend)) throw new Error(`tfjs backend is '${tf.getBackend()}', not webgpu: call initGpu() first`);
  return b;
}

export interface KernelSpec {
  /** cache key: kernel name plus every constant baked into the WGSL */
  key: string;
  /** input binding names, in the order the tensors are passed (at most 7) */
  inputs: string[];
  outputShape: number[];
  /** workgroups along x, y, z */
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  /** extra uniform fields, e.g. 'T : i32, S : i32,' (i32/f32 scalars only) */
  uniforms?: string;
  /** WGSL: workgroup variables and `fn main(index : i32)` */
  code: string;
  /** per input, 4 to bind it as array<vec4<f32>> (its size must be a multiple of 4); default 1 */
  components?: number[];
}

export type Uniform = { type: 'int32' | 'float32'; data: number[] };

/**
 * Runs one WGSL program on tfjs's device and wraps its output as a tf.Tensor.
 * With `output`, the program writes into that existing tensor's buffer in
 * place (tfjs binds it as `result`, read_write) and that tensor is returned;
 * the output must not also be one of the inputs (WebGPU forbids binding a
 * buffer writable and read-only in one dispatch), so a kernel that updates in
 * place reads the old values through `result`. Only tensors whose buffer no
 * other tensor shares (not a reshape of something still in use) may be
 * written this way.
 */
export function runKernel(
  spec: KernelSpec,
  inputs: tf.Tensor[],
  dtype: 'float32' | 'int32',
  uniforms: Uniform[] = [],
  output?: tf.Tensor,
): tf.Tensor {
  if (inputs.length !== spec.inputs.length) throw new Error(`${spec.key}: ${inputs.length} inputs for ${spec.inputs}`);
  if (inputs.length > 7) throw new Error(`${spec.key}: tfjs binds at most 7 inputs`);
  const program: WebGPUProgram = {
    variableNames: spec.inputs,
    outputShape: spec.outputShape,
    shaderKey: spec.components ? `${spec.key}_c${spec.components.join('')}` : spec.key,
    dispatchLayout: { x: [0] },
    dispatch: spec.dispatch,
    workgroupSize: spec.workgroupSize,
    uniforms: spec.uniforms,
    getUserCode: () => spec.code,
    ...(spec.components ? { variableComponents: spec.components } : {}),
  };
  const backend = getBackend();
  if (output) {
    if (inputs.some((t) => t.dataId === output.dataId)) throw new Error(`${spec.key}: the in-place output is also an input`);
    if (output.size !== spec.outputShape.reduce((a, b) => a * b, 1)) throw new Error(`${spec.key}: in-place output has ${output.size} values, program writes ${spec.outputShape}`);
    if (backend.refCount(output.dataId) > 1) throw new Error(`${spec.key}: the in-place output shares its buffer with another tensor`);
    backend.runWebGPUProgram(program, inputs, dtype, uniforms, output);
    // values read back before stay cached on the CPU, and data() would return them: drop them
    (backend.tensorMap.get(output.dataId) as { values: unknown }).values = null;
    return output;
  }
  const info = backend.runWebGPUProgram(program, inputs, dtype, uniforms);
  return tf.engine().makeTensorFromTensorInfo(info);
}

export const i32 = (...data: number[]): Uniform => ({ type: 'int32', data });
export const f32 = (...data: number[]): Uniform => ({ type: 'float32', data });

export function assertFloat32(op: string, ...ts: (tf.Tensor | null | undefined)[]): void {
  for (const t of ts) if (t && t.dtype !== 'float32') throw new Error(`${op}: expected float32, got ${t.dtype}`);
}
