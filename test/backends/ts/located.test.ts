import type * as tf from "@tensorflow/tfjs";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { SpecError } from "../../../compiler/layers.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
  type Program,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import type { Span } from "../../../grammar/span.js";
import { compileAndImport, repo, setsAsOptions, writeStructured } from "./harness.js";

/**
 * A generated `build(options)` that fails reports what `archc summary --set ...` reports for the
 * same options: the same code, text and hint, at the same file, line and column of the `.arch`
 * source (a library module as the user imports it, `std/units`), with the same "inside BLOCK"
 * notes where an error moved from a block's layer to the argument its caller wrote.
 */
const dir = join(repo, "test", ".generated", "located");

interface Case {
  readonly file: string;
  readonly sets: readonly string[];
  /** The compiler's code, so that a case cannot drift into testing nothing. */
  readonly code: string;
  readonly what: string;
}

const cases: readonly Case[] = [
  {
    file: "specs/xception.arch",
    sets: ["parts=5", "size=71"],
    code: "E0400",
    what: "an indivisible parts, moved from std/units through two block calls to the spec",
  },
  {
    file: "specs/xception.arch",
    sets: ["size=3"],
    code: "E0401",
    what: "a window that no longer fits, at the layer in std/",
  },
  {
    file: "specs/mini_xception.arch",
    sets: ["width=32.0"],
    code: "E0303",
    what: "a float where a count is needed",
  },
  {
    file: "specs/mini_xception.arch",
    sets: ["parts=3"],
    code: "E0400",
    what: "an indivisible parts in a user's block",
  },
  {
    file: "specs/shufflenet_v1.arch",
    sets: ["groups=depthwise", "size=32"],
    code: "E0500",
    what: "a partition word compared as a number",
  },
  {
    file: "specs/shufflenet_v1.arch",
    sets: ["groups=5", "size=32"],
    code: "E0400",
    what: "groups that divide no stage",
  },
  {
    file: "test/backends/ts/cases/arithmetic.arch",
    sets: ["m=0"],
    code: "E0501",
    what: "% by zero in an expression",
  },
  {
    file: "test/backends/ts/cases/floats.arch",
    sets: ["k=2.0", "deep=true"],
    code: "E0303",
    what: "a float bare argument in the network's body",
  },
  {
    file: "test/backends/ts/cases/defaults.arch",
    sets: ["eps=-1.0"],
    code: "E0305",
    what: "a bad value set by a defaults statement",
  },
  {
    file: "test/backends/ts/cases/joins.arch",
    sets: ["f=8"],
    code: "E0402",
    what: "a residual whose body changes the channels",
  },
  {
    file: "test/backends/ts/cases/joins.arch",
    sets: ["stride=2"],
    code: "E0403",
    what: "concat branches of different sizes",
  },
  {
    file: "test/backends/ts/cases/joins.arch",
    sets: ["g=4"],
    code: "E0402",
    what: "add branches of different shapes, at the odd branch",
  },
  {
    file: "test/backends/ts/cases/joins.arch",
    sets: ["n=1.5"],
    code: "E0502",
    what: "a repeat count that is no count",
  },
  {
    file: "specs/regnet_x_400mf.arch",
    sets: ["w0=0"],
    code: "E0501",
    what: "a width rule's division by zero, inside the library",
  },
  {
    file: "specs/regnet_x_400mf.arch",
    sets: ["wm=-2.0"],
    code: "E0504",
    what: "log of a negative number, at the function's argument",
  },
];

interface Generated {
  build(o?: Record<string, unknown>): tf.LayersModel;
}

const programs = new Map<string, Program>();
const modules = new Map<string, Generated>();

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  await initBackend("cpu");
  const files = [...new Set(cases.map((c) => c.file))];
  const outs: string[] = [];
  for (const file of files) {
    const program = loadProgram(join(repo, file));
    programs.set(file, program);
    const net = pickNetwork(program) as NetworkDecl;
    outs.push(
      await writeStructured(program, net, file, join(dir, `${file.replace(/[/.]/g, "_")}.ts`)),
    );
  }
  const imported = await compileAndImport<Generated>(outs);
  files.forEach((f, i) => modules.set(f, imported[i]!));
}, 300_000);

/** A compiler span as generated code names its place: the library by its import name. */
function placeOf(program: Program, file: string, span: Span) {
  const mod = program.loaded.modules.find((m) => m.file === span.file);
  const name =
    mod === program.loaded.root
      ? file
      : mod?.importedAs?.startsWith("std/")
        ? mod.importedAs
        : span.file;
  return { file: name, line: span.start.line, column: span.start.column };
}

describe("build()'s errors point where archc summary's do", () => {
  it.each(cases.map((c) => [`${c.file} ${c.sets.join(" ")}: ${c.what}`, c] as const))(
    "%s",
    (_, c) => {
      const program = programs.get(c.file)!;
      const net = pickNetwork(program) as NetworkDecl;
      const r = buildNetwork(program, net, parseSets(c.sets).args);
      expect(r.ok).toBe(false);
      const d = r.ok ? undefined! : r.diagnostics[0]!;
      expect(d.code).toBe(c.code);
      let thrown: unknown;
      try {
        modules.get(c.file)!.build(setsAsOptions(c.sets)).dispose();
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(SpecError);
      const e = thrown as SpecError;
      expect([e.code, e.diagnostic, e.hint]).toEqual([d.code, d.message, d.hint]);
      const at = placeOf(program, c.file, d.span);
      expect(e.at).toEqual(at);
      expect(e.message.startsWith(`${at.file}:${at.line}:${at.column}: error[${d.code}]: `)).toBe(
        true,
      );
      // The notes the runtime knows: where a moved error came from, and a join's first branch.
      // (The compiler's "in BLOCK(args), called here" notes name values build() does not keep.)
      const kept = (d.notes ?? []).filter((n) => !n.message.endsWith("called here"));
      expect(e.notes).toEqual(
        kept.map((n) => ({
          message: n.message,
          ...(n.span ? { at: placeOf(program, c.file, n.span) } : {}),
        })),
      );
    },
  );
});
