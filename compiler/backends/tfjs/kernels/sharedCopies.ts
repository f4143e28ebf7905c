import * as tf from "@tensorflow/tfjs";
import { replacing } from "./common.js";

// Why: the engine saves every tensor a gradient needs as keep(clone(t)), and clone is
// the Identity kernel; wasm's Identity (and its Cast to the same dtype) copy the data
// through JS typed arrays. A mini_xception training step made 441 such copies, 5% of
// the step, to protect buffers that nothing writes to: tfjs tensors are immutable and
// a variable's assign swaps its data id. Like the cpu and webgl backends (and wasm's
// own Reshape), these share the data and count the reference instead.

function share(backend: tf.KernelBackend, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

export function identityReplacement(theirs: tf.KernelConfig): tf.KernelConfig {
  return replacing(theirs, (args) => {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    // Strings live in JS, outside the heap; wasm's own kernel handles them.
    if (x.dtype === "string") return theirs.kernelFunc(args);
    return share(args.backend as tf.KernelBackend, x);
  });
}

export function castReplacement(theirs: tf.KernelConfig): tf.KernelConfig {
  return replacing(theirs, (args) => {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    if (dtype !== x.dtype || dtype === "string") return theirs.kernelFunc(args);
    return share(args.backend as tf.KernelBackend, x);
  });
}
