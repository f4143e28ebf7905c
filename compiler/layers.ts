/**
 * archc's second public entry, `archc/layers`: the grouped convolution layer that generated
 * TypeScript imports, with its geometry helpers and strategy cost model.
 */
export * from "./backends/tfjs/grouped/index.js";
