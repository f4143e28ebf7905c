import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { randomWeights } from "../../../compiler/backends/onnx/random.js";
import {
  digestKey,
  encodeSafetensors,
  parseSafetensors,
  safetensorsDigest,
  type RawTensor,
} from "../../../compiler/backends/torch/safetensors.js";
import { safetensors, torchStateDict } from "../../../compiler/backends/torch/weights.js";
import { loadWeights, WeightsError } from "../../../compiler/lab/run/weights.js";
import { mustBuild, runCli } from "../../helpers.js";

/**
 * `--weights` inputs are verified before anything is written (issue 27.4): a corpus of damaged
 * safetensors files, special files and weights of another network, each refused with exit 1 by
 * every command that takes weights, naming the file, never a hang; nothing is written.
 */
const spec = `network tiny(classes = 3) {
  input 8x8x2
  conv 3x3 4 -> bn -> relu
  sepconv 3x3 6 parts=2 -> relu
  gap -> dense classes softmax
}
`;
const graph = mustBuild(spec);
const good = safetensors(torchStateDict(graph, randomWeights(graph, 3)), { network: "tiny" });

/** The header and data of safetensors bytes, to build damaged variants from. */
function split(bytes: Uint8Array) {
  const b = Buffer.from(bytes);
  const n = Number(b.readBigUInt64LE(0));
  return {
    header: JSON.parse(b.subarray(8, 8 + n).toString("utf8")) as Record<string, unknown>,
    data: b.subarray(8 + n),
  };
}

function join8(header: Record<string, unknown>, data: Uint8Array): Buffer {
  const head = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([len, head, data]);
}

/** The file with the tensor values changed by `change`, its digest recomputed (a valid file). */
function rewritten(change: (name: string, data: Float32Array) => void): Uint8Array {
  const parsed = parseSafetensors(good);
  const tensors = new Map<string, RawTensor>();
  for (const [name, t] of parsed.tensors) {
    const f = new Float32Array(t.bytes.length / 4);
    new Uint8Array(f.buffer).set(t.bytes);
    change(name, f);
    tensors.set(name, { ...t, bytes: new Uint8Array(f.buffer) });
  }
  const { [digestKey]: _, ...meta } = parsed.metadata;
  return encodeSafetensors(tensors, meta);
}

/** Two tensors of the same size with their offsets swapped; the header otherwise intact. */
function swappedOffsets(): Buffer {
  const { header, data } = split(good);
  type Entry = { shape: number[]; data_offsets: [number, number] };
  const entries = Object.entries(header).filter(([k]) => k !== "__metadata__") as [string, Entry][];
  const size = (e: Entry) => e.data_offsets[1] - e.data_offsets[0];
  const [a, b] = entries.flatMap(([, x], i) =>
    entries
      .slice(i + 1)
      .filter(([, y]) => size(x) === size(y))
      .map(([, y]) => [x, y] as const),
  )[0]!;
  [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets];
  return join8(header, data);
}

function flipped(at: number): Buffer {
  const b = Buffer.from(good);
  b[at] = b[at]! ^ 0x04;
  return b;
}

const headerLength = Number(Buffer.from(good).readBigUInt64LE(0));

/** Every case: a name and how to make the file (or what stands in its place). */
const corpus: [string, (path: string) => void][] = [
  ["empty", (p) => writeFileSync(p, "")],
  ["truncated header", (p) => writeFileSync(p, good.subarray(0, 20))],
  ["truncated data", (p) => writeFileSync(p, good.subarray(0, good.length - 10))],
  [
    "random bytes",
    (p) =>
      writeFileSync(p, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251))),
  ],
  [
    "huge header length",
    (p) =>
      writeFileSync(
        p,
        Buffer.concat([Buffer.from([255, 255, 255, 255, 0, 0, 0, 0]), good.subarray(8)]),
      ),
  ],
  ...[12, 30, Math.floor(headerLength / 2), headerLength - 40, headerLength - 5].map(
    (at): [string, (p: string) => void] => [
      `header bit flip at ${at}`,
      (p) => writeFileSync(p, flipped(8 + at)),
    ],
  ),
  ["data bit flip", (p) => writeFileSync(p, flipped(good.length - 3))],
  ["swapped offsets", (p) => writeFileSync(p, swappedOffsets())],
  [
    "NaN weight (checksum recomputed)",
    (p) =>
      writeFileSync(
        p,
        rewritten((n, f) => n.endsWith("weight") && (f[0] = NaN)),
      ),
  ],
  [
    "infinite weight (no checksum)",
    (p) => {
      const { header, data } = split(rewritten((n, f) => n.endsWith("bias") && (f[0] = Infinity)));
      delete (header["__metadata__"] as Record<string, string>)[digestKey];
      writeFileSync(p, join8(header, data));
    },
  ],
  [
    "F16 dtype",
    (p) => {
      const { header, data } = split(good);
      const [name] = Object.keys(header).filter((k) => k !== "__metadata__");
      (header[name!] as { dtype: string }).dtype = "F16";
      writeFileSync(p, join8(header, data));
    },
  ],
  [
    "another network's weights",
    (p) => {
      const other = mustBuild(spec.replace("classes = 3", "classes = 5"));
      writeFileSync(p, safetensors(torchStateDict(other, randomWeights(other, 3))));
    },
  ],
  [
    "a pickle",
    (p) =>
      writeFileSync(
        p,
        Buffer.from([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x8c, 0x02, 0x6f, 0x73]),
      ),
  ],
  ["link to /dev/zero", (p) => symlinkSync("/dev/zero", p)],
  ["FIFO", (p) => execFileSync("mkfifo", [p])],
  ["folder", (p) => mkdirSync(p)],
];

describe("weights are verified before use", () => {
  it("the good file loads, and the digest is over names, shapes and data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-weights-"));
    writeFileSync(join(dir, "weights.safetensors"), good);
    const w = await loadWeights(graph, dir);
    expect(w.kind).toBe("safetensors");
    expect([...w.weights.keys()].sort()).toEqual([...randomWeights(graph, 3).keys()].sort());
    const p = parseSafetensors(good, { requireDigest: true });
    expect(p.metadata[digestKey]).toBe(safetensorsDigest(p.metadata, p.tensors));
  });

  it.each(corpus)("%s: loadWeights refuses it naming the file", async (_, make) => {
    const dir = mkdtempSync(join(tmpdir(), "archc-weights-"));
    const file = join(dir, "weights.safetensors");
    make(file);
    const err = await loadWeights(graph, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WeightsError);
    expect((err as Error).message).toContain(file);
    // Given as a file, the same.
    await expect(loadWeights(graph, file)).rejects.toThrow(file);
  });

  it("every command that takes weights exits 1 naming the file and writes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-weights-cli-"));
    const specFile = join(dir, "tiny.arch");
    writeFileSync(specFile, spec);
    for (const [name, make] of corpus) {
      const case_ = join(dir, name.replace(/\W+/g, "_"));
      mkdirSync(case_);
      const file = join(case_, "weights.safetensors");
      make(file);
      const out = join(case_, "out");
      for (const [target, o] of [
        ["torch", join(out, "m.py")],
        ["onnx", join(out, "m.onnx")],
      ] as const) {
        const r = await runCli(
          "compile",
          specFile,
          "--target",
          target,
          "--weights",
          case_,
          "-o",
          o,
        );
        expect(r.code, `${name}, --target ${target}: ${r.stderr}`).toBe(1);
        expect(r.stderr, name).toContain(file);
        expect(existsSync(out), name).toBe(false);
      }
      const run = await runCli(
        "run",
        specFile,
        "--runtime",
        "onnx",
        "--weights",
        file,
        "--runs",
        "1",
      );
      expect(run.code, `${name}, run: ${run.stderr}`).toBe(1);
      expect(run.stderr, name).toContain(file);
    }
    // The targets that write no weights say so rather than ignore the flag.
    for (const target of ["json", "ts"]) {
      const r = await runCli("compile", specFile, "--target", target, "--weights", dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--weights applies to --target onnx and --target torch/);
    }
    // The good file goes through, and what is written is the verified weights with a checksum.
    writeFileSync(join(dir, "weights.safetensors"), good);
    const ok = await runCli(
      "compile",
      specFile,
      "--target",
      "torch",
      "--weights",
      dir,
      "-o",
      join(dir, "m.py"),
    );
    expect(ok.code, ok.stderr).toBe(0);
    const written = parseSafetensors(readFileSync(join(dir, "m.safetensors")), {
      requireDigest: true,
    });
    expect([...written.tensors.keys()]).toEqual([...parseSafetensors(good).tensors.keys()]);
  }, 120_000);
});
