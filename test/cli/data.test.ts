import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { idxBytes } from "../idx.js";
import { runCli } from "../helpers.js";

const root = mkdtempSync(join(tmpdir(), "archc-data-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder of IDX files: n images of 4x4 with labels i % 3. */
function idxFolder(n: number): string {
  const dir = join(root, `idx-${n}`);
  mkdirSync(dir);
  const write = (name: string, dims: number[], data: Uint8Array) => {
    writeFileSync(join(dir, name), idxBytes(dims, data));
  };
  write(
    "train-images-idx3-ubyte",
    [n, 4, 4],
    new Uint8Array(16 * n).map((_, j) => j % 251),
  );
  write(
    "train-labels-idx1-ubyte",
    [n],
    new Uint8Array(n).map((_, i) => i % 3),
  );
  return dir;
}

describe("archc data pack / info", () => {
  it("packs, describes and verifies; --json prints the index", async () => {
    const out = join(root, "shards");
    const r = await runCli("data", "pack", idxFolder(60), "-o", out, "--shard-size", "8KiB");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/train: 60 samples in \d+ shards/);
    const info = await runCli("data", "info", out, "--verify");
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/3 classes/);
    expect(info.stdout).toMatch(/sha256 of all \d+ shards as recorded/);
    const json = await runCli("data", "info", out, "--json");
    expect(JSON.parse(json.stdout).splits.train.count).toBe(60);
  });

  it("a damaged shard is exit 1 naming it; bad flags and targets are usage errors", async () => {
    const out = join(root, "damaged");
    expect(
      (await runCli("data", "pack", idxFolder(40), "-o", out, "--shard-size", "8KiB")).code,
    ).toBe(0);
    const index = JSON.parse(readFileSync(join(out, "index.json"), "utf8"));
    const shard = join(out, index.splits.train.shards[0].file);
    const bytes = readFileSync(shard);
    bytes[1000] = bytes[1000]! ^ 1;
    writeFileSync(shard, bytes);
    expect((await runCli("data", "info", out)).code).toBe(0); // sizes only
    const v = await runCli("data", "info", out, "--verify");
    expect([v.code, v.stderr]).toEqual([
      1,
      `archc data info: ${shard}: its sha256 differs from the index's: the shard is damaged\n`,
    ]);
    const missing = await runCli("data", "info", join(root, "nowhere"));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/index\.json: no such file/);

    const src = idxFolder(10);
    expect((await runCli("data", "pack", src)).code).toBe(2);
    const size = await runCli("data", "pack", src, "-o", join(root, "x"), "--shard-size", "lots");
    expect([size.code, size.stderr]).toEqual([
      2,
      expect.stringMatching(/--shard-size must be a size/),
    ]);
    const file = join(root, "a-file");
    writeFileSync(file, "");
    expect((await runCli("data", "pack", src, "-o", file)).code).toBe(2);
    const again = await runCli("data", "pack", src, "-o", out);
    expect([again.code, again.stderr]).toEqual([1, expect.stringMatching(/is not empty/)]);
    const nothing = await runCli("data", "pack", join(root, "no-such"), "-o", join(root, "y"));
    expect([nothing.code, nothing.stderr]).toEqual([1, expect.stringMatching(/no such folder/)]);
  });
});
