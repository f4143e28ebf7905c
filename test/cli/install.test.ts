import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../compiler/language/paths.js";

/**
 * What a user gets from `npm install archc`: the packed tarball installed into an empty project,
 * with no optional peer dependency. Checking, summarising and compiling to JSON must work there
 * in a light install; a command that needs a heavy backend says how to install it.
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

beforeAll(() => {
  if (!existsSync(join(packageRoot, "dist/cli/archc.js")))
    throw new Error("dist/ is missing: npm ci (or npm run build) builds it");
  dir = mkdtempSync(join(tmpdir(), "archc-install-"));
  const npm = (...args: string[]) =>
    execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  const tarball = execFileSync(
    "npm",
    ["pack", "--ignore-scripts", "--pack-destination", dir, "--loglevel=error"],
    { cwd: packageRoot, encoding: "utf8" },
  )
    .trim()
    .split("\n")
    .pop()!;
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "user", private: true }));
  npm("install", "--prefer-offline", join(dir, tarball));
  bin = join(dir, "node_modules/archc/bin/archc.js");
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
