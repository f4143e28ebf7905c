import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { onnxOutSize, tfPads } from "../../compiler/backends/onnx/padding.js";
import { prelude } from "../../compiler/backends/torch/prelude.js";
import { ceilPads, outSize, paddedOutSize, samePads } from "../../compiler/language/ir/geometry.js";
import type { Pads } from "../../compiler/language/ir/types.js";
import { inCI, needPython, python, pythonProblem } from "./torch/python.js";

/**
 * Conv geometry has one owner, compiler/language/ir/geometry.ts. Backends that cannot call it
 * (tfjs' own 'same', the PyTorch prelude's Python) or that adapt it (ONNX's begin/end pads) are
 * held to it here on a grid of odd and even sizes, kernels, strides and dilations, so a copy that
 * drifts fails by name. Shapes only: no weights, no training.
 */

interface Window {
  readonly size: [number, number];
  readonly kernel: [number, number];
  readonly strides: [number, number];
  readonly dilation: [number, number];
}

/** Every window of the grid, rows and columns differing so that a swapped axis shows. */
function grid(): Window[] {
  const out: Window[] = [];
  for (const h of [1, 2, 5, 7, 8])
    for (const k of [1, 2, 3, 5])
      for (const s of [1, 2, 3])
        for (const d of [1, 2])
          out.push({ size: [h, h + 3], kernel: [k, 3], strides: [s, 1], dilation: [d, 1] });
  return out;
}

const windows = grid();
/** Whether the language allows these pool pads: each side smaller than the window (E0305). */
const poolPads = (w: Window, p: Pads) => p.every((x, i) => x < w.kernel[i < 2 ? 0 : 1]!);
const fits = (w: Window) =>
  [0, 1].every((i) => w.size[i]! >= (w.kernel[i]! - 1) * w.dilation[i]! + 1);

/** Explicit pads [top, bottom, left, right], symmetric and not, each within PyTorch's limits. */
const padSets: readonly Pads[] = [
  [1, 1, 1, 1],
  [0, 1, 2, 0],
  [2, 0, 1, 1],
];

describe("ONNX's pads and output sizes are geometry.ts's", () => {
  it("for 'same' and 'valid' windows", () => {
    for (const w of windows)
      for (const padding of ["same", "valid"] as const) {
        if (padding === "valid" && !fits(w)) continue;
        const pads = tfPads(w.size, w.kernel, w.strides, w.dilation, padding);
        const [t, l, b, r] = samePads(w.size, w.kernel, w.strides, w.dilation, padding);
        expect(pads, JSON.stringify({ w, padding })).toEqual([t, l, b, r]);
        const expected = [0, 1].map((i) =>
          outSize(w.size[i]!, w.kernel[i]!, w.strides[i]!, w.dilation[i]!, padding),
        );
        expect(onnxOutSize(w.size, w.kernel, w.strides, w.dilation, pads)).toEqual(expected);
      }
  });
});

describe("tfjs' own 'same' and 'valid' give geometry.ts's output sizes", () => {
  it("for convolutions and pools", () => {
    for (const w of windows)
      for (const padding of ["same", "valid"] as const) {
        if (padding === "valid" && !fits(w)) continue;
        const expected = [0, 1].map((i) =>
          outSize(w.size[i]!, w.kernel[i]!, w.strides[i]!, w.dilation[i]!, padding),
        );
        const conv = tf.layers.conv2d({
          filters: 1,
          kernelSize: w.kernel,
          strides: w.strides,
          dilationRate: w.dilation,
          padding,
        });
        // tfjs refuses strides beside dilation; its shape rule is then not one archc relies on.
        if (w.strides.every((s) => s === 1) || w.dilation.every((d) => d === 1)) {
          const shape = conv.computeOutputShape([1, ...w.size, 1]) as number[];
          expect(shape.slice(1, 3), JSON.stringify({ w, padding })).toEqual(expected);
        }
        if (w.dilation.some((d) => d !== 1)) continue;
        const pool = tf.layers.maxPooling2d({ poolSize: w.kernel, strides: w.strides, padding });
        const pooled = pool.computeOutputShape([1, ...w.size, 1]) as number[];
        expect(pooled.slice(1, 3), JSON.stringify({ w, padding })).toEqual(expected);
      }
  });

  it("a ceil-mode pool is a 'valid' pool over ceilPads' padding", () => {
    for (const w of windows)
      for (const pads of [undefined, ...padSets]) {
        const node = {
          pool: w.kernel,
          strides: w.strides,
          ceil: true as const,
          ...(pads ? { pads } : {}),
        };
        const p = pads ?? [0, 0, 0, 0];
        if (!poolPads(w, p)) continue;
        if ([0, 1].some((i) => w.size[i]! + p[2 * i]! + p[2 * i + 1]! < w.kernel[i]!)) continue;
        const [t, b, l, r] = ceilPads(w.size, node);
        const valid = [
          outSize(w.size[0] + t + b, w.kernel[0], w.strides[0], 1, "valid"),
          outSize(w.size[1] + l + r, w.kernel[1], w.strides[1], 1, "valid"),
        ];
        const ceil = [0, 1].map((i) =>
          paddedOutSize(w.size[i]!, w.kernel[i]!, w.strides[i]!, 1, p[2 * i]!, p[2 * i + 1]!, true),
        );
        expect(valid, JSON.stringify({ w, pads })).toEqual(ceil);
      }
  });
});

const problem = pythonProblem("torch");
const dir = mkdtempSync(join(tmpdir(), "archc-geometry-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The prelude's Python, run on the grid: its 'same' split, the padding its Conv2d applies (its
 * own symmetric padding or pad_same's), and the output sizes of its convolutions and pools.
 */
const script = `
import json, sys
import torch
exec(open(sys.argv[1]).read())
out = []
for c in json.load(open(sys.argv[2])):
    h, w = c["size"]
    x = torch.zeros(1, 1, h, w)
    r = {}
    if c["op"] == "conv":
        m = Conv2d(1, 1, c["kernel"], c["strides"], c["padding"], c["dilation"], pad=c.get("pads"))
        if m.same:
            (top, bottom), (left, right) = (same_padding(h, m.kernel_size[0], m.stride[0], m.dilation[0]),
                                            same_padding(w, m.kernel_size[1], m.stride[1], m.dilation[1]))
            r["pads"] = [top, bottom, left, right]
        elif m.pads is not None:
            r["pads"] = list(m.pads)
        else:
            r["pads"] = [m.padding[0], m.padding[0], m.padding[1], m.padding[1]]
    else:
        cls = MaxPool2d if c["op"] == "maxpool" else AvgPool2d
        m = cls(c["kernel"], c["strides"], c["padding"], pad=c.get("pads"), ceil=c["ceil"])
    with torch.no_grad():
        y = m(x)
    r["out"] = [y.shape[2], y.shape[3]]
    out.append(r)
print(json.dumps(out))
`;

interface PyCase {
  readonly op: "conv" | "maxpool" | "avgpool";
  readonly size: [number, number];
  readonly kernel: [number, number];
  readonly strides: [number, number];
  readonly dilation: [number, number];
  readonly padding: "same" | "valid";
  readonly pads?: Pads;
  readonly ceil: boolean;
}

/** Each case with what geometry.ts says: the pads applied and the output size. */
function expected(c: PyCase): { pads?: number[]; out: number[] } {
  const out = [0, 1].map((i) =>
    c.pads
      ? paddedOutSize(
          c.size[i]!,
          c.kernel[i]!,
          c.strides[i]!,
          c.dilation[i]!,
          c.pads[2 * i]!,
          c.pads[2 * i + 1]!,
          c.ceil,
        )
      : c.ceil
        ? paddedOutSize(c.size[i]!, c.kernel[i]!, c.strides[i]!, 1, 0, 0, true)
        : outSize(c.size[i]!, c.kernel[i]!, c.strides[i]!, c.dilation[i]!, c.padding),
  );
  if (c.op !== "conv") return { out };
  const [t, l, b, r] = samePads(c.size, c.kernel, c.strides, c.dilation, c.padding);
  return { pads: c.pads ? [...c.pads] : [t, b, l, r], out };
}

function cases(): PyCase[] {
  const out: PyCase[] = [];
  for (const w of windows) {
    const base = { ...w, ceil: false };
    out.push({ op: "conv", ...base, padding: "same" });
    if (fits(w)) out.push({ op: "conv", ...base, padding: "valid" });
    for (const pads of padSets) {
      const room = [0, 1].every(
        (i) =>
          w.size[i]! + pads[2 * i]! + pads[2 * i + 1]! >= (w.kernel[i]! - 1) * w.dilation[i]! + 1,
      );
      if (room) out.push({ op: "conv", ...base, padding: "valid", pads });
    }
    if (w.dilation[0] !== 1) continue;
    for (const op of ["maxpool", "avgpool"] as const) {
      out.push({ op, ...base, padding: "same" });
      for (const ceil of [false, true]) {
        if (fits(w)) out.push({ op, ...base, padding: "valid", ceil });
        for (const pads of padSets.filter((p) => poolPads(w, p)))
          if ([0, 1].every((i) => w.size[i]! + pads[2 * i]! + pads[2 * i + 1]! >= w.kernel[i]!))
            out.push({ op, ...base, padding: "valid", pads, ceil });
      }
    }
  }
  return out;
}

describe.skipIf(problem !== undefined && !inCI)(
  "the PyTorch prelude's geometry is geometry.ts's",
  () => {
    it("pads and output sizes of Conv2d, MaxPool2d and AvgPool2d", () => {
      needPython(problem);
      const all = cases();
      writeFileSync(join(dir, "prelude.py"), prelude);
      writeFileSync(join(dir, "script.py"), script);
      writeFileSync(join(dir, "cases.json"), JSON.stringify(all));
      const got = JSON.parse(
        execFileSync(
          python,
          [join(dir, "script.py"), join(dir, "prelude.py"), join(dir, "cases.json")],
          {
            encoding: "utf8",
          },
        ),
      ) as { pads?: number[]; out: number[] }[];
      expect(got.length).toBe(all.length);
      const wrong = all
        .map((c, i) => ({ c, want: expected(c), got: got[i]! }))
        .filter(({ want, got }) => JSON.stringify(want) !== JSON.stringify(got));
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(all.length).toBeGreaterThan(500);
    });
  },
);
