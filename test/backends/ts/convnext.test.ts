import { describeBothForms } from "./bothFormsSuite.js";

/**
 * Generated TypeScript for ConvNeXt's layers (layernorm, gelu, layerscale, droppath), both
 * forms: the golden text, tsc --strict's approval, and the runtime's model (names, shapes,
 * parameters, outputs on the same weights) at other arguments; a bad droppath rate throws the
 * compiler's diagnostic at build time.
 */
describeBothForms({
  title: "generated TypeScript with ConvNeXt's layers",
  specFile: "test/backends/ts/cases/convnext.arch",
  dir: "convnext",
  stem: "convnext",
  variantsTitle: "build(options) is the runtime's model at other arguments; --flat at the defaults",
  variants: [{ drop: 0, scale: 2, parts: 4, width: 8, classes: 3 }],
  tolerance: 1e-5,
  refusal: {
    title: "a droppath rate of 1 throws the compiler's diagnostic, code and text",
    sets: ["drop=1"],
    options: { drop: 1 },
    code: "E0305",
    message: /^droppath '.*droppath': rate must be in \[0, 1\), not 1/,
  },
});
