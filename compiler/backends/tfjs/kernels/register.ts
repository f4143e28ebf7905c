import * as tf from "@tensorflow/tfjs";
import { conv2dBackpropFilterConfig } from "./conv2dBackpropFilter.js";
import { depthwiseBackpropFilterConfig } from "./depthwiseBackpropFilter.js";
import { depthwiseBackpropInputConfig } from "./depthwiseBackpropInput.js";

/** The training kernels tfjs-backend-wasm lacks, composed from ones it has. */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  depthwiseBackpropFilterConfig,
];

/**
 * Registers the missing wasm training kernels. Idempotent, and defers to any
 * kernel already registered for 'wasm' (e.g. a future tfjs release that ships
 * its own).
 */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) {
      tf.registerKernel(config);
    }
  }
}
