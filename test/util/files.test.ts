import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  appendRegular,
  atomicWrite,
  createExclusive,
  expectFileOrNothing,
  FileProblem,
  makeFolder,
  readRegular,
  readRegularIfAny,
  removeFile,
} from "../../compiler/util/files.js";

/** The file rule (util/files.ts): each refusal is a FileProblem that names the file. */
const tmp = () => mkdtempSync(join(tmpdir(), "archc-files-"));
const fifo = (path: string) => expect(spawnSync("mkfifo", [path]).status).toBe(0);
const problem = (f: () => unknown, path: string, what: RegExp) => {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(FileProblem);
  expect((caught as FileProblem).path).toBe(path);
  expect((caught as FileProblem).message).toMatch(what);
};

describe("reading", () => {
  it("refuses a FIFO, a device, a folder and a link leading outside, without blocking", () => {
    const dir = tmp();
    const p = join(dir, "x");
    fifo(p);
    problem(() => readRegular(p), p, /is a named pipe \(FIFO\), not a regular file/);
    const dev = join(dir, "zero");
    symlinkSync("/dev/zero", dev);
    problem(() => readRegular(dev), dev, /is a device, not a regular file/);
    problem(() => readRegular(dev, { within: dir }), dev, /is a link to \/dev\/zero, outside/);
    const sub = join(dir, "sub");
    mkdirSync(sub);
    problem(() => readRegular(sub), sub, /is a folder, not a regular file/);
    const big = join(dir, "big");
    writeFileSync(big, "0123456789");
    problem(() => readRegular(big, { maxBytes: 4 }), big, /10 bytes, more than the 4/);
  });

  it("follows a link that stays inside the folder; a missing file is undefined", () => {
    const dir = tmp();
    writeFileSync(join(dir, "real"), "hello");
    symlinkSync("real", join(dir, "alias"));
    expect(readRegular(join(dir, "alias"), { within: dir }).toString()).toBe("hello");
    expect(readRegularIfAny(join(dir, "none"), { within: dir })).toBeUndefined();
    const outside = join(tmp(), "secret");
    writeFileSync(outside, "s");
    symlinkSync(outside, join(dir, "leak"));
    problem(() => readRegular(join(dir, "leak"), { within: dir }), join(dir, "leak"), /outside/);
  });
});

describe("writing", () => {
  it("atomicWrite replaces a file or a link, refuses a folder or FIFO, leaves no temporary", () => {
    const dir = tmp();
    const p = join(dir, "a", "b", "out.json");
    atomicWrite(p, "1");
    atomicWrite(p, "2");
    expect(readFileSync(p, "utf8")).toBe("2");
    const sub = join(dir, "sub");
    mkdirSync(sub);
    problem(() => atomicWrite(sub, "x"), sub, /is a folder/);
    const f = join(dir, "pipe");
    fifo(f);
    problem(() => atomicWrite(f, "x"), f, /named pipe/);
    expect(readdirSync(join(dir, "a", "b"))).toEqual(["out.json"]);
  });

  it("createExclusive creates once, whole; removeFile refuses a folder", () => {
    const dir = tmp();
    const p = join(dir, "lock");
    expect(createExclusive(p, "mine")).toBe(true);
    expect(createExclusive(p, "yours")).toBe(false);
    expect(readFileSync(p, "utf8")).toBe("mine");
    expect(readdirSync(dir)).toEqual(["lock"]);
    removeFile(p);
    removeFile(p);
    const sub = join(dir, "sub");
    mkdirSync(sub);
    problem(() => removeFile(sub), sub, /is a folder/);
    expectFileOrNothing(join(dir, "none"));
  });

  it("appendRegular appends to a file and refuses a FIFO or a link without waiting", () => {
    const dir = tmp();
    const p = join(dir, "rows.jsonl");
    appendRegular(p, "a\n");
    appendRegular(p, "b\n");
    expect(readFileSync(p, "utf8")).toBe("a\nb\n");
    const f = join(dir, "pipe");
    fifo(f);
    problem(() => appendRegular(f, "x"), f, /named pipe/);
    symlinkSync(p, join(dir, "alias"));
    problem(() => appendRegular(join(dir, "alias"), "x"), join(dir, "alias"), /is a link/);
  });

  it("makeFolder refuses /proc and a file on the way instead of spinning", () => {
    problem(() => makeFolder("/proc/archc-x/y"), "/proc/archc-x/y", /cannot be made/);
    const dir = tmp();
    writeFileSync(join(dir, "f"), "");
    problem(() => makeFolder(join(dir, "f", "g")), join(dir, "f"), /is a regular file, so/);
    makeFolder(join(dir, "h", "i"));
    makeFolder(join(dir, "h", "i"));
    expect(readdirSync(join(dir, "h"))).toEqual(["i"]);
  });
});
