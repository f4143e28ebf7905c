import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";
import { inCI, needPython, oracleTimeout, pythonProblem, repo, runPython } from "./python.js";

/**
 * The family's networks that torchvision lacks (MobileNet v1, ShuffleNet v1) against their
 * papers' layouts written in PyTorch by bench/family_reference.py: the spec's generated PyTorch
 * module takes the reference model's weights tensor by tensor in registration order, and both
 * give the same log-probabilities on the same random input. Counts alone would not see a channel
 * shuffle in the wrong place, a missing one or padding on the wrong side; this does (the negative
 * controls). torchvision's networks have their own parity test (torchvision.test.ts).
 */
const script = join(repo, "bench", "family_reference.py");

const problem = pythonProblem("torch, torchvision");
if (problem && !inCI) console.log(`family layouts against PyTorch skipped: ${problem}`);

const dir = mkdtempSync(join(tmpdir(), "archc-family-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Compared {
  readonly diff: number;
  readonly spread: number;
  readonly tensors: number;
}

/**
 * The spec (under specs/, or a path) compiled to PyTorch at `size` and 10 classes, vs `ref`: one
 * oracle run, ended by `signal` (the test's) when the test runs out of time.
 */
async function compare(
  signal: AbortSignal,
  file: string,
  ref: string,
  size: number,
  sets: string[] = [],
): Promise<Compared> {
  const module = join(dir, `${ref}_${size}_${file.length}.py`);
  const r = await runCli(
    "compile",
    file.startsWith("/") ? file : join(repo, "specs", file),
    "--target",
    "torch",
    "--set",
    `size=${size}`,
    "--set",
    "classes=10",
    ...sets.flatMap((s) => ["--set", s]),
    "-o",
    module,
  );
  expect(r.code, r.stderr).toBe(0);
  const p = await runPython([script, "--compare", module, ref, String(size), "10"], signal);
  expect(p.status, p.stderr).toBe(0);
  return JSON.parse(p.stdout) as Compared;
}

// float32 rounding puts the two about 1e-6 of the log-probabilities' spread apart; a layout that
// differs anywhere, 1e-3 or more.
const same = (c: Compared) => c.diff / c.spread;

describe.skipIf(problem !== undefined && !inCI)(
  "the family against its papers' layouts in PyTorch",
  () => {
    it(
      "ShuffleNet v1 at groups 1, 3 and 8 computes what the paper's layout does",
      async ({ signal }) => {
        needPython(problem, "python3-torch python3-torchvision");
        for (const g of [1, 3, 8]) {
          const c = await compare(signal, "shufflenet_v1.arch", `shufflenet_v1_g${g}`, 64, [
            `groups=${g}`,
          ]);
          expect(same(c), `groups=${g}: ${JSON.stringify(c)}`).toBeLessThan(1e-5);
        }
        // The negative control: the same units without their channel shuffle.
        const unit = readFileSync(join(repo, "stdlib", "shufflenet.arch"), "utf8");
        const unshuffled = unit.replace("  if groups > 1 { shuffle groups }\n", "");
        expect(unshuffled).not.toBe(unit);
        writeFileSync(join(dir, "unshuffled.arch"), unshuffled);
        const spec = readFileSync(join(repo, "specs", "shufflenet_v1.arch"), "utf8");
        writeFileSync(
          join(dir, "shufflenet_v1.arch"),
          spec.replace('import "std/shufflenet"', 'import "./unshuffled"'),
        );
        const c = await compare(signal, join(dir, "shufflenet_v1.arch"), "shufflenet_v1_g3", 64, [
          "groups=3",
        ]);
        expect(same(c), JSON.stringify(c)).toBeGreaterThan(1e-3);
      },
      oracleTimeout(4),
    );

    it(
      "MobileNet v1 (TensorFlow's same) computes what the paper's layout does where same pads symmetrically, at odd sizes",
      async ({ signal }) => {
        needPython(problem, "python3-torch python3-torchvision");
        const odd = await compare(signal, "mobilenet_v1.arch", "mobilenet_v1", 65);
        expect(same(odd), JSON.stringify(odd)).toBeLessThan(1e-5);
        // The negative control: at an even size `same` pads each stride-2 layer at the bottom and
        // right only, where the reference pads one on every side.
        const even = await compare(signal, "mobilenet_v1.arch", "mobilenet_v1", 64);
        expect(same(even), JSON.stringify(even)).toBeGreaterThan(1e-4);
      },
      oracleTimeout(2),
    );
  },
);
