/**
 * archc's second public entry, `archc/layers`: the grouped convolution and hard_swish layers that
 * generated TypeScript imports, with its geometry helpers and strategy cost model, and the runtime of
 * structured generated TypeScript (Builder: one method per layer word, the compiler's checks).
 */
export * from "./backends/tfjs/grouped/index.js";
export { HardSwish } from "./backends/tfjs/hardSwish.js";
export * from "./backends/ts/runtime/builder.js";
