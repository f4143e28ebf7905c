import { spawnSync } from "node:child_process";
import { stripVTControlCharacters } from "node:util";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { colourFor, formatDiagnostics } from "../../compiler/language/diagnostics/print.js";
import { fmtCommand } from "../../compiler/cli/commands/fmt.js";
import { buildText, runCli } from "../helpers.js";

const repo = join(import.meta.dirname, "..", "..");
const broken = "network n() {\n  input 8x8x6\n  conv 3x3 8 parts = 4\n}\n";

function withoutColourSettings(): Record<string, string | undefined> {
  const env = { ...process.env };
  delete env["NO_COLOR"];
  delete env["FORCE_COLOR"];
  return env;
}

/** Runs the CLI from source in a child process whose standard error is a pipe, not a terminal. */
function cliProcess(args: string[], env: Record<string, string>, input?: string) {
  return spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `import { main } from './compiler/cli/main.ts'; process.exitCode = await main(${JSON.stringify(args)});`,
    ],
    {
      cwd: repo,
      encoding: "utf8",
      env: { ...withoutColourSettings(), ...env },
      ...(input !== undefined ? { input } : {}),
    },
  );
}

describe("colour in diagnostics", () => {
  const { diagnostics } = buildText(broken);

  it("paints the level, the location, the gutter and the carets, and nothing else", () => {
    expect(diagnostics.length).toBeGreaterThan(0);
    const sources = () => broken;
    const plain = formatDiagnostics(diagnostics, sources);
    const coloured = formatDiagnostics(diagnostics, sources, { colour: true });
    expect(coloured).not.toBe(plain);
    expect(stripVTControlCharacters(coloured)).toBe(plain);
    // rustc's choice: errors in bold red, the gutter in bold blue.
    expect(coloured).toContain("\u001b[31m\u001b[1merror[E0400]:");
    expect(coloured).toMatch(/\u001b\[34m\u001b\[1m\d+ \|/);
    expect(plain).not.toContain("\u001b[");
  });

  it("follows NO_COLOR, FORCE_COLOR and whether the stream is a terminal", () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(colourFor(tty, {})).toBe(true);
    expect(colourFor(pipe, {})).toBe(false);
    expect(colourFor(tty, { TERM: "dumb" })).toBe(false);
    expect(colourFor(tty, { NO_COLOR: "1" })).toBe(false);
    expect(colourFor(pipe, { FORCE_COLOR: "1" })).toBe(true);
    expect(colourFor(tty, { FORCE_COLOR: "0" })).toBe(false);
    expect(colourFor(pipe, { FORCE_COLOR: "1", NO_COLOR: "1" })).toBe(false);
  });

  it("captured output is never coloured", async () => {
    const r = await runCli(
      "check",
      join(repo, "test", "golden", "diagnostics", "cases", "unknown_name.arch"),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain("\u001b[");
  });

  it("archc check colours a pipe only when FORCE_COLOR asks", () => {
    const file = join(repo, "test", "golden", "diagnostics", "cases", "unknown_name.arch");
    const piped = cliProcess(["check", file], {});
    expect(piped.status).toBe(1);
    expect(piped.stderr).toContain("error[E0203]");
    expect(piped.stderr).not.toContain("\u001b[");
    const forced = cliProcess(["check", file], { FORCE_COLOR: "1" });
    expect(forced.status).toBe(1);
    expect(forced.stderr).toContain("\u001b[31m");
    expect(stripVTControlCharacters(forced.stderr)).toBe(piped.stderr);
  });
});

describe("archc fmt -", () => {
  const messy = "network   n( a=1 ){\ninput 8x8x3\n   conv 3x3 8->relu\n gap->dense 2}\n";
  const formatted =
    "network n(a = 1) {\n  input 8x8x3\n  conv 3x3 8 -> relu\n  gap -> dense 2\n}\n";
  const capture = () => {
    const io = { out: "", err: "" };
    return {
      io,
      sink: { out: (t: string) => void (io.out += t), err: (t: string) => void (io.err += t) },
    };
  };

  it("formats standard input to standard output, in a real process", () => {
    const r = cliProcess(["fmt", "-"], {}, messy);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(formatted);
  });

  it("checks standard input, and reports text that does not parse at its place in <stdin>", () => {
    const ok = capture();
    expect(fmtCommand(ok.sink, ["-"], { check: true }, () => formatted)).toBe(0);
    expect(ok.io.out + ok.io.err).toBe("");
    const messyCheck = capture();
    expect(fmtCommand(messyCheck.sink, ["-"], { check: true }, () => messy)).toBe(1);
    expect(messyCheck.io.err).toBe("<stdin>: not formatted (run archc fmt -)");
    const bad = capture();
    expect(fmtCommand(bad.sink, ["-"], {}, () => "network n( {\n")).toBe(1);
    expect(bad.io.out).toBe("");
    expect(bad.io.err).toMatch(/^<stdin>:1:\d+: error\[E0102\]/);
  });
});
