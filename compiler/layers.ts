/**
 * archc's second public entry, `archc/layers`: the grouped convolution layer that generated
 * TypeScript imports (with the channel shuffle layer, MaxPadding2D, max pooling's -infinity
 * padding, HardSwish, HSigmoid, ConvNeXt's LayerScale and DropPath, ceil-mode average pooling's
 * PoolDivisor and a channel split's ChannelSlice), its geometry helpers and strategy cost model,
 * and the runtime of
 * structured generated TypeScript (Builder: `s.layer(word, x, options)` for every layer word,
 * with options typed from the op catalogue, and the compiler's checks).
 */
export * from "./backends/tfjs/grouped/index.js";
export { MaxPadding2D, type MaxPadding2DArgs } from "./backends/tfjs/padding.js";
export { HardSwish, HSigmoid } from "./backends/tfjs/hardActivations.js";
export * from "./backends/ts/runtime/builder.js";
export { Float, num, type Num } from "./backends/ts/runtime/numbers.js";
export { bare, type BareForm } from "./backends/ts/runtime/bare.js";
export * from "./backends/tfjs/shuffle.js";
export * from "./backends/tfjs/poolDivisor.js";
export * from "./backends/tfjs/slice.js";
export * from "./backends/tfjs/residualBranch.js";

/**
 * The one-line setup for training generated TypeScript on WebAssembly: `await useWasm()` starts
 * tfjs-backend-wasm (every core, or `threads`) with the gradient kernels it lacks and archc
 * provides (Conv2DBackpropFilter and the others training needs). tfjs' own
 * `setBackend("wasm")` alone fails in fit() with "Kernel 'Conv2DBackpropFilter' not registered".
 */
export async function useWasm(o: { threads?: number } = {}): Promise<{
  readonly name: string;
  readonly label: string;
  readonly threads?: number;
}> {
  const { initBackend } = await import("./backends/tfjs/runtime.js");
  const b = await initBackend("wasm", o.threads ? { threads: o.threads } : {});
  return { name: b.name, label: b.label, ...(b.threads ? { threads: b.threads } : {}) };
}
