import * as tf from "@tensorflow/tfjs";
import { registerBatchNormGradient } from "./batchNormGrad.js";
import {
  batchNormTrainingConfig,
  batchNormTrainingGradConfig,
  batchNormTrainingGradient,
} from "./batchNormTraining.js";
import { conv2dBackpropFilterConfig } from "./conv2dBackpropFilter.js";
import { conv2dBackpropInputConfig } from "./conv2dBackpropInput.js";
import { maxPoolGradReplacement } from "./maxPoolGrad.js";
import { meanReplacement, sumReplacement } from "./reduceLeading.js";
import { castReplacement, identityReplacement } from "./sharedCopies.js";
import { sliceReplacement, unpackReplacement } from "./slice.js";
import { depthwiseBackpropFilterConfig } from "./depthwiseBackpropFilter.js";
import { depthwiseBackpropInputConfig } from "./depthwiseBackpropInput.js";
import { depthwiseForwardReplacement } from "./depthwiseForward.js";
import { conv2dForwardReplacement, fusedConv2dForwardReplacement } from "./pointwiseForward.js";
import {
  groupedConv2dBackpropFilterConfig,
  groupedConv2dBackpropInputConfig,
  groupedConv2dConfig,
  groupedConv2dGradient,
} from "./groupedConv.js";
import { momentumUpdateConfig } from "./momentum.js";
import { padReplacement } from "./pad.js";
import { agreeingPads } from "./explicitPads.js";
import { conv2dReplacement, fusedConv2dReplacement } from "./winograd.js";
import { registerReluGradient, reluGradKernelConfig, reluReplacement } from "./elementwise.js";

/** The training kernels tfjs-backend-wasm lacks, composed from ones it has. */
export const wasmTrainingKernels: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  depthwiseBackpropFilterConfig,
];

/**
 * Kernels that tfjs-backend-wasm has, replaced because a training step's profile showed
 * them far slower than a composition of its fast ones or a SIMD loop (docs/PERFORMANCE.md).
 * Each is made from wasm's own kernel, to which the cases it does not speed up go.
 */
export const wasmKernelReplacements: readonly {
  readonly kernelName: string;
  readonly make: (theirs: tf.KernelConfig) => tf.KernelConfig;
}[] = [
  { kernelName: tf.Conv2DBackpropInput, make: () => conv2dBackpropInputConfig },
  { kernelName: tf.Sum, make: sumReplacement },
  { kernelName: tf.Mean, make: meanReplacement },
  { kernelName: tf.MaxPoolGrad, make: maxPoolGradReplacement },
  { kernelName: tf.Identity, make: identityReplacement },
  { kernelName: tf.Cast, make: castReplacement },
  { kernelName: tf.Slice, make: sliceReplacement },
  { kernelName: tf.Unpack, make: unpackReplacement },
  { kernelName: tf.DepthwiseConv2dNative, make: depthwiseForwardReplacement },
  // Conv2D and FusedConv2D: Winograd where it wins (winograd.ts), the 1x1 GEMM where it wins
  // (pointwiseForward.ts), and, outermost, not for speed:
  // cases where XNNPACK's output shape disagrees with tfjs' (a numeric pad on a non-square
  // kernel, dimRoundingMode, 'same' with a stride above the kernel) wrote past the tensor or
  // left it unwritten; explicitPads.ts routes them (DepthwiseConv2dNative's too, and the pools').
  {
    kernelName: tf.Conv2D,
    make: (theirs) =>
      agreeingPads("conv", true)(conv2dReplacement(conv2dForwardReplacement(theirs))),
  },
  {
    kernelName: tf.FusedConv2D,
    make: (theirs) =>
      agreeingPads("conv", true)(fusedConv2dReplacement(fusedConv2dForwardReplacement(theirs))),
  },
  { kernelName: tf.Relu, make: reluReplacement },
  { kernelName: tf.PadV2, make: padReplacement },
  { kernelName: tf.FusedDepthwiseConv2D, make: agreeingPads("depthwise", true) },
  { kernelName: tf.MaxPool, make: agreeingPads("pool", false) },
  { kernelName: tf.AvgPool, make: agreeingPads("pool", false) },
];

const replaced = new Map<string, tf.KernelConfig>();
const installed = new Map<string, tf.KernelConfig>();

/** tfjs-backend-wasm's own kernel that one of ours replaced, for tests and benchmarks. */
export function replacedWasmKernel(name: string): tf.KernelConfig | undefined {
  return replaced.get(name);
}

/** Our replacement registered for `name`, if any. */
export function installedReplacement(name: string): tf.KernelConfig | undefined {
  return installed.get(name);
}

/**
 * Registers the missing wasm training kernels, the replacements, the batch-norm
 * gradient (batchNormGrad.ts) and the grouped convolution (groupedConv.ts). Idempotent; a missing kernel defers to any kernel
 * already registered for 'wasm' (e.g. a future tfjs release that ships its own).
 */
export function registerWasmTrainingKernels(): void {
  for (const config of wasmTrainingKernels) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined) {
      tf.registerKernel(config);
    }
  }
  for (const { kernelName, make } of wasmKernelReplacements) {
    const current = tf.getKernel(kernelName, "wasm");
    if (current === undefined || current === installed.get(kernelName)) continue;
    const config = make(current);
    replaced.set(kernelName, current);
    installed.set(kernelName, config);
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel(config);
  }
  registerBatchNormGradient();
  registerReluGradient();
  for (const config of [
    batchNormTrainingConfig,
    batchNormTrainingGradConfig,
    groupedConv2dConfig,
    groupedConv2dBackpropInputConfig,
    groupedConv2dBackpropFilterConfig,
    momentumUpdateConfig,
    reluGradKernelConfig,
  ]) {
    if (tf.getKernel(config.kernelName, config.backendName) === undefined)
      tf.registerKernel(config);
  }
  for (const gradient of [batchNormTrainingGradient, groupedConv2dGradient])
    if (tf.getGradient(gradient.kernelName) !== gradient) tf.registerGradient(gradient);
}
