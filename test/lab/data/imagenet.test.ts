import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";
import { inCI, needPython, python, pythonProblem } from "../../backends/torch/python.js";

/**
 * The paper's ImageNet experiment end to end (issue 24.6), shrunk: an ImageNet-layout folder of
 * generated JPEGs (train/ and val/ of synset folders) packed to shards, then table1_imagenet
 * (Xception and Inception V3 with their train configs) trained from the pack by both engines,
 * the torch engine on 2 processes. Inputs 75x75 (Inception V3's smallest), 4 classes, 2 steps.
 */
const problem = pythonProblem("torch, PIL");
const spec = join(import.meta.dirname, "..", "..", "..", "specs", "experiments.arch");

const root = mkdtempSync(join(tmpdir(), "archc-imagenet-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const common = [
  "train",
  spec,
  "--experiment",
  "table1_imagenet",
  "--set",
  "size=75",
  "--set",
  "classes=4",
  "--batch",
  "2",
  "--steps",
  "1",
  "--limit",
  "4",
  "--val-limit",
  "2",
  "--quiet",
];

/** The epochs each model of the experiment recorded under `out`. */
function trained(out: string): Record<string, number> {
  const runs: Record<string, number> = {};
  for (const d of readdirSync(out))
    runs[d] = readFileSync(join(out, d, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n").length;
  return runs;
}

describe("table1_imagenet from packed ImageNet-layout shards", () => {
  const pack = join(root, "shards");
  beforeAll(async () => {
    const images = join(root, "imagenet");
    for (const [split, n] of [
      ["train", 4],
      ["val", 1],
    ] as const)
      for (let c = 0; c < 4; c++) {
        const dir = join(images, split, `n0000000${c}`);
        mkdirSync(dir, { recursive: true });
        for (let i = 0; i < n; i++) {
          const px = Buffer.alloc(40 * 30 * 3).map((_, j) => (j * 7 + c * 60 + i * 13) % 256);
          await sharp(px, { raw: { width: 40, height: 30, channels: 3 } })
            .jpeg()
            .toFile(join(dir, `n0000000${c}_${i}.JPEG`));
        }
      }
    const r = await runCli("data", "pack", images, "-o", pack, "--quiet");
    expect(r.code, r.stderr).toBe(0);
  });

  it("the embedded trainer trains both models from the shards", async () => {
    const out = join(root, "tfjs");
    const r = await runCli(...common, "--data", pack, "--out", out);
    expect(r.code, r.stderr).toBe(0);
    expect(trained(out)).toEqual({ xception: 1, "inception_v3_dropout_=_0_5": 1 });
  }, 900_000);

  it.skipIf(problem !== undefined && !inCI)(
    "the torch engine on 2 processes trains both models from the shards",
    async () => {
      needPython(problem, "python3-torch python3-pil");
      const out = join(root, "torch");
      const r = await runCli(
        ...common,
        "--data",
        pack,
        "--out",
        out,
        "--engine",
        "torch",
        "--nproc",
        "2",
        "--python",
        python,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(trained(out)).toEqual({ xception: 1, "inception_v3_dropout_=_0_5": 1 });
    },
    900_000,
  );
});
