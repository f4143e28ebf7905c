import { describeBothForms } from "./bothFormsSuite.js";

/**
 * Generated TypeScript for `shuffle` and `upsample`, both forms: the golden text, tsc --strict's
 * approval, and the runtime's model (names, shapes, parameters, outputs on the same weights) at
 * other arguments; an indivisible shuffle throws the compiler's diagnostic at build time.
 */
describeBothForms({
  title: "generated TypeScript with shuffle and upsample",
  specFile: "test/backends/ts/cases/shufflenet.arch",
  dir: "rearrange",
  stem: "shufflenet",
  variantsTitle:
    "build(options) is the runtime's model at other groups and factors; --flat at the defaults",
  variants: [
    { groups: 4, factor: [3, 1], mix: 3 },
    { groups: "regular", factor: 1 },
  ],
  tolerance: 1e-6,
  refusal: {
    // mix is the last shuffle's alone: 24 channels, not divisible by 5.
    title: "groups that do not divide throw the compiler's diagnostic, code, text and hint",
    sets: ["mix=5"],
    options: { mix: 5 },
    code: "E0400",
    message: "shuffle 'shuffle': 24 input channels are not divisible by groups = 5",
  },
});
