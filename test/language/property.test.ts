import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { validateIR } from "../../compiler/language/ir/validate.js";
import { buildText } from "../helpers.js";
import { checkProgram, loadProgram } from "../../compiler/language/program.js";
import { formatSource } from "../../compiler/cli/commands/fmt.js";

const layerArb = fc.oneof(
  fc
    .record({
      k: fc.constantFrom(1, 3, 5),
      s: fc.constantFrom(1, 2),
      f: fc.constantFrom(4, 8, 12, 16),
      p: fc.constantFrom("regular", "depthwise", "2", "4"),
      pad: fc.constantFrom("same", "valid"),
    })
    .map(
      (c) => `conv ${c.k}x${c.k}/${c.s} ${c.f} ${c.pad} parts=${c.p === "depthwise" ? "in" : c.p}`,
    ),
  fc
    .record({
      k: fc.constantFrom(3, 5),
      f: fc.constantFrom(8, 12, 16),
      mid: fc.constantFrom("none", "relu", "elu"),
      p: fc.constantFrom("regular", "depthwise", "2", "3", "4"),
      order: fc.constantFrom("spatial_first", "pointwise_first"),
    })
    .map((c) => `sepconv ${c.k}x${c.k} ${c.f} mid=${c.mid} parts=${c.p} order=${c.order}`),
  fc.constant("bn"),
  fc.constantFrom("relu", "elu", "sigmoid"),
  fc.constantFrom("maxpool 2x2", "avgpool 3x3/1 same", "maxpool 3x3/2 same"),
  fc.constant("dropout 0.25"),
);

describe("property: random valid chains", () => {
  it("elaborate with consistent shapes, or fail with a located diagnostic — never a crash", () => {
    fc.assert(
      fc.property(
        fc.array(layerArb, { minLength: 1, maxLength: 10 }),
        fc.constantFrom(8, 16, 32),
        (layers, size) => {
          const text = `network n {\n  input ${size}x${size}x8\n  ${layers.join(" -> ")}\n  gap -> dense 3\n}\n`;
          const r = buildText(text);
          if (!r.graph) {
            // Valid chains can still shrink the image away or break divisibility; those are diagnostics.
            expect(r.diagnostics.length).toBeGreaterThan(0);
            for (const d of r.diagnostics) expect(["E0400", "E0401"]).toContain(d.code);
            return;
          }
          const g = r.graph;
          expect(validateIR(g)).toEqual([]);
          for (const n of g.nodes) {
            for (const i of n.inputs) {
              const input = g.nodes[i]!;
              if (n.op === "conv") {
                expect(input.shape[2]! % n.attrs.groups).toBe(0);
                expect(n.attrs.filters % n.attrs.groups).toBe(0);
              }
              if (n.op === "sepconv") {
                // The spatial step reads the input (spatial_first) or the pointwise output.
                const a = n.attrs;
                const spatialIn = a.order === "spatial_first" ? input.shape[2]! : a.filters;
                expect(a.spatialChannels).toBe(spatialIn);
                expect(spatialIn % a.groups).toBe(0);
              }
              if (n.op === "bn" || n.op === "act" || n.op === "dropout")
                expect(n.shape).toEqual(input.shape);
              if (n.shape.length === 3 && input.shape.length === 3) {
                expect(n.shape[0]!).toBeLessThanOrEqual(input.shape[0]!);
                expect(n.shape[0]!).toBeGreaterThan(0);
              }
            }
          }
          expect(g.nodes[g.output]!.shape).toEqual([3]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("property: mutated specs never crash the front end", () => {
  const base = readFileSync(join(import.meta.dirname, "..", "..", "examples", "tiny.arch"), "utf8");
  it("random byte edits give diagnostics or a network, never an exception", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.nat(base.length - 1),
            op: fc.constantFrom("delete", "insert", "replace"),
            ch: fc.constantFrom(...'{}()[]->=,;#"x0123456789abz \n/*+?:.'),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (edits) => {
          let text = base;
          for (const e of edits) {
            const at = Math.min(e.at, text.length);
            text =
              e.op === "delete"
                ? text.slice(0, at) + text.slice(at + 1)
                : e.op === "insert"
                  ? text.slice(0, at) + e.ch + text.slice(at)
                  : text.slice(0, at) + e.ch + text.slice(at + 1);
          }
          const program = loadProgram("/virtual/m.arch", () => text);
          const ds = checkProgram(program);
          for (const d of ds) {
            expect(d.span.start.line).toBeGreaterThanOrEqual(1);
            expect(d.message.length).toBeGreaterThan(0);
          }
          formatSource("m.arch", text);
        },
      ),
      { numRuns: 300 },
    );
  });
});
