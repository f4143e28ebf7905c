import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toDot } from "../../../compiler/backends/graph/dot.js";
import { renderSvg } from "../../../compiler/backends/graph/svg.js";
import { compileSpec } from "../../../compiler/index.js";
import { expectGolden } from "../../golden.js";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const tiny = compileSpec(join(repo, "examples", "tiny.arch"));
const xception = compileSpec(join(repo, "specs", "xception.arch"));

describe("archc graph", () => {
  it("collapsed DOT of the tiny example (golden)", () => {
    expectGolden(
      join(repo, "test", "golden", "graph", "tiny.collapsed.dot"),
      toDot(tiny, { mode: "collapsed" }),
    );
  });

  it("collapsed: one box per top-level block instance plus the free layers, shapes on the edges", () => {
    const dot = toDot(xception, { mode: "collapsed" });
    const boxes = dot.split("\n").filter((l) => /^\s+"(block|layer):[^"]*" \[label=/.test(l));
    const instances = new Set(
      xception.nodes.filter((n) => n.name.includes("/")).map((n) => n.name.split("/")[0]),
    );
    const free = xception.nodes.filter((n) => !n.name.includes("/")).length;
    expect(boxes).toHaveLength(instances.size + free);
    expect(dot).toContain('label=" 19x19x728"');
    expect(dot).toMatch(
      /"block:entry_1" \[label="entry_1\\n10 layers, 137,600 params\\nparts = depthwise"/,
    );
  });

  it("expanded: a cluster per block instance, parts on partitioned convolutions", () => {
    const g = compileSpec(join(repo, "specs", "xception.arch"), { args: { parts: 4, size: 71 } });
    const dot = toDot(g, { mode: "expanded" });
    const clusters = (dot.match(/subgraph "cluster_/g) ?? []).length;
    const prefixes = new Set(
      g.nodes.flatMap((n) =>
        n.name
          .split("/")
          .slice(0, -1)
          .map((_, i, a) => a.slice(0, i + 1).join("/")),
      ),
    );
    expect(clusters).toBe(prefixes.size);
    expect(dot).toContain("parts = 4");
  });

  it("renders SVG with Graphviz in wasm and writes it atomically", async () => {
    const svg = await renderSvg(toDot(xception, { mode: "collapsed" }));
    expect(svg).toMatch(/<svg[\s\S]*entry_1[\s\S]*<\/svg>/);
    const dir = mkdtempSync(join(tmpdir(), "archc-graph-"));
    const out = join(dir, "x.svg");
    const r = await runCli("graph", join(repo, "examples", "tiny.arch"), "--expand", "-o", out);
    expect(r.code).toBe(0);
    expect(readFileSync(out, "utf8")).toMatch(/^<\?xml|^<svg/);
    expect(readdirSync(dir)).toEqual(["x.svg"]);
    expect((await runCli("graph", join(repo, "examples", "tiny.arch"), "--depth", "0")).code).toBe(
      2,
    );
  });
});
