import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";

function cudaInstalled(): boolean {
  const pkg = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
  const dir = join(pkg, "bin", "napi-v6", process.platform, process.arch);
  return existsSync(join(dir, "libonnxruntime_providers_cuda.so"));
}

export interface OnnxSession {
  readonly provider: "cuda" | "cpu";
  run(
    input: Float32Array,
    shape: readonly number[],
  ): Promise<{ data: Float32Array; dims: readonly number[] }>;
  release(): Promise<void>;
}

/**
 * An onnxruntime-node session on the CPU, or on CUDA where onnxruntime's CUDA provider is
 * present (it is not on machines where its CUDA download was skipped).
 */
export async function openOnnx(
  bytes: Uint8Array,
  prefer: "auto" | "cpu" | "cuda" = "auto",
): Promise<OnnxSession> {
  // onnxruntime lists CUDA even when its provider libraries were never downloaded (they are
  // skipped at install here), so CUDA is tried only when they are present.
  const wantCuda = prefer === "cuda" || (prefer === "auto" && cudaInstalled());
  let session: ort.InferenceSession | undefined;
  let provider: "cuda" | "cpu" = "cpu";
  if (wantCuda) {
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: ["cuda"] });
      provider = "cuda";
    } catch (e) {
      if (prefer === "cuda") throw e;
    }
  }
  session ??= await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  const s = session;
  return {
    provider,
    async run(input, shape) {
      const out = await s.run({ input: new ort.Tensor("float32", input, [...shape]) });
      const t = out["output"]!;
      return { data: t.data as Float32Array, dims: t.dims };
    },
    release: () => s.release(),
  };
}
