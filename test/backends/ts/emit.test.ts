import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { buildModelFromIR } from "../../../compiler/backends/tfjs/model.js";
import { initBackend } from "../../../compiler/backends/tfjs/runtime.js";
import { emitTypeScript } from "../../../compiler/backends/ts/emit.js";
import { compileSpec } from "../../../compiler/index.js";
import { expectGolden } from "../../golden.js";
import { runCli } from "../../helpers.js";

const repo = join(import.meta.dirname, "..", "..", "..");
const outDir = join(repo, "test", ".generated");
const layersModule = (from: string) => {
  const rel = relative(from, join(repo, "compiler", "backends", "tfjs", "grouped", "index.js"));
  return rel.startsWith(".") ? rel : `./${rel}`;
};

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  process.env["ARCHC_CACHE_DIR"] = join(outDir, "cache");
  await initBackend("wasm");
});

describe("TypeScript backend", () => {
  it("generates the same module as the golden file for the tiny example", async () => {
    const g = compileSpec(join(repo, "examples", "tiny.arch"));
    expectGolden(
      join(repo, "test", "golden", "ts", "tiny.ts.txt"),
      await emitTypeScript(g, { source: "examples/tiny.arch" }),
    );
  });

  it("the committed examples/generated/xception.ts is what archc generates now", async () => {
    const r = await runCli(
      "compile",
      join(repo, "specs", "xception.arch"),
      "--target",
      "ts",
      "--set",
      "parts=4",
    );
    expect(r.code).toBe(0);
    const committed = readFileSync(join(repo, "examples", "generated", "xception.ts"), "utf8");
    expect(r.stdout.replace(/from .*specs\/xception\.arch/, "from specs/xception.arch")).toBe(
      committed,
    );
  });

  for (const parts of ["4", "depthwise"]) {
    it(`Xception at parts=${parts}: tsc accepts it, and it builds the runtime's model: names, params, outputs`, async () => {
      const g = compileSpec(join(repo, "specs", "xception.arch"), {
        args: { parts, size: 71, mid: "relu" },
      });
      const file = join(outDir, `xception_${parts}.ts`);
      writeFileSync(
        file,
        await emitTypeScript(g, { layersModule: layersModule(outDir).replace(/\.js$/, ".js") }),
      );
      execFileSync(
        process.execPath,
        [
          join(repo, "node_modules", "typescript", "bin", "tsc"),
          "--noEmit",
          "--strict",
          "--skipLibCheck",
          "--target",
          "es2022",
          "--module",
          "nodenext",
          "--moduleResolution",
          "nodenext",
          file,
        ],
        { cwd: repo, stdio: "pipe" },
      );
      const generated = (await import(pathToFileURL(file).href)) as {
        build(): tf.LayersModel;
        figures: { params: number };
      };
      const fromTs = generated.build();
      const runtime = buildModelFromIR(g);
      expect(fromTs.layers.map((l) => l.name)).toEqual(runtime.layers.map((l) => l.name));
      expect(fromTs.countParams()).toBe(runtime.countParams());
      expect(generated.figures.params).toBe(g.totals.params.total);
      fromTs.setWeights(runtime.getWeights());
      const x = tf.randomNormal([2, 71, 71, 3]);
      const a = runtime.predict(x) as tf.Tensor;
      const b = fromTs.predict(x) as tf.Tensor;
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-6);
      fromTs.dispose();
      runtime.dispose();
    });
  }
});
