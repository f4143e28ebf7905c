import type { Word, WordAttrs } from "../../../language/elaborate/ops/catalogue.js";
import type { Activation } from "../../../language/elaborate/values.js";
import type { Num } from "./numbers.js";

/**
 * The options of a layer in generated TypeScript, typed from the op catalogue: each word's
 * attributes (their names and kinds, as its family file in language/elaborate/ops/ declares them)
 * become its options, so a new word needs no edit here or in the Builder.
 */

/** A partition: a segment count, `regular` (1) or `depthwise` (one segment per channel). */
export type Parts = Num | "regular" | "depthwise";
/** A 2-d window: `3` is 3x3. */
export type Size = Num | readonly [Num, Num];
export type Order = "spatial_first" | "pointwise_first";
export type Padding = "same" | "valid";
/**
 * Explicit padding (the language's `pad`): `1` pads every side, `[h, w]` rows and columns on both
 * sides, `[top, bottom, left, right]` each side on its own; the window then runs 'valid'.
 */
export type Pads = Num | readonly [Num, Num] | readonly [Num, Num, Num, Num];

/**
 * What generated code passes for an attribute of each kind (ops/spec.ts, AttrKind). A kind added
 * there is a compile error at `LayerOptions` until it has its type here.
 */
interface KindTypes {
  int: Num;
  number: Num;
  bool: boolean;
  string: string;
  size: Size;
  shape: readonly [Num, Num, Num];
  padding: Padding;
  activation: Activation;
  parts: Parts;
  order: Order;
  pads: Pads;
}

/** The words a layer statement of generated code writes (`input` starts the network instead). */
export type LayerWord = Exclude<Word, "input">;

/**
 * Word `W`'s options: each of its attributes by name, of its kind's type. All are optional, as
 * in the language: the op's lowering reports a missing one (`dense` without `units`) in the
 * compiler's words.
 */
export type LayerOptions<W extends Word> = {
  readonly [A in WordAttrs<W> as A["name"]]?: KindTypes[A["kind"]];
};
