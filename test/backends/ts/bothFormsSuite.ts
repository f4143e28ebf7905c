import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitFlatTypeScript } from "../../../compiler/backends/ts/flat.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import {
  buildNetwork,
  loadProgram,
  parseSets,
  pickNetwork,
} from "../../../compiler/language/program.js";
import type { NetworkDecl } from "../../../grammar/ast.js";
import { expectGolden } from "../../golden.js";
import {
  elaborate,
  emitBothForms,
  expectSameModel,
  expectSpecError,
  repo,
  type BothForms,
  type Options,
} from "./harness.js";

/** One spec's generated TypeScript, checked in both forms by `describeBothForms`. */
export interface BothFormsCase {
  /** The describe block's title. */
  title: string;
  /** The spec, relative to the repository. */
  specFile: string;
  /** Where under test/.generated the modules are written, and their stem. */
  dir: string;
  stem: string;
  /** The build(options) test's title, and the options it builds at besides the defaults. */
  variantsTitle: string;
  variants: Options[];
  tolerance: number;
  /** A `--set` the compiler refuses, the same value as a build() option, and the diagnostic. */
  refusal: {
    title: string;
    sets: string[];
    options: Options;
    code: string;
    message: string | RegExp;
  };
}

/**
 * The generated-TypeScript checks a layer family's spec gets: the structured and the flat module
 * are the golden ones (test/golden/ts/STEM.ts.txt and STEM.flat.ts.txt), pass tsc --strict,
 * build the runtime's model at the defaults and at `variants`, and a refused option throws the
 * compiler's diagnostic (code, text, hint) from build().
 */
export function describeBothForms(c: BothFormsCase): void {
  const program = loadProgram(join(repo, c.specFile));
  const net = pickNetwork(program) as NetworkDecl;
  let forms: BothForms;

  beforeAll(async () => {
    await initBackend("wasm");
    forms = await emitBothForms(program, net, c.specFile, c.dir, c.stem);
  });

  describe(c.title, () => {
    it("the structured and the flat module are the golden ones", async () => {
      const graph = elaborate(program, net, {});
      expectGolden(
        join(repo, "test", "golden", "ts", `${c.stem}.ts.txt`),
        await emitTypeScript(program, net, { source: c.specFile, graph }),
      );
      expectGolden(
        join(repo, "test", "golden", "ts", `${c.stem}.flat.ts.txt`),
        await emitFlatTypeScript(elaborate(program, net, {})),
      );
    });

    it(c.variantsTitle, () => {
      for (const o of [{}, ...c.variants]) {
        const graph = elaborate(program, net, o);
        const runtime = buildModelFromIR(graph);
        const fromTs = forms.structured.build(o);
        expectSameModel(fromTs, runtime, JSON.stringify(o), { graph, tolerance: c.tolerance });
        fromTs.dispose();
        runtime.dispose();
      }
      const runtime = buildModelFromIR(elaborate(program, net, {}));
      const fromFlat = forms.flat.build();
      expectSameModel(fromFlat, runtime, "flat", { tolerance: c.tolerance });
      fromFlat.dispose();
      runtime.dispose();
    });

    it(c.refusal.title, () => {
      const r = buildNetwork(program, net, parseSets(c.refusal.sets).args);
      const d = !r.ok ? r.diagnostics[0]! : undefined;
      expect(d?.code).toBe(c.refusal.code);
      if (typeof c.refusal.message === "string") expect(d?.message).toBe(c.refusal.message);
      else expect(d?.message).toMatch(c.refusal.message);
      expectSpecError(() => forms.structured.build(c.refusal.options), d!);
    });
  });
}
