import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as nodeModule from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cacheFolder, checksum, pack, runCached, unpack } from "../../compiler/cli/codeCache.js";
import { packageRoot } from "../../compiler/language/paths.js";

// V8's code cache by hand on Node 20 (compiler/cli/codeCache.ts): a cache is used only when it is
// this build's and whole; a stale, damaged or unwritable one costs compiling, never a wrong
// program or a word on the terminal.
const dir = mkdtempSync(join(tmpdir(), "archc-code-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bundle(name: string, build: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `// archc-build ${build}\n"use strict";\n${body}\n`);
  return file;
}

/** The only cache file in a folder, damaged by `change`. */
function damage(folder: string, change: (b: Buffer) => Buffer): void {
  const [name] = readdirSync(folder);
  const file = join(folder, name!);
  writeFileSync(file, change(readFileSync(file)));
}

describe("cache files", () => {
  const data = Buffer.from(Array.from({ length: 4099 }, (_, i) => (i * 7919) % 251));

  it("read back only whole, unchanged and of the same build", () => {
    const file = pack("b1", data);
    expect(unpack("b1", file)).toEqual(data);
    expect(unpack("b2", file)).toBeUndefined();
    expect(unpack("b1", file.subarray(0, file.length - 1))).toBeUndefined();
    expect(unpack("b1", Buffer.from("garbage"))).toBeUndefined();
    for (const at of [file.length - data.length, file.length - 2000, file.length - 1]) {
      const flipped = Buffer.from(file);
      flipped[at]! ^= 0x10;
      expect(unpack("b1", flipped), `byte ${at}`).toBeUndefined();
    }
  });

  it("the checksum sees a changed word, a moved word and the length", () => {
    const base = checksum(data);
    const swapped = Buffer.from(data);
    swapped.writeInt32LE(data.readInt32LE(8), 0);
    swapped.writeInt32LE(data.readInt32LE(0), 8);
    expect(checksum(swapped)).not.toBe(base);
    expect(checksum(data.subarray(0, 4098))).not.toBe(base);
    expect(checksum(Buffer.concat([data, Buffer.alloc(4)]))).not.toBe(base);
    // Unaligned views give the same answer as aligned ones.
    const shifted = Buffer.concat([Buffer.alloc(1), data]).subarray(1);
    expect(checksum(shifted)).toBe(base);
  });

  it("live where Node 22 would put them, or in the user's cache folder; off when asked", () => {
    expect(cacheFolder({ NODE_COMPILE_CACHE: "/x" })).toBe(join("/x", "archc"));
    expect(cacheFolder({ XDG_CACHE_HOME: "/y" })).toBe(join("/y", "archc"));
    expect(cacheFolder({ NODE_DISABLE_COMPILE_CACHE: "1", NODE_COMPILE_CACHE: "/x" })).toBe(
      undefined,
    );
  });
});

describe("runCached", () => {
  it("compiles, saves, then runs from the cache; a rebuild or damage means compiling again", () => {
    const folder = join(dir, "cache-a");
    const code = "exports.add = (a, b) => a + b; exports.url = typeof __filename;";
    const file = bundle("a.cjs", "0000aaaa-1", code);
    const first = runCached(file, "check", folder);
    expect(first.fromCache).toBe(false);
    expect((first.exports["add"] as (a: number, b: number) => number)(2, 3)).toBe(5);
    first.save();
    expect(readdirSync(folder)).toHaveLength(1);
    const second = runCached(file, "check", folder);
    expect(second.fromCache).toBe(true);
    expect(second.exports["url"]).toBe("string");

    damage(folder, (b) => {
      const c = Buffer.from(b);
      c[c.length >> 1]! ^= 0x40;
      return c;
    });
    const damaged = runCached(file, "check", folder);
    expect(damaged.fromCache).toBe(false);
    expect((damaged.exports["add"] as (a: number, b: number) => number)(1, 1)).toBe(2);
    damaged.save();
    expect(runCached(file, "check", folder).fromCache).toBe(true);

    damage(folder, (b) => b.subarray(0, 100));
    expect(runCached(file, "check", folder).fromCache).toBe(false);

    // Another build of the same length: V8 would take the old code for it; the build id refuses.
    const rebuilt = bundle("a.cjs", "0000aaaa-2", code.replace("a + b", "a - b"));
    const after = runCached(rebuilt, "check", folder);
    expect(after.fromCache).toBe(false);
    expect((after.exports["add"] as (a: number, b: number) => number)(2, 3)).toBe(-1);
  });

  it("keeps one cache per command, and runs without a folder it can write", () => {
    const folder = join(dir, "cache-b");
    const file = bundle("b.cjs", "0000bbbb-1", "exports.ok = true;");
    runCached(file, "check", folder).save();
    runCached(file, "summary", folder).save();
    runCached(file, "../../etc", folder).save();
    expect(readdirSync(folder).sort()).toEqual([
      expect.stringMatching(/-check\.v8cache$/),
      expect.stringMatching(/-other\.v8cache$/),
      expect.stringMatching(/-summary\.v8cache$/),
    ]);
    // A folder under a file cannot be made: nothing is written, nothing is thrown.
    const blocked = join(file, "cache");
    const r = runCached(file, "check", blocked);
    expect(r.exports["ok"]).toBe(true);
    expect(() => r.save()).not.toThrow();
    expect(runCached(file, "check", undefined).exports["ok"]).toBe(true);
  });
});

// The installed command on this Node: the same output with no cache, a fresh one, a damaged
// one, another build's and an unwritable folder, and nothing on standard error.
describe("bin/archc.cjs with its code cache", () => {
  const bin = join(packageRoot, "bin", "archc.cjs");
  const spec = join(packageRoot, "specs", "xception.arch");
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, [bin, "check", spec], {
      encoding: "utf8",
      env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: "", ...env },
    });

  it("checks a spec alike whatever state its cache is in", () => {
    if (!existsSync(join(packageRoot, "dist/cli/archc.cjs")))
      throw new Error("dist/ is missing: npm ci (or npm run build) builds it");
    const cache = join(dir, "cli-cache");
    const expected = run({ NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(expected.status).toBe(0);
    expect(expected.stdout).toContain("ok");
    const same = (r: ReturnType<typeof run>) => {
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(expected.stdout);
      expect(r.stderr).toBe("");
    };
    same(run({ NODE_COMPILE_CACHE: cache }));
    // Node 22.1+ keeps the cache itself (bin/archc.cjs turns it on); the rest is Node 20's.
    if (typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === "function")
      return;
    const folder = join(cache, "archc");
    expect(readdirSync(folder)).toHaveLength(1);
    same(run({ NODE_COMPILE_CACHE: cache }));
    damage(folder, (b) => {
      const c = Buffer.from(b);
      for (let i = 200; i < c.length; i += 997) c[i]! ^= 0xff;
      return c;
    });
    same(run({ NODE_COMPILE_CACHE: cache }));
    damage(folder, (b) =>
      Buffer.from(b.toString("latin1").replace(/^(.*\n)\S+/, "$1other-build"), "latin1"),
    );
    same(run({ NODE_COMPILE_CACHE: cache }));
    damage(folder, () => Buffer.from("not a cache"));
    same(run({ NODE_COMPILE_CACHE: cache }));
    same(run({ NODE_COMPILE_CACHE: join(spec, "under-a-file") }));
  }, 60_000);
});

// `archc --version` answers from bin/archc.cjs without the bundle (issue 26.5): the same version
// as the whole CLI's and package.json's, and any other use of the word goes to the CLI.
describe("bin/archc.cjs --version", () => {
  const bin = join(packageRoot, "bin", "archc.cjs");
  const version = (
    JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], {
      encoding: "utf8",
      env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: "1" },
    });

  it("prints package.json's version, as the CLI itself does", async () => {
    for (const flag of ["--version", "-V"]) {
      const r = run(flag);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
      expect(r.stderr).toBe("");
    }
    const { runCli } = await import("../helpers.js");
    expect((await runCli("--version")).stdout).toBe(`${version}\n`);
  });

  it("leaves other words to the CLI", () => {
    const unknown = run("--versions");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown option");
  }, 60_000);
});
