import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers.js";

/**
 * What a run, sweep or output folder may hold where archc expects a file: a FIFO, a link to
 * /dev/zero, a folder. Each case must end with exit 1 or 2 and a sentence that names the file,
 * never a hang, a spin or an internal error (exit 3). The commands run in a child process that is
 * killed on a deadline, so a regression fails here instead of hanging the suite.
 */
const repo = join(import.meta.dirname, "..", "..", "..");
const spec = `network small(classes = 4, parts = 2) {
  input 8x8x3
  conv 3x3/2 8 -> bn -> relu
  sepconv 3x3 8 parts=parts -> bn -> relu
  gap -> dense classes softmax
}
`;
const trainArgs = ["--data", "synthetic:24", "--epochs", "1", "--batch", "8", "--quiet"];

type Special = "fifo" | "devzero" | "folder";
const plant = (path: string, kind: Special) => {
  rmSync(path, { recursive: true, force: true });
  if (kind === "fifo") expect(spawnSync("mkfifo", [path]).status).toBe(0);
  else if (kind === "devzero") symlinkSync("/dev/zero", path);
  else mkdirSync(path);
};

interface Case {
  name: string;
  argv: string[];
  /** What the message must name. */
  names: string;
}

interface Outcome {
  name: string;
  code?: number;
  stderr?: string;
  started?: boolean;
}

/**
 * Runs the cases in a child process; a case that shows no end within `caseMs` is a hang: the child
 * is killed and the cases after it go on in a new one.
 */
async function runCases(dir: string, cases: Case[], caseMs = 30_000): Promise<Outcome[]> {
  const ended = new Map<string, Outcome>();
  let rest = cases;
  while (rest.length) {
    const file = join(dir, "cases.json");
    writeFileSync(file, JSON.stringify(rest.map(({ name, argv }) => ({ name, argv }))));
    const child = spawn(process.execPath, ["--import", "tsx", "test/lab/run/cliCases.ts", file], {
      cwd: repo,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let started: string | undefined;
    let buffer = "";
    // SIGKILL: a spinning mkdir ignores SIGTERM.
    let timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.stdout.on("data", (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const l of lines.filter((x) => x.trim())) {
        const o = JSON.parse(l) as Outcome;
        if (o.started) started = o.name;
        else ended.set(o.name, o);
      }
      clearTimeout(timer);
      timer = setTimeout(() => child.kill("SIGKILL"), caseMs);
    });
    await new Promise((resolve) => child.on("exit", resolve));
    clearTimeout(timer);
    const hung = rest.find((c) => !ended.has(c.name) && c.name === started);
    if (hung) ended.set(hung.name, { name: hung.name, stderr: "(hung: killed)" });
    else if (!ended.has(rest[0]!.name))
      ended.set(rest[0]!.name, {
        name: rest[0]!.name,
        stderr: "(the child process did not start)",
      });
    rest = rest.filter((c) => !ended.has(c.name));
  }
  return cases.map((c) => ended.get(c.name)!);
}

function expectLocated(outcomes: Outcome[], cases: Case[]) {
  const bad = outcomes
    .map((o, i) => ({ o, c: cases[i]! }))
    .filter(
      ({ o, c }) =>
        !(o.code === 1 || o.code === 2) ||
        !o.stderr?.includes(c.names) ||
        /internal error/.test(o.stderr),
    )
    .map(({ o }) => `${o.name}: exit ${o.code ?? "none"}: ${o.stderr?.trim()}`);
  expect(bad).toEqual([]);
}

let root: string;
let file: string;
let trained: string;
let swept: string;
/** Every case, by group, run in one child process (one start-up) before the tests look. */
const groups = new Map<string, Case[]>();
const outcomes = new Map<string, Outcome>();

function trainCases(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, kind: Special, mode: string) => {
    const dir = join(root, `train-${name}-${kind}-${mode}`);
    cpSync(trained, dir, { recursive: true });
    const path = join(dir, name);
    plant(path, kind);
    cases.push({
      name: `train ${mode} with ${name} a ${kind}`,
      argv: ["train", file, ...trainArgs, mode, "--out", dir],
      names: path,
    });
  };
  for (const f of ["manifest.json", "checkpoint.bin", "lock"])
    for (const k of ["fifo", "devzero"] as const) add(f, k, "--resume");
  for (const f of ["checkpoint.bin", "best.bin", "metrics.jsonl", "lock"]) {
    add(f, "folder", "--resume");
    add(f, "folder", "--fresh");
  }
  return cases;
}

function sweepCases(): Case[] {
  const cases: Case[] = [];
  for (const f of ["results.jsonl", "lock"])
    for (const k of ["fifo", "devzero", "folder"] as const) {
      const dir = join(root, `sweep-${f}-${k}`);
      cpSync(swept, dir, { recursive: true });
      plant(join(dir, f), k);
      cases.push({
        name: `sweep with ${f} a ${k}`,
        argv: ["sweep", file, "--sweep", "parts=1,2", "--quiet", "--out", dir],
        names: join(dir, f),
      });
      // --merge and report read results.jsonl, not the lock.
      if (f === "results.jsonl")
        cases.push(
          {
            name: `sweep --merge with ${f} a ${k}`,
            argv: ["sweep", file, "--sweep", "parts=1,2", "--quiet", "--merge", dir],
            names: join(dir, f),
          },
          { name: `report with ${f} a ${k}`, argv: ["report", dir], names: join(dir, f) },
        );
    }
  return cases;
}

function exportCases(): Case[] {
  const cases: Case[] = [];
  for (const f of ["manifest.json", "checkpoint.bin"])
    for (const k of ["fifo", "devzero", "folder"] as const) {
      const dir = join(root, `export-${f}-${k}`);
      cpSync(trained, dir, { recursive: true });
      plant(join(dir, f), k);
      cases.push({
        name: `export with ${f} a ${k}`,
        argv: ["export", dir, "-o", join(root, `export-${f}-${k}.onnx`)],
        names: join(dir, f),
      });
    }
  return cases;
}

/** `compile --weights DIR` reads a tfjs model folder or a run folder. */
function weightsCases(tfjsDir: string): Case[] {
  const cases: Case[] = [];
  const add = (from: string, name: string, kind: Special) => {
    const dir = join(root, `weights-${name}-${kind}`);
    cpSync(from, dir, { recursive: true });
    plant(join(dir, name), kind);
    cases.push({
      name: `compile --weights with ${name} a ${kind}`,
      argv: ["compile", file, "--target", "onnx", "--weights", dir, "-o", `${dir}.onnx`],
      names: join(dir, name),
    });
  };
  for (const k of ["fifo", "devzero", "folder"] as const) {
    add(tfjsDir, "model.json", k);
    add(tfjsDir, "weights.bin", k);
    add(trained, "checkpoint.bin", k);
  }
  return cases;
}

function outCases(): Case[] {
  const aFile = join(root, "a-file");
  writeFileSync(aFile, "x");
  const cases: Case[] = [];
  for (const out of ["/proc/archc-newdir", aFile]) {
    cases.push({
      name: `train --out ${out}`,
      argv: ["train", file, ...trainArgs, "--out", out],
      names: out,
    });
    cases.push({
      name: `sweep --out ${out}`,
      argv: ["sweep", file, "--sweep", "parts=1,2", "--quiet", "--out", out],
      names: out,
    });
    cases.push({
      name: `export -o ${out}`,
      argv: ["export", trained, "--format", "tfjs", "-o", out],
      names: out,
    });
  }
  return cases;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "archc-special-"));
  file = join(root, "small.arch");
  writeFileSync(file, spec);
  trained = join(root, "trained");
  const t = await runCli("train", file, ...trainArgs, "--out", trained);
  expect(t.code, t.stderr).toBe(0);
  swept = join(root, "swept");
  const s = await runCli("sweep", file, "--sweep", "parts=1,2", "--quiet", "--out", swept);
  expect(s.code, s.stderr).toBe(0);
  groups.set("train", trainCases());
  groups.set("sweep", sweepCases());
  groups.set("export", exportCases());
  groups.set("out", outCases());
  const tfjsDir = join(root, "tfjs");
  const x = await runCli("export", trained, "--format", "tfjs", "-o", tfjsDir);
  expect(x.code, x.stderr).toBe(0);
  groups.set("weights", weightsCases(tfjsDir));
  const all = [...groups.values()].flat();
  for (const o of await runCases(root, all)) outcomes.set(o.name, o);
}, 900_000);

const check = (group: string) => {
  const cases = groups.get(group)!;
  expectLocated(
    cases.map((c) => outcomes.get(c.name)!),
    cases,
  );
};

describe("special files in run folders", () => {
  it("train: a FIFO, a /dev/zero link or a folder in place of a run's files is a located error", () =>
    check("train"));
  it("sweep: results.jsonl or the lock as a FIFO, a /dev/zero link or a folder is a located error", () =>
    check("sweep"));
  it("export: a run whose manifest or weights are special files is a located error", () =>
    check("export"));
  it("compile --weights: a model or run folder whose files are special is a located error", () =>
    check("weights"));
});

describe("folder-taking flags are checked like -o", () => {
  it("--out under /proc or naming a file is a usage error naming the path, not a spin or EEXIST", () =>
    check("out"));
});
