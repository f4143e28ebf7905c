import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runPaths } from "../../../compiler/lab/run/paths.js";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const tiny = join(repo, "examples", "tiny.arch");

describe("signals in a real process", () => {
  it("a second Ctrl-C quits at once with 130; the lock it leaves is taken over by the next run", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "archc-signals-")), "r");
    const args = [
      "train",
      tiny,
      "--data",
      "synthetic:2000",
      "--epochs",
      "5",
      "--batch",
      "8",
      "--backend",
      "wasm",
      "--out",
      out,
      "--quiet",
    ];
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "-e",
        `const { main } = await import("./compiler/cli/main.ts"); process.exitCode = await main(${JSON.stringify(args)});`,
      ],
      { cwd: repo, env: { ...process.env, ARCHC_GROUPED_STRATEGY: "split" }, stdio: "pipe" },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    // Wait until training has its folder (and so its signal handlers), then press Ctrl-C twice.
    while (!existsSync(runPaths(out).manifest)) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/Ctrl-C again to quit now/);
    // It died holding the folder's lock; the pid is gone, so the lock is stale.
    expect(JSON.parse(readFileSync(runPaths(out).lock, "utf8")).pid).toBe(child.pid);
    const next = await runCli(
      ...args.map((a) => (a === "synthetic:2000" ? "synthetic:16" : a === "5" ? "1" : a)),
      "--fresh",
    );
    expect(next.stderr).toBe("");
    expect(next.code).toBe(0);
  });
});
