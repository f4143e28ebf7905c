import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "./register.js";

/**
 * Makes 'wasm' the active tfjs backend, with the training kernels it lacks.
 * In Node the wasm backend finds its .wasm binaries next to its own dist files,
 * so no setWasmPaths call is needed.
 */
export async function initWasmBackend(): Promise<void> {
  registerWasmTrainingKernels();
  if (!(await tf.setBackend("wasm")))
    throw new Error("tfjs: could not initialise the wasm backend");
  await tf.ready();
}
