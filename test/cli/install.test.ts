import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../compiler/language/paths.js";

/**
 * What a user gets from `npm install archc`: the packed tarball installed into an empty project.
 * First with no optional peer dependency: checking, summarising and compiling to JSON must work
 * in that light install, and a command that needs a heavy backend says how to install it. Then
 * the same project gets what the README's "Use generated code in your project" section names,
 * generates TypeScript with the installed archc, compiles it with `tsc --strict`, builds it and
 * trains it on wasm through the README's one-line setup. Packages come from npm's cache where it
 * has them (`--prefer-offline`), at the version this repository's lock file holds, else from
 * the registry, as for a user: `npm ci` caches the tarballs but not the registry's metadata that
 * resolving `npm install archc`'s version ranges needs, so on a fresh machine `--offline` failed
 * (ENOTCACHED for ajv).
 */
const MB = 1024 * 1024;
let dir = "";
let bin = "";

function sizeOf(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s || s.isSymbolicLink()) return 0;
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

function archc(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A command in the user's project; its output is in the error when it fails. */
function inProject(cmd: string, ...args: string[]): string {
  try {
    return execFileSync(cmd, args, {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${err.stdout}\n${err.stderr}`);
  }
}

const npmInstall = (...args: string[]) =>
  inProject(
    "npm",
    "install",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...args,
  );

/** `name@version` as this repository's package-lock.json has it, so that npm's cache holds it. */
function locked(name: string): string {
  const lock = JSON.parse(readFileSync(join(packageRoot, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version: string }>;
  };
  return `${name}@${lock.packages[`node_modules/${name}`]!.version}`;
}

/** The README's TypeScript block that sets up wasm training, verbatim. */
function readmeWasmSetup(): string {
  const readme = readFileSync(join(packageRoot, "README.md"), "utf8");
  const block = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)]
    .map((m) => m[1]!)
    .find((b) => b.includes("archc/layers"));
  if (!block) throw new Error("README.md has no ts block importing archc/layers");
  return block;
}

beforeAll(() => {
  if (!existsSync(join(packageRoot, "dist/cli/archc.cjs")))
    throw new Error("dist/ is missing: npm ci (or npm run build) builds it");
  dir = mkdtempSync(join(tmpdir(), "archc-install-"));
  const tarball = execFileSync(
    "npm",
    ["pack", "--ignore-scripts", "--pack-destination", dir, "--loglevel=error"],
    { cwd: packageRoot, encoding: "utf8" },
  )
    .trim()
    .split("\n")
    .pop()!;
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "user", private: true, type: "module" }),
  );
  npmInstall(join(dir, tarball));
  bin = join(dir, "node_modules/archc/bin/archc.cjs");
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm install archc, without the optional backends", () => {
  it("stays under 60 MB of node_modules and installs no heavy backend", () => {
    const modules = join(dir, "node_modules");
    for (const heavy of ["@tensorflow", "onnxruntime-node", "ts-morph", "vega", "sharp"])
      expect(existsSync(join(modules, heavy)), heavy).toBe(false);
    expect(sizeOf(modules) / MB).toBeLessThan(60);
  });

  it("checks, summarises and compiles a spec to JSON", () => {
    const spec = join(dir, "node_modules/archc/specs/xception.arch");
    expect(archc("check", spec).code).toBe(0);
    const summary = archc("summary", spec, "--json");
    expect(summary.code).toBe(0);
    expect(JSON.parse(summary.stdout).params.total).toBe(22_910_480);
    const ir = archc("compile", spec, "--target", "json");
    expect(ir.code).toBe(0);
    expect(JSON.parse(ir.stdout).nodes.length).toBeGreaterThan(100);
  });

  it("a command that needs a heavy backend names the packages to install, exit 2", () => {
    const r = archc("run", join(dir, "node_modules/archc/specs/xception.arch"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm");
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});

/** Lines of JSON that a script of the user's printed. */
function printed(out: string): Record<string, unknown>[] {
  return out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("generated TypeScript in the user's project, with the README's packages", () => {
  beforeAll(() => {
    // The README: archc and tfjs to run generated code, tfjs-backend-wasm to train it on
    // WebAssembly; typescript, ts-morph and prettier to generate it.
    npmInstall(locked("@tensorflow/tfjs"), locked("@tensorflow/tfjs-backend-wasm"));
    npmInstall("--save-dev", locked("typescript"), locked("ts-morph"), locked("prettier"));
    writeFileSync(
      join(dir, "net.arch"),
      [
        'import "std/xception"',
        "",
        "# A small Xception whose separable convolutions run over `parts` segments.",
        "network small(classes = 10, parts = depthwise, mid = none, residual = true) {",
        "  input 16x16x3",
        "  conv_bn(16, stride = 2)",
        "  entry(32, first = true, parts = parts, mid = mid, residual = residual)",
        "  repeat 2 { middle(32, parts, mid, residual) }",
        "  gap -> dense classes softmax",
        "}",
        "",
      ].join("\n"),
    );
    mkdirSync(join(dir, "src"));
    inProject(
      "npx",
      "--no-install",
      "archc",
      "compile",
      "net.arch",
      "--target",
      "ts",
      "-o",
      "src/net.ts",
    );
    writeFileSync(
      join(dir, "src", "predict.ts"),
      [
        'import * as tf from "@tensorflow/tfjs";',
        'import { build } from "./net.js";',
        "",
        'const model = build({ parts: 8, mid: "relu", classes: 5 });',
        "const y = model.predict(tf.ones([2, 16, 16, 3])) as tf.Tensor;",
        "console.log(JSON.stringify({",
        "  shape: y.shape,",
        "  sums: Array.from((tf.sum(y, 1) as tf.Tensor).dataSync()),",
        "  params: model.countParams(),",
        "  layers: model.layers.map((l) => l.name),",
        "}));",
        'let refused = "";',
        "try {",
        "  build({ parts: 5 });",
        "} catch (e) {",
        "  refused = (e as Error).message;",
        "}",
        "console.log(JSON.stringify({ refused }));",
        "",
      ].join("\n"),
    );
    // The README's setup, then a few steps of fit(): Conv2D's filter gradient is among the
    // kernels tfjs-backend-wasm lacks, so fit() fails unless archc's are registered.
    writeFileSync(
      join(dir, "src", "train.ts"),
      [
        readmeWasmSetup(),
        'import * as tf from "@tensorflow/tfjs";',
        'import { build } from "./net.js";',
        "",
        "const model = build({ parts: 4, classes: 3 });",
        'model.compile({ optimizer: tf.train.adam(0.01), loss: "categoricalCrossentropy" });',
        'const x = tf.randomNormal([12, 16, 16, 3], 0, 1, "float32", 7);',
        'const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2], "int32"), 3);',
        "const h = await model.fit(x, y, { epochs: 6, batchSize: 6, shuffle: false, verbose: 0 });",
        'console.log(JSON.stringify({ backend: tf.getBackend(), loss: h.history["loss"] }));',
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: true,
          outDir: "dist",
          rootDir: "src",
        },
        include: ["src"],
      }),
    );
    inProject("npx", "--no-install", "tsc", "--strict", "-p", ".");
  }, 300_000);

  it("builds at a point of the continuum, predicts, and refuses parts the compiler refuses", () => {
    const [result, refusal] = printed(inProject(process.execPath, join("dist", "predict.js")));
    const r = result as { shape: number[]; sums: number[]; params: number; layers: string[] };
    expect(r.shape).toEqual([2, 5]);
    for (const s of r.sums) expect(s).toBeCloseTo(1, 4);
    // The names the compiler gives, so weights trained by archc load by name.
    expect(r.layers).toContain("entry/sep_unit/sepconv/spatial");
    expect(r.layers).toContain("middle_1/add");
    expect(r.params).toBeGreaterThan(0);
    expect((refusal as { refused: string }).refused).toContain(
      "sepconv 'entry/sep_unit/sepconv': 16 input channels are not divisible by parts = 5",
    );
  });

  it("trains a few steps on wasm with archc's gradient kernels after the README's one-line setup", () => {
    const [result] = printed(inProject(process.execPath, join("dist", "train.js")));
    const { backend, loss } = result as { backend: string; loss: number[] };
    expect(backend).toBe("wasm");
    expect(loss).toHaveLength(6);
    for (const l of loss) expect(Number.isFinite(l)).toBe(true);
    expect(loss.at(-1)!).toBeLessThan(loss[0]!);
  });
});
