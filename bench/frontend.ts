/**
 * Front-end speed: parse + resolve + elaborate, warm, median of repeated runs.
 * Goals (issue 2): under 50 ms for an Xception-sized spec; over 50,000 lines/s.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkProgram, loadProgram } from "../compiler/language/program.js";
import { stdlibDir } from "../compiler/language/paths.js";

import { packageRoot } from "../compiler/language/paths.js";
import { median } from "./timing.js";

const repo = packageRoot;

/** Files are read once up front: the benchmark times the compiler, not the disk. */
function cachedReader(files: Record<string, string>) {
  return (p: string) => {
    const t = files[p];
    if (t === undefined) throw new Error(`not cached: ${p}`);
    return t;
  };
}

/** What `archc check` does: parse, resolve, check configs, elaborate every network. */
function timeCheck(
  entry: string,
  read: (p: string) => string,
  runs: number,
  warm: number,
): number[] {
  const times: number[] = [];
  for (let i = 0; i < warm + runs; i++) {
    const t0 = performance.now();
    const ds = checkProgram(loadProgram(entry, read));
    const dt = performance.now() - t0;
    if (ds.length) throw new Error(`${entry} does not check: ${ds[0]!.message}`);
    if (i >= warm) times.push(dt);
  }
  return times;
}

/**
 * A long, valid spec in the style of the library: per copy, commented blocks on the continuum,
 * a residual downsampling block, a network using them and a train config (about 45 lines).
 * Copies are added until the file has `lines` lines.
 */
export function generatedSpec(lines: number): string {
  const copy = (i: number) => `# Copy ${i}: a block family in the style of the standard library.

# Convolution, batch norm, activation.
block cbr${i}(filters, kernel = 3x3, stride = 1, parts = regular) {
  conv kernel filters stride=stride parts=parts bias=false -> bn -> relu
}

# Separable unit on the continuum.
block sep${i}(filters, parts = depthwise, mid = none) {
  sepconv 3x3 filters parts=parts mid=mid bias=false -> bn
}

block down${i}(filters, parts = depthwise, residual = true) {
  residual enabled=residual {
    relu -> sep${i}(filters, parts) -> relu -> sep${i}(filters, parts)
    maxpool 3x3/2 same
  } shortcut {
    conv 1x1/2 filters bias=false -> bn
  }
}

block middle${i}(filters, parts = depthwise) {
  residual {
    repeat 2 { relu -> sep${i}(filters, parts) }
  }
}

network net${i}(classes = 10, parts = 4, width = 32) {
  input 64x64x3
  cbr${i}(width, stride = 2)
  down${i}(width * 2, parts) -> down${i}(width * 4, parts)
  repeat 2 { middle${i}(width * 4, parts) }
  concat {
    branch { conv 1x1 32 }
    branch { maxpool 3x3/1 same -> conv 1x1 (in / 4) }
  }
  gap -> dropout 0.5 -> dense classes softmax
}

train cfg${i} {
  optimizer sgd(momentum = 0.9, lr = 0.045)
  schedule exponential(rate = 0.94, every = 2 epochs)
  weight_decay 1e-5
}
`;
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const next = copy(i).split("\n");
    if (out.length + next.length > lines) break;
    out.push(...next);
  }
  // Whole copies only, so the file stays valid; a few comment lines make up the count.
  while (out.length < lines) out.push("# end of generated spec");
  return out.join("\n") + "\n";
}

export function runFrontendBench(): void {
  const xception = join(repo, "specs", "xception.arch");
  const files: Record<string, string> = {
    [xception]: readFileSync(xception, "utf8"),
    [join(stdlibDir, "xception.arch")]: readFileSync(join(stdlibDir, "xception.arch"), "utf8"),
    [join(stdlibDir, "units.arch")]: readFileSync(join(stdlibDir, "units.arch"), "utf8"),
  };
  const x = timeCheck(xception, cachedReader(files), 50, 20);
  const lines = Object.values(files).reduce((s, t) => s + t.split("\n").length, 0);
  console.log(
    `Xception spec (${lines} lines incl. stdlib, 135 layers): median ${median(x).toFixed(2)} ms, min ${Math.min(...x).toFixed(2)} ms over ${x.length} warm runs (goal < 50 ms)`,
  );

  const big = "/virtual/big.arch";
  const text = generatedSpec(10_000);
  const n = text.split("\n").length - 1;
  const g = timeCheck(big, cachedReader({ [big]: text }), 5, 2);
  const ms = median(g);
  console.log(
    `generated spec (${n.toLocaleString("en-US")} lines): median ${ms.toFixed(1)} ms = ${Math.round((n / ms) * 1000).toLocaleString("en-US")} lines/s (goal > 50,000 lines/s)`,
  );
}
