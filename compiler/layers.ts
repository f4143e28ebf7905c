/**
 * archc's second public entry, `archc/layers`: the grouped convolution layer that generated
 * TypeScript imports (with the channel shuffle layer, MaxPadding2D, max pooling's -infinity
 * padding, HardSwish and HSigmoid), its geometry helpers and strategy cost model, and the runtime of
 * structured generated TypeScript (Builder: one method per layer word, the compiler's checks).
 */
export * from "./backends/tfjs/grouped/index.js";
export { MaxPadding2D, type MaxPadding2DArgs } from "./backends/tfjs/padding.js";
export { HardSwish, HSigmoid } from "./backends/tfjs/hardActivations.js";
export * from "./backends/ts/runtime/builder.js";
export * from "./backends/tfjs/shuffle.js";
