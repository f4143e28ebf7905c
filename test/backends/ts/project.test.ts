import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * Generated TypeScript used as a user would: archc packed (`npm pack`, which builds it), its
 * tarball installed in a fresh project with only what the README's "Use generated code in your
 * project" section names, a module generated there by the installed `archc`, compiled by
 * `tsc --strict`, then built at a point of the continuum and run.
 */

const repo = join(import.meta.dirname, "..", "..", "..");
const work = mkdtempSync(join(tmpdir(), "archc-project-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const devVersion = (name: string): string => {
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  return pkg.devDependencies[name]!;
};

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false" },
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${err.stdout}\n${err.stderr}`);
  }
}

describe("generated TypeScript in a project of its own", () => {
  it("npm pack, install with the README's dependencies, generate, tsc --strict, build and predict", () => {
    // `npm pack` runs the prepare script, which builds dist/ (skipped when it is up to date).
    const packs = join(work, "packs");
    mkdirSync(packs);
    run("npm", ["pack", "--pack-destination", packs, "--silent"], repo);
    const tarball = readdirSync(packs).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeDefined();

    const app = join(work, "app");
    mkdirSync(join(app, "src"), { recursive: true });
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "archc-user", private: true, type: "module" }, null, 2),
    );
    // The README's commands: archc and tfjs to run generated code; typescript, ts-morph and
    // prettier to generate it.
    const install = ["install", "--prefer-offline", "--no-audit", "--no-fund"];
    run(
      "npm",
      [...install, join(packs, tarball!), `@tensorflow/tfjs@${devVersion("@tensorflow/tfjs")}`],
      app,
    );
    run(
      "npm",
      [
        ...install,
        "--save-dev",
        `typescript@${devVersion("typescript")}`,
        `ts-morph@${devVersion("ts-morph")}`,
        `prettier@${devVersion("prettier")}`,
      ],
      app,
    );

    writeFileSync(
      join(app, "net.arch"),
      [
        'import "std/xception"',
        "",
        "# A small Xception whose separable convolutions run over `parts` segments.",
        "network small(classes = 10, parts = depthwise, mid = none, residual = true) {",
        "  input 32x32x3",
        "  conv_bn(16, stride = 2)",
        "  entry(32, first = true, parts = parts, mid = mid, residual = residual)",
        "  repeat 2 { middle(32, parts, mid, residual) }",
        "  gap -> dense classes softmax",
        "}",
        "",
      ].join("\n"),
    );
    run(
      "npx",
      ["--no-install", "archc", "compile", "net.arch", "--target", "ts", "-o", "src/net.ts"],
      app,
    );
    writeFileSync(
      join(app, "src", "main.ts"),
      [
        'import * as tf from "@tensorflow/tfjs";',
        'import { build } from "./net.js";',
        "",
        'const model = build({ parts: 8, mid: "relu", classes: 5 });',
        "const y = model.predict(tf.ones([2, 32, 32, 3])) as tf.Tensor;",
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
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify(
        {
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
        },
        null,
        2,
      ),
    );
    run("npx", ["--no-install", "tsc", "--strict", "-p", "."], app);
    const out = run(process.execPath, [join(app, "dist", "main.js")], app)
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const result = out[0] as { shape: number[]; sums: number[]; params: number; layers: string[] };
    expect(result.shape).toEqual([2, 5]);
    for (const s of result.sums) expect(s).toBeCloseTo(1, 4);
    // The names the compiler gives, so weights trained by archc load by name.
    expect(result.layers).toContain("entry/sep_unit/sepconv/spatial");
    expect(result.layers).toContain("middle_1/add");
    expect(result.params).toBeGreaterThan(0);
    expect((out[1] as { refused: string }).refused).toContain(
      "sepconv 'entry/sep_unit/sepconv': 16 input channels are not divisible by parts = 5",
    );
  }, 600_000);
});
