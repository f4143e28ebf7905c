import * as tf from "@tensorflow/tfjs";
import { divisionByZero, floorDiv, floorMod } from "../../../language/elaborate/arithmetic.js";
import { bindNamed, bindPositional } from "../../../language/elaborate/bind.js";
import {
  addProblem,
  concatProblem,
  concatShape,
  joined,
  mulShape,
  residualProblem,
  type JoinProblem,
} from "../../../language/elaborate/joins.js";
import {
  repeatCountProblem,
  inputNotFirst,
  lowerLayer,
  makesNoLayer,
  nameLayer,
  noLayers,
  noNetworkParameter,
} from "../../../language/elaborate/layer.js";
import { Namer } from "../../../language/elaborate/namer.js";
import { ops, type Word } from "../../../language/elaborate/ops/catalogue.js";
import type { BoundAttr, Lowered } from "../../../language/elaborate/ops/spec.js";
import { needsNumber, type Activation } from "../../../language/elaborate/values.js";
import { activationConstants, activations } from "../../../language/ir/activations.js";
import type { IRNode } from "../../../language/ir/types.js";
import { instantiateLayer } from "../../tfjs/model.js";
import { Planner } from "../../tfjs/plan.js";
import { Bare, formExpr } from "./bare.js";
import { diagnosed, generated, SpecError } from "./errors.js";
import { Float, languageValue, type Num } from "./numbers.js";
import type { LayerOptions, LayerWord, Pads, Parts } from "./options.js";

export { SpecError };

/**
 * The runtime of structured generated TypeScript (`archc compile --target ts`): one generic entry,
 * `s.layer(word, x, options)`, takes every layer word of the language, with the word's attributes
 * as options typed from the op catalogue (options.ts), so a new op or word needs no edit here. It
 * binds the options as the compiler binds keyword arguments, names and lowers the layer with the
 * compiler's own steps (elaborate/layer.ts, the op's lowering in elaborate/ops/), so its checks
 * throw the compiler's diagnostics as SpecError, and plans the node with the layer plan
 * (backends/tfjs/plan.ts) the runtime model is made from: the model and its weights are the
 * runtime's by construction.
 */

export type { Activation };
export type { LayerOptions, LayerWord, Order, Pads, Parts, Size } from "./options.js";
export type Tensor = tf.SymbolicTensor;

/**
 * A value the spec does arithmetic or an ordering comparison on, where its parameter may also hold
 * a partition word or a list (`groups > 1` on a `parts` parameter): the number, or the compiler's
 * E0500 for `regular`, `depthwise` or a list.
 */
export function numeric(v: Parts | Pads, op: string): number {
  if (typeof v === "number") return v;
  // Generated code takes this path only for values that are integers wherever they are computed.
  if (v instanceof Float) throw new Error(`internal: the float ${v} where an integer was expected`);
  throw new SpecError("E0500", needsNumber(`'${op}'`, languageValue(v)));
}

/** The language's `%` (the divisor's sign: `-7 % 3` is 2, not JavaScript's -1). */
export function mod(a: number, b: number): number {
  if (b === 0) throw new SpecError("E0501", divisionByZero);
  return floorMod(a, b);
}

/** The language's `//` (toward negative infinity), with the compiler's E0501 for a zero divisor. */
export function idiv(a: number, b: number): number {
  if (b === 0) throw new SpecError("E0501", divisionByZero);
  return floorDiv(a, b);
}

/** `in` of the language: the channel count of a tensor. */
export function channels(x: Tensor): number {
  return x.shape[x.shape.length - 1] ?? 0;
}

/** The network being built: its graph so far, planned and instantiated as it grows. */
class Network {
  readonly taken = new Set<string>();
  readonly nodes: IRNode[] = [];
  readonly planner = new Planner({ nodes: this.nodes, activations: allActivations });
  /** Each planned layer's output, by its id in the plan. */
  readonly outputs = new Map<string, Tensor>();
  /** The node each tensor a method returned is the output of. */
  readonly nodeOf = new Map<Tensor, IRNode>();
  input?: Tensor;
}

// The plan reads an activation's constants (leaky_relu's slope) from the graph's table.
const allActivations = Object.fromEntries(activations.map((a) => [a, activationConstants(a)]));

function merged(
  defaults: ReadonlyMap<string, object>,
  op: string,
  o: object,
): ReadonlyMap<string, object> {
  return new Map(defaults).set(op, { ...defaults.get(op), ...o });
}

/**
 * One naming scope: the network, or one block instance. Names are `conv`, `conv_1`, ... within
 * a scope and block instances are named the same way, joined by `/` (the compiler's Namer).
 */
export class Builder {
  private constructor(
    private readonly namer: Namer,
    private readonly net: Network,
    /** What `defaults` statements in force set, per layer kind (`s.defaults`). */
    private opDefaults: ReadonlyMap<string, object> = new Map(),
  ) {}

  /**
   * The scope of a network. `unknown` holds the options the network does not have; they are
   * rejected, as the compiler rejects an unknown `--set`, naming the nearest of `params`.
   */
  static network(network: string, unknown: object = {}, params: readonly string[] = []): Builder {
    const k = Object.keys(unknown)[0];
    if (k !== undefined) {
      const p = noNetworkParameter(network, k, params);
      throw new SpecError("E0601", p.message, p.hint);
    }
    const net = new Network();
    return new Builder(new Namer("", net.taken), net);
  }

  /** The scope of a block instance called here: `entry`, then `entry_1`, ... */
  block(name: string): Builder {
    return new Builder(this.namer.nested(this.namer.fresh(name)), this.net, this.opDefaults);
  }

  /**
   * `defaults bn(epsilon = 1e-5)`: the options layers of that kind take when their own leave them
   * out, in this scope from here on and in the block instances it makes afterwards.
   */
  defaults<W extends Word>(word: W, o: LayerOptions<W>): void {
    this.opDefaults = merged(this.opDefaults, word, o);
  }

  /**
   * `defaults` written in a nested body (a branch, `repeat`, `if` or residual body): this scope
   * with them, for the rest of that body and the block instances it makes; the scope outside the
   * body keeps its own. Layers are named as in this scope.
   */
  withDefaults<W extends Word>(word: W, o: LayerOptions<W>): Builder {
    return new Builder(this.namer, this.net, merged(this.opDefaults, word, o));
  }

  /** The finished model, from the input to `output`. */
  model(output: Tensor, name: string): tf.LayersModel {
    if (!this.net.input) {
      const p = noLayers(name);
      throw new SpecError("E0405", p.message, p.hint);
    }
    return tf.model({ inputs: this.net.input, outputs: output, name });
  }

  /** `input HxWxC`: the network's input, its first layer. */
  input(shape: readonly [Num, Num, Num], o: LayerOptions<"input"> = {}): Tensor {
    const x = this.lower("input", undefined, { ...o, shape });
    this.net.input = x;
    return x;
  }

  /**
   * One layer statement on `x`: `s.layer("conv", x, { kernel: 3, filters: 64 })` is
   * `conv 3x3 64`, `s.layer("relu", x)` is `relu`. The options are the word's attributes, typed
   * by kind from the op catalogue (options.ts).
   */
  layer<W extends LayerWord>(word: W, x: Tensor, o: LayerOptions<W> = {}): Tensor {
    // Only untyped callers reach these: generated code writes the catalogue's words.
    if (word === ("input" as string)) throw new Error("the input is s.input(shape), not a layer");
    if (!ops.has(word))
      throw new Error(`'${word}' is not a layer word of archc: ${[...ops.keys()].join(", ")}`);
    return this.lower(word, x, o);
  }

  /** Branches joined by concatenation along channels; one branch is just itself. */
  concat(xs: readonly Tensor[]): Tensor {
    if (xs.length === 1) return xs[0]!;
    const shapes = xs.map((x) => this.node(x).shape);
    check("E0403", concatProblem(shapes));
    return this.emit(this.namer.fresh("concat"), joined("concat", concatShape(shapes)), xs);
  }

  /** Branches joined by addition; one branch is just itself. */
  add(xs: readonly Tensor[]): Tensor {
    if (xs.length === 1) return xs[0]!;
    const shapes = xs.map((x) => this.node(x).shape);
    check("E0402", addProblem(shapes));
    return this.emit(this.namer.fresh("add"), joined("add", shapes[0]!), xs);
  }

  /**
   * Branches joined by element-wise product; a per-channel gate ([c] or [1, 1, c]) scales every
   * position of an image (squeeze-and-excitation). One branch is just itself.
   */
  mul(xs: readonly Tensor[]): Tensor {
    if (xs.length === 1) return xs[0]!;
    const r = mulShape(xs.map((x) => this.node(x).shape));
    if ("problem" in r) throw new SpecError("E0402", r.problem.message, r.problem.hint);
    return this.emit(this.namer.fresh("mul"), joined("mul", r.shape), xs);
  }

  /**
   * The end of `residual { body }`: the body's output plus the block's input (`identity`), or
   * plus what `shortcut { ... }` made of it (`projection`).
   */
  residual(body: Tensor, shortcut: { identity: Tensor } | { projection: Tensor }): Tensor {
    const projected = "projection" in shortcut;
    const other = "projection" in shortcut ? shortcut.projection : shortcut.identity;
    check("E0402", residualProblem(this.node(body).shape, this.node(other).shape, projected));
    return this.emit(this.namer.fresh("add"), joined("add", this.node(body).shape), [body, other]);
  }

  /** A `repeat` count from an expression: a whole number, 0 or more. */
  repeat(count: Num): number {
    const p = repeatCountProblem(languageValue(count));
    if (p) throw new SpecError("E0502", p.message, p.hint);
    return count as number;
  }

  /**
   * One layer statement, as the elaborator runs it: its options bound as keyword arguments, no
   * layer for an identity activation, its name, its node from the op's lowering; then planned.
   */
  private lower(word: Word, x: Tensor | undefined, o: object): Tensor {
    const op = ops.get(word)!;
    return diagnosed(() => {
      if (word === "input" && this.net.input) inputNotFirst(generated);
      const attrs = new Map<string, BoundAttr>();
      // The elaborator's provisional name for binding's messages: the scope's path and the word.
      const provisional = this.namer.prefix ? `${this.namer.prefix}/${word}` : word;
      const kindOf = (name: string) => op.attrs.find((a) => a.name === name)?.kind;
      const keyword = (name: string, v: unknown) =>
        bindNamed(
          op,
          attrs,
          provisional,
          { name, span: generated },
          languageValue(v, kindOf(name)),
          generated,
        );
      // As the compiler: keywords, then bare arguments into the open attributes, then defaults.
      const own = Object.entries(o).filter(([, v]) => v !== undefined && !(v instanceof Bare));
      for (const [name, v] of own) keyword(name, v);
      for (const [name, v] of Object.entries(o)) {
        if (!(v instanceof Bare) || v.value === undefined) continue;
        const value = languageValue(v.value, kindOf(name));
        bindPositional(op, attrs, provisional, { value, span: generated, expr: formExpr(v.form) });
      }
      for (const [name, v] of Object.entries(this.opDefaults.get(word) ?? {}))
        if (!attrs.has(name) && v !== undefined) keyword(name, v);
      if (makesNoLayer(word, attrs)) return x!;
      const name = nameLayer(this.namer, word, attrs);
      const input = x ? this.node(x).shape : [];
      const lowered = lowerLayer(op, { name, input, attrs, span: generated });
      return this.emit(name, lowered, x ? [x] : []);
    });
  }

  /** Adds the node to the graph and makes the tfjs layers the layer plan makes of it. */
  private emit(name: string, lowered: Lowered, inputs: readonly Tensor[]): Tensor {
    const net = this.net;
    const node = {
      id: net.nodes.length,
      name,
      ...lowered,
      inputs: inputs.map((x) => this.node(x).id),
      source: { file: generated.file, line: 1, column: 1 },
      blocks: [],
    } as IRNode;
    net.nodes.push(node);
    const first = net.planner.layers.length;
    const out = net.planner.node(node);
    for (const l of net.planner.layers.slice(first))
      net.outputs.set(
        l.id,
        instantiateLayer(
          l,
          l.inputs.map((i) => net.outputs.get(i)!),
        ),
      );
    const y = net.outputs.get(out)!;
    net.nodeOf.set(y, node);
    return y;
  }

  private node(x: Tensor): IRNode {
    const node = this.net.nodeOf.get(x);
    if (!node) throw new Error(`tensor '${x.name}' was not made by this network's Builder`);
    return node;
  }
}

function check(code: string, p: JoinProblem | undefined): void {
  if (p) throw new SpecError(code, p.message, p.hint);
}
