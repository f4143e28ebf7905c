import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { boxCount, escapeDot, toDot } from "../../../compiler/backends/graph/dot.js";
import { renderSvg } from "../../../compiler/backends/graph/svg.js";
import { graphCommand } from "../../../compiler/cli/commands/graph.js";
import { compileSpec, type IRGraph } from "../../../compiler/index.js";
import { expectGolden } from "../../golden.js";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const tinyFile = join(repo, "examples", "tiny.arch");
const xceptionFile = join(repo, "specs", "xception.arch");
const tiny = compileSpec(tinyFile);
const xception = compileSpec(xceptionFile);

/** Every block-instance path prefix: `a/b/conv` gives `a` and `a/b`. */
function instancePrefixes(g: IRGraph): Set<string> {
  return new Set(
    g.nodes.flatMap((n) =>
      n.name
        .split("/")
        .slice(0, -1)
        .map((_, i, a) => a.slice(0, i + 1).join("/")),
    ),
  );
}

const topLevelInstances = (g: IRGraph) =>
  new Set(g.nodes.filter((n) => n.name.includes("/")).map((n) => n.name.split("/")[0]));
const freeLayers = (g: IRGraph) => g.nodes.filter((n) => !n.name.includes("/")).length;

/** Node statements (`"id" [label=...]`), not edges or attribute defaults. */
const boxLines = (dot: string) => dot.split("\n").filter((l) => /^\s*"[^"]*" \[label=/.test(l));
const clusterNames = (dot: string) =>
  [...dot.matchAll(/subgraph "cluster_([^"]*)" \{/g)].map((m) => m[1]!);
const edgeLines = (dot: string) => dot.split("\n").filter((l) => / -> /.test(l));

function capture() {
  const io = { stdout: "", stderr: "" };
  return {
    io,
    sink: { out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) },
  };
}

/**
 * Blocks whose names look like instance names (`stage_1`, `stage_2`) next to one block called
 * with different arguments: the diagram must say which block and arguments each box is,
 * from the calls the IR records, not from the layer names.
 */
const stagesSpec = `block stage(filters, parts = regular) {
  conv 3x3 filters parts=parts -> relu
}
block stage_1(filters) {
  conv 1x1 filters
}
block stage_2(filters) {
  stage(filters, parts = 2) -> maxpool 2x2
}
network stages() {
  input 8x8x8
  stage(8)
  stage(16, parts = 4)
  stage_1(8)
  stage_2(16)
  gap
}
`;

describe("toDot, block structure from the IR", () => {
  const dir = mkdtempSync(join(tmpdir(), "archc-graph-"));
  const file = join(dir, "stages.arch");
  writeFileSync(file, stagesSpec);
  const g = compileSpec(file);

  it("names each collapsed box's block and arguments, also where an instance is named like another block", () => {
    const dot = toDot(g, { mode: "collapsed" });
    expect(boxLines(dot).filter((l) => l.includes('"block:'))).toEqual([
      '  "block:stage" [label="stage\\nstage(filters = 8, parts = regular)\\n2 layers, 584 params\\nout 8x8x8", fillcolor="#dde8f3", color="#4f6f8f", penwidth=1.3];',
      '  "block:stage_1" [label="stage_1\\nstage(filters = 16, parts = 4)\\n2 layers, 304 params\\nout 8x8x16\\nparts = 4", fillcolor="#dde8f3", color="#4f6f8f", penwidth=1.3];',
      '  "block:stage_1_1" [label="stage_1_1\\nstage_1(filters = 8)\\n1 layer, 136 params\\nout 8x8x8", fillcolor="#dde8f3", color="#4f6f8f", penwidth=1.3];',
      '  "block:stage_2" [label="stage_2\\nstage_2(filters = 16)\\n3 layers, 592 params\\nout 4x4x16\\nparts = 2", fillcolor="#dde8f3", color="#4f6f8f", penwidth=1.3];',
    ]);
  });

  it("labels each expanded frame with its block call, nested ones inside", () => {
    const dot = toDot(g, { mode: "expanded" });
    expect(clusterNames(dot)).toEqual([
      "stage",
      "stage_1",
      "stage_1_1",
      "stage_2",
      "stage_2/stage",
    ]);
    expect(dot).toContain('label="stage_1_1\\nstage_1(filters = 8)"; style="rounded"');
    expect(dot).toContain('label="stage\\nstage(filters = 16, parts = 2)"; style="rounded"');
    // The layers keep their own names inside the frames.
    expect(dot).toContain('"layer:stage_2/stage/conv" [label="conv\\nconv 3x3\\nparts = 2"];');
  });
});

describe("toDot, collapsed", () => {
  it("tiny example (golden)", () => {
    expectGolden(
      join(repo, "test", "golden", "graph", "tiny.collapsed.dot"),
      toDot(tiny, { mode: "collapsed" }),
    );
  });

  it("tiny: the block instance is one box, the free layers stay", () => {
    const dot = toDot(tiny, { mode: "collapsed" });
    expect(boxLines(dot)).toHaveLength(topLevelInstances(tiny).size + freeLayers(tiny));
    expect(clusterNames(dot)).toEqual([]);
    expect(dot).toContain(
      '"block:unit" [label="unit\\nunit(filters = 32, parts = 2)\\n3 layers, 2,432 params\\nout 15x15x32',
    );
  });

  it("xception: one box per top-level block instance plus the free layers, shapes on edges", () => {
    const dot = toDot(xception, { mode: "collapsed" });
    expect(boxLines(dot)).toHaveLength(topLevelInstances(xception).size + freeLayers(xception));
    expect(boxCount(xception, { mode: "collapsed" })).toBe(boxLines(dot).length);
    expect(dot).toMatch(
      /"block:entry_1" \[label="entry_1\\nentry\(filters = 256, first = false, [^"]*\)\\n10 layers, 137,600 params\\nout 37x37x256\\nparts = depthwise"/,
    );
    expect(dot).toContain('"block:entry" -> "block:entry_1" [label=" 74x74x128"]');
    expect(dot).toContain('label=" 19x19x728"');
    // Edges inside a box are dropped and the rest appear once: Xception's collapsed form is a
    // chain, so every box but the last has exactly one edge leaving it.
    const edges = edgeLines(dot);
    expect(new Set(edges).size).toBe(edges.length);
    expect(edges).toHaveLength(boxLines(dot).length - 1);
    for (const e of edges) expect(e).toMatch(/\[label=" \d+(x\d+)*"\];$/);
  });

  it("depth 2: top-level instances become frames around their nested instances' boxes", () => {
    const dot = toDot(xception, { mode: "collapsed", depth: 2 });
    expect(clusterNames(dot)).toEqual([...topLevelInstances(xception)]);
    expect(dot).toMatch(
      /"block:entry_1\/sep_unit" \[label="sep_unit\\nsep_unit\(filters = 256, [^"]*\)\\n2 layers, 34,944 params/,
    );
    expect(dot).toContain('"layer:entry_1/maxpool" [label="maxpool\\nmaxpool 3x3/2 same"]');
    // Names two levels deep are boxes of their own; deeper ones fold into them.
    const boxes = new Set(
      xception.nodes.map((n) => {
        const parts = n.name.split("/");
        return parts.length > 2 ? parts.slice(0, 2).join("/") : n.name;
      }),
    );
    expect(boxLines(dot)).toHaveLength(boxes.size);
  });
});

describe("toDot, expanded", () => {
  it("tiny: every layer a box, a frame per block instance, parts on partitioned convs", () => {
    const dot = toDot(tiny, { mode: "expanded" });
    expect(boxLines(dot)).toHaveLength(tiny.nodes.length);
    expect(clusterNames(dot)).toEqual([...instancePrefixes(tiny)]);
    expect(dot).toContain('"layer:unit/conv" [label="conv\\nconv 3x3\\nparts = 2"]');
    expect(dot).toContain('[label="sepconv\\nsepconv 3x3 mid=relu\\nparts = depthwise"]');
    // A regular convolution says nothing about parts.
    expect(dot).toMatch(/"layer:conv_1" \[label="conv_1\\nconv 1x1"\]/);
  });

  it("xception: one cluster per distinct block-instance prefix, each written once", () => {
    const dot = toDot(xception, { mode: "expanded" });
    const clusters = clusterNames(dot);
    expect(new Set(clusters).size).toBe(clusters.length);
    expect(new Set(clusters)).toEqual(instancePrefixes(xception));
    expect(boxLines(dot)).toHaveLength(xception.nodes.length);
    expect(edgeLines(dot).length).toBe(xception.nodes.reduce((s, n) => s + n.inputs.length, 0));
    expect(dot).toContain('label=" 147x147x64"');
  });

  it("xception with parts=4: the partition count is on every partitioned conv", () => {
    const g = compileSpec(xceptionFile, { args: { parts: 4, size: 71 } });
    const dot = toDot(g, { mode: "expanded" });
    const partitioned = g.nodes.filter((n) => n.op === "sepconv").length;
    // Counted on the layer boxes: the frames' block calls say `parts = 4` too.
    expect(
      boxLines(dot)
        .join("\n")
        .match(/parts = 4/g),
    ).toHaveLength(partitioned);
  });
});

describe("escaping", () => {
  it("quotes, backslashes and angle brackets are escaped and Graphviz accepts the result", async () => {
    expect(escapeDot('a"b\\c<d>')).toBe('a\\"b\\\\c\\<d\\>');
    const odd = 'we"ird\\<net>';
    const g: IRGraph = {
      ...tiny,
      network: odd,
      nodes: tiny.nodes.map((n) => (n.name === "unit/conv" ? { ...n, name: `unit/${odd}` } : n)),
    };
    const dot = toDot(g, { mode: "expanded" });
    expect(dot).toContain(`digraph "we\\"ird\\\\\\<net\\>" {`);
    const svg = await renderSvg(dot);
    expect(svg).toContain("we&quot;ird\\&lt;net&gt;");
  });
});

describe("SVG", () => {
  it("renders collapsed Xception with Graphviz in wasm as well-formed SVG", async () => {
    const svg = await renderSvg(toDot(xception, { mode: "collapsed" }));
    expect(svg).toMatch(/^(<\?xml[^>]*>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--[\s\S]*?-->\s*)?<svg/);
    expect(svg.trimEnd()).toMatch(/<\/svg>$/);
    expect(svg).toContain("entry_1");
    // librsvg (through sharp) parses the XML strictly: a malformed document is an error.
    const meta = await sharp(Buffer.from(svg)).metadata();
    expect(meta.format).toBe("svg");
    expect(meta.height).toBeGreaterThan(meta.width!);
  });
});

describe("archc graph", () => {
  it("writes the SVG atomically and says how many boxes it drew", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-graph-"));
    const out = join(dir, "x.svg");
    writeFileSync(out, "stale");
    const r = await runCli("graph", xceptionFile, "-o", out);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`wrote ${out} (${boxCount(xception, { mode: "collapsed" })} boxes)\n`);
    expect(readFileSync(out, "utf8")).toMatch(/<svg[\s\S]*entry_1[\s\S]*<\/svg>\s*$/);
    // The temporary file beside the target was renamed over it, not left behind.
    expect(readdirSync(dir)).toEqual(["x.svg"]);
  });

  it("prints DOT to standard output with --format dot", async () => {
    const r = await runCli("graph", tinyFile, "--expand", "--format", "dot");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(toDot(tiny, { mode: "expanded" }));
    expect(r.stderr).toBe("");
  });

  it("passes --set and --depth through", async () => {
    const r = await runCli("graph", tinyFile, "--set", "parts=4", "--format", "dot");
    expect(r.stdout).toContain("parts = 4");
    const d = await runCli("graph", xceptionFile, "--depth", "2", "--format", "dot");
    expect(d.stdout).toBe(toDot(xception, { mode: "collapsed", depth: 2 }));
  });

  it.each(["0", "1.5", "abc", "", "0x2"])("exits 2 on --depth '%s'", async (depth) => {
    const { io, sink } = capture();
    expect(await graphCommand(sink, tinyFile, { depth })).toBe(2);
    expect(io.stderr).toBe(`archc graph: --depth must be a positive integer, not '${depth}'`);
  });

  it("exits 2 when --expand and --collapse are both given", async () => {
    const { io, sink } = capture();
    expect(await graphCommand(sink, tinyFile, { expand: true, collapse: true })).toBe(2);
    expect(io.stderr).toMatch(/^archc graph: .*cannot be used together$/);
  });

  it("exits 1 with diagnostics for a spec that does not build", async () => {
    const dir = mkdtempSync(join(tmpdir(), "archc-graph-"));
    const bad = join(dir, "bad.arch");
    writeFileSync(bad, "network n() {\n  input 8x8x3\n  conv 3x3 nope\n}\n");
    const out = join(dir, "bad.svg");
    const r = await runCli("graph", bad, "-o", out);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toBe("");
    expect(readdirSync(dir)).toEqual(["bad.arch"]);
  });
});
