import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers.js";

/**
 * Bad input across the command line, as a new user types it: missing files, folders where files
 * belong and files where folders do, empty and binary files, out-of-range numbers, unknown
 * choices. Each case is a diagnostic (exit 1) or a usage error (exit 2) that says what is wrong;
 * never a stack trace, an internal error (exit 3), or a success that did something else.
 */
const repo = join(import.meta.dirname, "..", "..");
const tiny = join(repo, "examples", "tiny.arch");
const dir = mkdtempSync(join(tmpdir(), "archc-bad-input-"));
const at = (name: string) => join(dir, name);
writeFileSync(at("empty.arch"), "");
writeFileSync(at("comments.arch"), "# a spec to be written\n\n# nothing yet\n");
writeFileSync(
  at("binary.arch"),
  Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256)),
);
mkdirSync(at("folder.arch"));
mkdirSync(at("empty-run"));

type Case = readonly [argv: readonly string[], code: 1 | 2, says: RegExp];
const sweep = [tiny, "--sweep", "parts=1,2", "--out", at("sweep")];
const cases: readonly Case[] = [
  [["check", at("nope.arch")], 1, /nope\.arch:1:1: error\[E0100\]/],
  [["check", at("folder.arch")], 1, /it is a folder/],
  [["check", at("empty.arch")], 1, /empty\.arch:1:1: error\[E0600\]: .*declares nothing/],
  [["check", at("comments.arch")], 1, /comments\.arch declares nothing/],
  [["summary", at("binary.arch")], 1, /binary\.arch:1:\d+: error\[E0101\]/],
  [["summary", at("empty.arch")], 1, /defines no network/],
  [["summary", tiny, "--max-layers", "99999999999999999999"], 2, /--max-layers/],
  [["summary", tiny, "--set", "parts=99999999999999999999999"], 1, /too large/],
  [["compile", tiny, "-o", at("folder.arch")], 2, /is a folder; name a file/],
  [["compile", tiny, "-o", "/proc/x.json"], 2, /cannot write in \/proc/],
  [["compile", tiny, "--target", "zzz"], 2, /Allowed choices/],
  [["compile", tiny, "-o", at("m.onnx")], 2, /m\.onnx: its ending says onnx, .*add --target onnx/],
  [["compile", tiny, "-t", "torch", "-o", at("m.json")], 2, /--target is torch.*add --target json/],
  [["graph", tiny, "-o", at("g.png")], 2, /g\.png: its ending says png, .*\.svg/],
  [["graph", tiny, "-o", at("g.dot")], 2, /--format is svg.*add --format dot/],
  [
    ["compile", tiny, "-t", "onnx", "-o", at("m.onnx"), "--weights", at("nope")],
    1,
    /does not exist/,
  ],
  [["compile", tiny, "-t", "onnx", "-o", at("m.onnx"), "--seed", "1e999"], 2, /--seed/],
  [["train", tiny, "--epochs", "1e30", "--out", at("r")], 2, /--epochs/],
  [["train", tiny, "--batch", "0", "--out", at("r")], 2, /--batch/],
  [["train", tiny, "--engine", "jax"], 2, /Allowed choices are tfjs, torch/],
  [
    // The cap is said before anything runs (here Python is missing, so nothing runs at all).
    [
      "train",
      tiny,
      "--engine",
      "torch",
      "--threads",
      "100000",
      "--python",
      at("no-python"),
      "--out",
      at("r"),
    ],
    1,
    /warning: --threads 100000 is more than this machine's \d+ cores; the torch engine uses \d+ per process/,
  ],
  [["train", tiny, "--out", tiny, "--data", "synthetic:8"], 2, /is a file; a folder is needed/],
  [["train", tiny, "--val-split", "1", "--out", at("r")], 2, /--val-split/],
  [
    ["train", tiny, "--resume", "--out", at("never-trained"), "--data", "synthetic:8"],
    1,
    /never-trained holds no run to resume: .*without --resume/,
  ],
  [
    ["train", tiny, "--resume", "--out", at("empty-run"), "--data", "synthetic:8"],
    1,
    /empty-run holds no run to resume/,
  ],
  [["train", tiny, "--data", "synthetic:-5", "--out", at("r")], 1, /synthetic:N needs N/],
  [
    ["train", tiny, "--data", "synthetic:99999999999999999", "--out", at("r")],
    1,
    /synthetic:N .*at most/,
  ],
  [["train", tiny, "--data", at("empty.arch"), "--out", at("r")], 1, /is not a folder/],
  [["sweep", ...sweep, "--seeds", "0"], 2, /--seeds must be a positive integer/],
  [["sweep", ...sweep, "--shard", "3/2"], 2, /--shard takes I\/N with 0 <= I < N/],
  [["sweep", ...sweep, "--engine", "jax"], 2, /Allowed choices/],
  [["sweep", ...sweep, "--plot", at("plot.txt")], 2, /--plot .*\.svg or .*\.png/],
  [["sweep", tiny, "--sweep", "zzz=1,2"], 1, /no parameter 'zzz'/],
  [["sweep", at("binary.arch"), "--sweep", "parts=1"], 1, /E0101/],
  [["search", ...sweep, "--samples", "-1"], 2, /--samples must be a positive integer/],
  [["search", ...sweep, "--where", "macs <= "], 1, /E0606/],
  [["report", at("nope")], 1, /does not exist/],
  [["report", at("folder.arch")], 1, /results\.jsonl does not exist/],
  [["report", at("folder.arch"), "--plot", at("r.gif")], 2, /--plot .*\.svg or .*\.png/],
  [["report", "/dev/null"], 1, /is a device/],
  [["report", tiny], 1, /tiny\.arch is not a results file: .*sweep/],
  [["eval", at("nope")], 1, /no manifest\.json/],
  [["eval", tiny], 1, /no manifest\.json/],
  [["export", at("folder.arch"), "-o", at("x.onnx")], 1, /no manifest\.json/],
  [["data"], 2, /Usage: archc data/],
  [["data", "zzz"], 2, /unknown command/],
  [["data", "info", tiny], 1, /tiny\.arch.*not a folder/],
  [["data", "info", "/dev/null"], 1, /not a folder/],
  [["data", "info", at("folder.arch")], 1, /index\.json: no such file/],
  [["data", "pack", at("binary.arch"), "-o", at("d")], 1, /is not a folder/],
  [["data", "pack", "synthetic:8", "-o", at("d"), "--shard-size", "1e30"], 2, /--shard-size/],
  [["fmt", at("folder.arch")], 1, /it is a folder/],
  [["explain", "E99999"], 2, /no diagnostic code/],
  [["playground", "--port", "99999"], 2, /at most 65535/],
];

describe("bad input on every command", () => {
  it.each(
    cases.map((c) => ({
      name: c[0]
        .join(" ")
        .replaceAll(dir, ".")
        .replaceAll(repo + "/", ""),
      c,
    })),
  )("$name", async ({ c: [argv, code, says] }) => {
    const r = await runCli(...argv);
    expect(
      { code: r.code, internal: /internal error|\n\s+at .*:\d+:\d+/.test(r.stderr) },
      r.stderr,
    ).toEqual({
      code,
      internal: false,
    });
    expect(r.stderr).toMatch(says);
  });
});

describe("what is not bad input stays quiet", () => {
  it("a file of blocks or train configs alone checks clean, as the standard library does", async () => {
    writeFileSync(at("blocks.arch"), "block unit(f) {\n  conv 3x3 f -> bn -> relu\n}\n");
    writeFileSync(at("imports.arch"), 'import "std/xception"\n');
    writeFileSync(at("train.arch"), "train quick {\n  optimizer sgd(lr = 0.1)\n}\n");
    const stdlib = join(repo, "stdlib", "xception.arch");
    for (const f of [at("blocks.arch"), at("imports.arch"), at("train.arch"), stdlib]) {
      const r = await runCli("check", f);
      expect({ code: r.code, stderr: r.stderr }, f).toEqual({ code: 0, stderr: "" });
    }
  });

  it("--resume with nothing there leaves no folder behind", async () => {
    await runCli("train", tiny, "--resume", "--out", at("never"), "--data", "synthetic:8");
    expect(existsSync(at("never"))).toBe(false);
  });
});

describe("values beyond what runs are said, not silently changed", () => {
  it("--threads above the wasm backend's pool warns with the count used", async () => {
    const r = await runCli("run", tiny, "--backend", "wasm", "--threads", "100000", "--runs", "1");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /archc run: warning: --threads 100000 is more than the wasm backend runs \(at most 8\); using \d+/,
    );
  });
});
