import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  acquireLock,
  archcVersion,
  CheckpointError,
  compareIdentity,
  identityHash,
  LockError,
  openRun,
  closeRun,
  readFramed,
  releaseLock,
  RunError,
  runPaths,
  writeFramed,
} from "../../../compiler/lab/run/index.js";

const tmp = () => mkdtempSync(join(tmpdir(), "archc-run-"));

const id = {
  archc: "0.1.0",
  network: "tiny",
  args: { parts: 2, mid: "relu" },
  train: { epochs: 2, optimizer: { kind: "sgd", lr: 0.1 } },
  seed: 0,
};

describe("run identity", () => {
  it("equal identities hash equally whatever the key order; differences are named", () => {
    const reordered = {
      seed: 0,
      train: { optimizer: { lr: 0.1, kind: "sgd" }, epochs: 2 },
      args: { mid: "relu", parts: 2 },
      network: "tiny",
      archc: "0.1.0",
    };
    expect(identityHash(reordered)).toBe(identityHash(id));
    const other = {
      ...id,
      args: { parts: 4, mid: "relu" },
      train: { epochs: 5, optimizer: { kind: "sgd", lr: 0.01 } },
    };
    expect(compareIdentity(other, id).map((d) => d.path)).toEqual([
      "args.parts",
      "train.epochs",
      "train.optimizer.lr",
    ]);
    expect(compareIdentity(other, id, ["train.epochs"]).map((d) => d.path)).toEqual([
      "args.parts",
      "train.optimizer.lr",
    ]);
    expect(archcVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("locks", () => {
  it("a folder locked by a live process is refused, naming it; a dead one's lock is taken over", () => {
    const dir = tmp();
    const lock = acquireLock(dir, "sweep");
    expect(() => acquireLock(dir, "sweep")).toThrow(
      new RegExp(`in use by process ${process.pid} \\(archc sweep`),
    );
    releaseLock(lock);
    // A process that has exited: its pid is free (and not reused this quickly).
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    const pid = Number(dead.stdout.toString());
    writeFileSync(runPaths(dir).lock, JSON.stringify({ pid, host: hostname(), command: "train" }));
    const taken = acquireLock(dir, "train");
    expect(JSON.parse(readFileSync(runPaths(dir).lock, "utf8")).pid).toBe(process.pid);
    releaseLock(taken);
  });
});

describe("openRun", () => {
  it("asks for --resume or --fresh, refuses another identity naming the fields, resumes the same", () => {
    const dir = tmp();
    const first = openRun(dir, id, { mode: "new", command: "train" });
    expect(first.resume).toBe(false);
    closeRun(first);
    writeFileSync(runPaths(dir).metrics, "{}\n");
    expect(() => openRun(dir, id, { mode: "new", command: "train" })).toThrow(
      /--resume .* --fresh/,
    );
    const changed = { ...id, args: { parts: 4, mid: "relu" } };
    expect(() => openRun(dir, changed, { mode: "resume", command: "train" })).toThrow(RunError);
    expect(() => openRun(dir, changed, { mode: "resume", command: "train" })).toThrow(
      /args\.parts: 4 now, 2 in the run/,
    );
    // Training for longer is a continuation, not another run.
    const longer = openRun(
      dir,
      { ...id, train: { ...id.train, epochs: 9 } },
      { mode: "resume", command: "train" },
    );
    expect(longer.resume).toBe(true);
    closeRun(longer);
    const auto = openRun(dir, changed, { mode: "auto", command: "sweep" });
    expect(auto.resume).toBe(false);
    closeRun(auto);
  });
});

describe("framed files", () => {
  it("a flipped byte, a cut file and a foreign file are errors naming the file", () => {
    const dir = tmp();
    const p = join(dir, "c.bin");
    writeFramed(p, { format: "x" }, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(readFramed(p).header["format"]).toBe("x");
    const good = readFileSync(p);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 2]! ^= 0xff;
    writeFileSync(p, flipped);
    expect(() => readFramed(p)).toThrow(
      new CheckpointError(`${p} is damaged: its data does not match the checksum written with it`),
    );
    writeFileSync(p, good.subarray(0, good.length - 3));
    expect(() => readFramed(p)).toThrow(/cut short/);
    writeFileSync(p, "PK\x03\x04 a zip file");
    expect(() => readFramed(p)).toThrow(/is not an archc checkpoint/);
    // The format before this one kept its header outside the checksum: refused by name.
    writeFileSync(p, Buffer.concat([Buffer.from("ARCHCKPT"), good.subarray(8)]));
    expect(() => readFramed(p)).toThrow(
      /written by an older archc, whose checkpoints do not checksum their header/,
    );
  });
});
