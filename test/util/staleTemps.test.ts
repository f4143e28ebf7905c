import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { atomicWrite, createExclusive } from "../../compiler/util/files.js";

/**
 * A process killed with SIGKILL between creating atomicWrite's temporary file and renaming it
 * cannot remove it: the temporary's name says whose it is (pid and machine), and the next write
 * into that folder by another process removes those whose process is gone, and nothing else.
 */
const repo = join(import.meta.dirname, "..", "..");
const root = mkdtempSync(join(tmpdir(), "archc-stale-temps-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const temps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".tmp"));

/**
 * A child that starts atomicWrite(target) and stops inside it: the data's length blocks forever
 * once the temporary is open, so the parent kills it with the temporary in place.
 */
async function killedMidWrite(target: string): Promise<string> {
  const script = `
    import { atomicWrite } from "./compiler/util/files.ts";
    class Stuck extends Uint8Array {
      get length() { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); return 0; }
    }
    atomicWrite(${JSON.stringify(target)}, new Stuck(8));
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: repo,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const dir = join(target, "..");
  const deadline = Date.now() + 90_000;
  while (temps(dir).length === 0) {
    if (child.exitCode !== null) throw new Error(`the writer ended first: ${stderr}`);
    if (Date.now() > deadline) throw new Error("the writer made no temporary in 90 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  await exited;
  const [left] = temps(dir);
  return left!;
}

describe("temporaries of killed writers", () => {
  it("are named for their process, and removed by the next write beside them", async () => {
    const dir = mkdtempSync(join(root, "a-"));
    const target = join(dir, "results.json");
    const left = await killedMidWrite(target);
    expect(left).toMatch(/^\.results\.json\.\d+\./);
    expect(existsSync(target)).toBe(false);

    // Another process's live temporary and files that only look alike are left alone.
    const live = `.other.json.${process.pid}.${left.split(".")[4]}.x.y.tmp`;
    writeFileSync(join(dir, live), "");
    writeFileSync(join(dir, "notes.tmp"), "mine");

    atomicWrite(target, "{}");
    expect(readFileSync(target, "utf8")).toBe("{}");
    expect(temps(dir).sort()).toEqual([live, "notes.tmp"].sort());
  }, 120_000);

  it("a write to another file in the folder removes them too, as createExclusive does", async () => {
    const dir = mkdtempSync(join(root, "b-"));
    await killedMidWrite(join(dir, "checkpoint.bin"));
    expect(temps(dir)).toHaveLength(1);
    expect(createExclusive(join(dir, "lock"), "x")).toBe(true);
    expect(temps(dir)).toEqual([]);
  }, 120_000);
});
