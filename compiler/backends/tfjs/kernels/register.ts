import * as tf from "@tensorflow/tfjs";
import { registerBatchNormGradient } from "./batchNormGrad.js";
import { conv2dBackpropFilterConfig } from "./conv2dBackpropFilter.js";
import { conv2dBackpropInputConfig } from "./conv2dBackpropInput.js";
import { depthwiseBackpropFilterConfig } from "./depthwiseBackpropFilter.js";
import { depthwiseBackpropInputConfig } from "./depthwiseBackpropInput.js";

/** The training kernels tfjs-backend-wasm lacks, composed from ones it has. */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  depthwiseBackpropFilterConfig,
];

/**
 * Kernels that tfjs-backend-wasm has, replaced because a training step's profile showed
 * them far slower than a composition of its fast ones (docs/PERFORMANCE.md).
 */
export const wasmKernelReplacements: readonly tf.KernelConfig[] = [conv2dBackpropInputConfig];

const replaced = new Map<string, tf.KernelConfig>();

/** tfjs-backend-wasm's own kernel that one of ours replaced, for tests and benchmarks. */
export function replacedWasmKernel(name: string): tf.KernelConfig | undefined {
  return replaced.get(name);
}

/**
 * Registers the missing wasm training kernels, the replacements, and the batch-norm
 * gradient (batchNormGrad.ts). Idempotent; a missing kernel defers to any kernel
 * already registered for 'wasm' (e.g. a future tfjs release that ships its own).
 */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) {
      tf.registerKernel(config);
    }
  }
  for (const config of wasmKernelReplacements) {
    const theirs = tf.getKernel(config.kernelName, config.backendName);
    if (theirs === config) continue;
    if (theirs !== undefined) {
      replaced.set(config.kernelName, theirs);
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
  }
  registerBatchNormGradient();
}
