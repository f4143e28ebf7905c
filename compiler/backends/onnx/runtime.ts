import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";

export type OnnxProvider = "cpu" | "cuda";

export interface OnnxRunOptions {
  /**
   * `auto` (default): CUDA where it can run (see `cudaAvailable`), else the CPU. `cuda` fails
   * rather than fall back, so a benchmark never reports CPU numbers as GPU ones.
   */
  readonly provider?: "auto" | OnnxProvider;
  /** onnxruntime's intra-op threads (default: its own choice, one per core). */
  readonly threads?: number;
}

/**
 * Whether onnxruntime-node can use CUDA here. `listSupportedBackends()` names cuda on every
 * Linux x64 install, with `bundled: false` because its provider library is a separate download
 * (skipped where ONNXRUNTIME_NODE_INSTALL=skip): so CUDA counts only when that library is next to
 * the binding, or when ARCHC_ONNX_CUDA=1 says to try anyway (a system-wide install).
 * ARCHC_ONNX_CUDA=0 turns it off.
 */
export function cudaAvailable(): boolean {
  const env = process.env["ARCHC_ONNX_CUDA"];
  if (env === "0") return false;
  if (env === "1") return true;
  const cuda = ort.listSupportedBackends().find((b) => b.name === "cuda");
  if (!cuda) return false;
  if (cuda.bundled) return true;
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
    const dir = join(pkg, "bin", "napi-v6", process.platform, process.arch);
    return existsSync(join(dir, "libonnxruntime_providers_cuda.so"));
  } catch {
    return false;
  }
}

export interface OnnxOutput {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export interface OnnxSession {
  readonly provider: OnnxProvider;
  /** The model's input shape with the batch left symbolic (null). */
  readonly inputShape: readonly (number | null)[];
  run(input: Float32Array, shape: readonly number[]): Promise<OnnxOutput>;
  release(): Promise<void>;
}

/** Opens an inference session on CUDA where available (see OnnxRunOptions), else the CPU. */
export async function openOnnx(
  bytes: Uint8Array,
  options: OnnxRunOptions | "auto" | OnnxProvider = {},
): Promise<OnnxSession> {
  // The bare provider name is the short form: openOnnx(bytes, "cpu").
  const opts: OnnxRunOptions = typeof options === "string" ? { provider: options } : options;
  const prefer = opts.provider ?? "auto";
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: "all",
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
  };
  let session: ort.InferenceSession | undefined;
  let provider: OnnxProvider = "cpu";
  if (prefer === "cuda" || (prefer === "auto" && cudaAvailable())) {
    try {
      session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ["cuda"] });
      provider = "cuda";
    } catch (e) {
      if (prefer === "cuda") throw e;
    }
  }
  session ??= await ort.InferenceSession.create(bytes, { ...base, executionProviders: ["cpu"] });
  const s = session;
  const [inputName] = s.inputNames;
  const [outputName] = s.outputNames;
  const meta = s.inputMetadata[0];
  const inputShape =
    meta && meta.isTensor ? meta.shape.map((d) => (typeof d === "number" ? d : null)) : [];
  return {
    provider,
    inputShape,
    async run(input, shape) {
      const out = await s.run({ [inputName!]: new ort.Tensor("float32", input, [...shape]) });
      const t = out[outputName!]!;
      return { data: t.data as Float32Array, dims: t.dims };
    },
    release: () => s.release(),
  };
}

/** One forward pass of an ONNX model: open, run, release. */
export async function runOnnx(
  bytes: Uint8Array,
  input: Float32Array,
  shape: readonly number[],
  opts: OnnxRunOptions | "auto" | OnnxProvider = {},
): Promise<OnnxOutput & { provider: OnnxProvider }> {
  const s = await openOnnx(bytes, opts);
  try {
    return { ...(await s.run(input, shape)), provider: s.provider };
  } finally {
    await s.release();
  }
}

export interface OnnxTiming {
  readonly provider: OnnxProvider;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly times: readonly number[];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Times forward passes of a batch of uniform random input in [-1, 1) after `warmup` untimed
 * ones (the first runs pay for memory planning). The input shape is the model's own.
 */
export async function timeOnnx(
  bytes: Uint8Array,
  batch: number,
  runs: number,
  warmup: number,
  opts: OnnxRunOptions | "auto" | OnnxProvider = {},
): Promise<OnnxTiming> {
  const s = await openOnnx(bytes, opts);
  try {
    const dims = s.inputShape.slice(1);
    if (dims.some((d) => d === null))
      throw new Error("timeOnnx: the model's input has a symbolic dimension besides the batch");
    const shape = [batch, ...(dims as number[])];
    const input = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < input.length; i++) input[i] = Math.random() * 2 - 1;
    const times: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      await s.run(input, shape);
      if (i >= warmup) times.push(performance.now() - t0);
    }
    return {
      provider: s.provider,
      medianMs: median(times),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      times,
    };
  } finally {
    await s.release();
  }
}
