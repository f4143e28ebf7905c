import { describe, expect, it } from "vitest";
import type { TrainDecl } from "../../grammar/ast.js";
import { parse } from "../../grammar/parse.js";
import { print } from "../../grammar/printer.js";
import { evaluateTrain } from "../../compiler/language/config/train.js";

function config(body: string) {
  const src = `train t {\n${body}\n}\n`;
  const r = parse("t.arch", src);
  expect(r.diagnostics).toEqual([]);
  const out = evaluateTrain(r.program.decls[0] as TrainDecl);
  return {
    ...out,
    errors: out.diagnostics.map(
      (d) =>
        `${d.span.start.line}:${d.span.start.column} ${d.message}${d.hint ? ` | ${d.hint}` : ""}`,
    ),
  };
}

describe("augment and eval_crop in a train config", () => {
  it("reads inception's arguments as intervals, with torchvision's defaults for the rest", () => {
    const c = config(
      "  augment inception(scale = 0.25..1, ratio = 3/4..4/3, flip = false)\n  eval_crop 0.875",
    );
    expect(c.errors).toEqual([]);
    expect(c.config!.augment).toEqual({
      kind: "inception",
      scale: [0.25, 1],
      ratio: [0.75, 4 / 3],
      flip: false,
    });
    expect(c.config!.evalCrop).toBe(0.875);
    expect(config("  augment inception").config!.augment).toEqual({
      kind: "inception",
      scale: [0.08, 1],
      ratio: [0.75, 4 / 3],
      flip: true,
    });
    expect(config("  augment inception(scale = 0.5..1)").config!.augment!.flip).toBe(true);
    const none = config("  augment none").config!;
    expect("augment" in none).toBe(false);
    expect("evalCrop" in none).toBe(false);
  });

  it("says where a bad value is and what would be right", () => {
    expect(config("  augment inceptoin").errors).toEqual([
      "2:11 unknown augmentation 'inceptoin' | did you mean 'inception'?",
    ]);
    expect(config("  augment inception(scael = 0.5..1)").errors).toEqual([
      "2:21 inception has no argument 'scael' | did you mean 'scale'?",
    ]);
    expect(config("  augment inception(scale = 0.5..2)").errors[0]).toMatch(
      /^2:29 inception: scale is a fraction of the image's area, so it must lie in \(0, 1\], not 0.5..2/,
    );
    expect(config("  augment inception(scale = 1..0.5)").errors[0]).toMatch(
      /^2:29 inception: scale 1..0.5 is empty/,
    );
    expect(config("  augment inception(ratio = 0..1)").errors[0]).toMatch(
      /^2:29 inception: ratio is a width-to-height ratio, so it must be positive/,
    );
    expect(config("  augment inception(flip = 1)").errors).toEqual([
      "2:28 inception: flip must be true or false, not 1",
    ]);
    expect(config("  augment inception(flip = true, flip = false)").errors).toEqual([
      "2:34 'flip' is set twice",
    ]);
    expect(config("  eval_crop 1.5").errors[0]).toMatch(
      /^2:13 'eval_crop' is the fraction of the image's side kept around its centre, in \(0, 1\], not 1.5/,
    );
    expect(config("  eval_crops 0.875").errors).toEqual([
      expect.stringMatching(/^2:3 train has no setting 'eval_crops' \| did you mean 'eval_crop'\?/),
    ]);
  });

  it("archc fmt keeps it as written", () => {
    const src =
      "train t {\n  augment inception(scale = 0.08..1, ratio = 3 / 4..4 / 3, flip = true)\n  eval_crop 0.875\n}\n";
    const r = parse("t.arch", src);
    const printed = print(r.program, r.comments);
    expect(printed).toContain("augment inception(scale = 0.08..1");
    const again = parse("t.arch", printed);
    expect(evaluateTrain(again.program.decls[0] as TrainDecl).config).toEqual(
      evaluateTrain(r.program.decls[0] as TrainDecl).config,
    );
  });
});
