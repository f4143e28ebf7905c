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
import { DiagnosticError, type Diagnostic } from "../../../../grammar/diagnostic.js";
import type { Span } from "../../../../grammar/span.js";
import { generated, specError, SpecError } from "./errors.js";
import { parseSite, type Site } from "./sites.js";
import { Float, languageValue, type Num } from "./numbers.js";
import type { LayerOptions, LayerWord, Pads, Parts } from "./options.js";

export { SpecError };
export type { Site } from "./sites.js";

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
export function numeric(v: Parts | Pads, op: string, site?: Site): number {
  if (typeof v === "number") return v;
  // Generated code takes this path only for values that are integers wherever they are computed.
  if (v instanceof Float) throw new Error(`internal: the float ${v} where an integer was expected`);
  throw located("E0500", needsNumber(`'${op}'`, languageValue(v)), site);
}

/** The language's `%` (the divisor's sign: `-7 % 3` is 2, not JavaScript's -1). */
export function mod(a: number, b: number, site?: Site): number {
  if (b === 0) throw located("E0501", divisionByZero, site);
  return floorMod(a, b);
}

/** The language's `//` (toward negative infinity), with the compiler's E0501 for a zero divisor. */
export function idiv(a: number, b: number, site?: Site): number {
  if (b === 0) throw located("E0501", divisionByZero, site);
  return floorDiv(a, b);
}

/** A SpecError at the place `site` names (the expression or statement it was written at). */
function located(code: string, message: string, site: Site | undefined, hint?: string): SpecError {
  return new SpecError(code, message, hint, { span: parseSite(site).at });
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

/** A layer option with the place it was written (a `defaults` statement's argument). */
interface Given {
  readonly value: unknown;
  readonly span: Span;
}

type OpDefaults = ReadonlyMap<string, ReadonlyMap<string, Given>>;

function merged(defaults: OpDefaults, op: string, o: object, site: Site | undefined): OpDefaults {
  const places = parseSite(site);
  const own = new Map(defaults.get(op));
  for (const [k, value] of Object.entries(o))
    own.set(k, { value, span: places.args.get(k)?.span ?? places.at });
  return new Map(defaults).set(op, own);
}

/**
 * A block instance being built: its block, the site of its call (the arguments the caller
 * wrote), and the call it is inside of.
 */
interface Call {
  readonly block: string;
  readonly site?: Site;
  readonly outer?: Call;
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
    private opDefaults: OpDefaults = new Map(),
    /** The block call this scope is the instance of; none for the network. */
    private readonly call?: Call,
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

  /**
   * The scope of a block instance called here: `entry`, then `entry_1`, ... `site` is where the
   * call is in the spec, with its arguments: an error about a parameter passed on unchanged
   * points at the argument the caller wrote, as the compiler's does.
   */
  block(name: string, site?: Site): Builder {
    return new Builder(this.namer.nested(this.namer.fresh(name)), this.net, this.opDefaults, {
      block: name,
      ...(site === undefined ? {} : { site }),
      ...(this.call ? { outer: this.call } : {}),
    });
  }

  /**
   * `defaults bn(epsilon = 1e-5)`: the options layers of that kind take when their own leave them
   * out, in this scope from here on and in the block instances it makes afterwards.
   */
  defaults<W extends Word>(word: W, o: LayerOptions<W>, site?: Site): void {
    this.opDefaults = merged(this.opDefaults, word, o, site);
  }

  /**
   * `defaults` written in a nested body (a branch, `repeat`, `if` or residual body): this scope
   * with them, for the rest of that body and the block instances it makes; the scope outside the
   * body keeps its own. Layers are named as in this scope.
   */
  withDefaults<W extends Word>(word: W, o: LayerOptions<W>, site?: Site): Builder {
    return new Builder(this.namer, this.net, merged(this.opDefaults, word, o, site), this.call);
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
  input(shape: readonly [Num, Num, Num], o: LayerOptions<"input"> = {}, site?: Site): Tensor {
    const x = this.lower("input", undefined, { ...o, shape }, site);
    this.net.input = x;
    return x;
  }

  /**
   * One layer statement on `x`: `s.layer("conv", x, { kernel: 3, filters: 64 })` is
   * `conv 3x3 64`, `s.layer("relu", x)` is `relu`. The options are the word's attributes, typed
   * by kind from the op catalogue (options.ts).
   */
  layer<W extends LayerWord>(word: W, x: Tensor, o: LayerOptions<W> = {}, site?: Site): Tensor {
    // Only untyped callers reach these: generated code writes the catalogue's words.
    if (word === ("input" as string)) throw new Error("the input is s.input(shape), not a layer");
    if (!ops.has(word))
      throw new Error(`'${word}' is not a layer word of archc: ${[...ops.keys()].join(", ")}`);
    return this.lower(word, x, o, site);
  }

  /** Branches joined by concatenation along channels; one branch is just itself. */
  concat(xs: readonly Tensor[], site?: Site): Tensor {
    if (xs.length === 1) return xs[0]!;
    const shapes = xs.map((x) => this.node(x).shape);
    const p = concatProblem(shapes);
    if (p) throw located("E0403", p.message, site, p.hint);
    return this.emit(this.namer.fresh("concat"), joined("concat", concatShape(shapes)), xs);
  }

  /** Branches joined by addition; one branch is just itself. */
  add(xs: readonly Tensor[], site?: Site): Tensor {
    if (xs.length === 1) return xs[0]!;
    const shapes = xs.map((x) => this.node(x).shape);
    const p = addProblem(shapes);
    if (p) {
      // As the compiler: at the first branch of another shape, the first branch as a note.
      const places = parseSite(site);
      const odd = shapes.findIndex((s) => s.join("x") !== shapes[0]!.join("x"));
      const first = places.args.get("0")?.span;
      throw new SpecError("E0402", p.message, p.hint, {
        span: places.args.get(String(odd))?.span ?? places.at,
        ...(first ? { notes: [{ message: p.first, span: first }] } : {}),
      });
    }
    return this.emit(this.namer.fresh("add"), joined("add", shapes[0]!), xs);
  }

  /**
   * Branches joined by element-wise product; a per-channel gate ([c] or [1, 1, c]) scales every
   * position of an image (squeeze-and-excitation). One branch is just itself.
   */
  mul(xs: readonly Tensor[], site?: Site): Tensor {
    if (xs.length === 1) return xs[0]!;
    const r = mulShape(xs.map((x) => this.node(x).shape));
    if ("problem" in r) {
      const p = r.problem;
      const places = parseSite(site);
      const ref = places.args.get(String(p.ref))?.span;
      throw new SpecError("E0402", p.message, p.hint, {
        span: places.args.get(String(p.odd))?.span ?? places.at,
        ...(ref ? { notes: [{ message: p.first, span: ref }] } : {}),
      });
    }
    return this.emit(this.namer.fresh("mul"), joined("mul", r.shape), xs);
  }

  /**
   * The end of `residual { body }`: the body's output plus the block's input (`identity`), or
   * plus what `shortcut { ... }` made of it (`projection`).
   */
  residual(
    body: Tensor,
    shortcut: { identity: Tensor } | { projection: Tensor },
    site?: Site,
  ): Tensor {
    const projected = "projection" in shortcut;
    const other = "projection" in shortcut ? shortcut.projection : shortcut.identity;
    const p = residualProblem(this.node(body).shape, this.node(other).shape, projected);
    if (p) throw located("E0402", p.message, site, p.hint);
    return this.emit(this.namer.fresh("add"), joined("add", this.node(body).shape), [body, other]);
  }

  /** A `repeat` count from an expression: a whole number, 0 or more. */
  repeat(count: Num, site?: Site): number {
    const p = repeatCountProblem(languageValue(count));
    if (p) throw located("E0502", p.message, site, p.hint);
    return count as number;
  }

  /**
   * One layer statement, as the elaborator runs it: its options bound as keyword arguments, no
   * layer for an identity activation, its name, its node from the op's lowering; then planned.
   */
  private lower(word: Word, x: Tensor | undefined, o: object, site?: Site): Tensor {
    const op = ops.get(word)!;
    const places = parseSite(site);
    // Each option at the place its argument was written (`stride` of `3x3/2` is the window's).
    const spanOf = (name: string) =>
      places.args.get(name)?.span ??
      (name === "stride" ? places.args.get("kernel")?.span : undefined) ??
      places.at;
    try {
      if (word === "input" && this.net.input) inputNotFirst(places.at);
      const attrs = new Map<string, BoundAttr>();
      // The elaborator's provisional name for binding's messages: the scope's path and the word.
      const provisional = this.namer.prefix ? `${this.namer.prefix}/${word}` : word;
      const kindOf = (name: string) => op.attrs.find((a) => a.name === name)?.kind;
      const keyword = (name: string, v: unknown, span: Span) =>
        bindNamed(op, attrs, provisional, { name, span }, languageValue(v, kindOf(name)), span);
      // As the compiler: keywords, then bare arguments into the open attributes, then defaults.
      const own = Object.entries(o).filter(([, v]) => v !== undefined && !(v instanceof Bare));
      for (const [name, v] of own) keyword(name, v, spanOf(name));
      for (const [name, v] of Object.entries(o)) {
        if (!(v instanceof Bare) || v.value === undefined) continue;
        const value = languageValue(v.value, kindOf(name));
        const span = spanOf(name);
        bindPositional(op, attrs, provisional, { value, span, expr: formExpr(v.form) });
      }
      for (const [name, g] of this.opDefaults.get(word) ?? [])
        if (!attrs.has(name) && g.value !== undefined) keyword(name, g.value, g.span);
      if (makesNoLayer(word, attrs)) return x!;
      const name = nameLayer(this.namer, word, attrs);
      const input = x ? this.node(x).shape : [];
      const lowered = lowerLayer(op, { name, input, attrs, span: places.at });
      return this.emit(name, lowered, x ? [x] : []);
    } catch (e) {
      if (!(e instanceof DiagnosticError)) throw e;
      throw specError(this.reanchored(e.diagnostic, places));
    }
  }

  /**
   * The compiler's reanchoring (elaborate/reanchor.ts): an error about an option whose value is
   * the enclosing block's parameter, passed on unchanged, moves to the argument the block's caller
   * wrote for it, and on outwards while that argument is in turn the caller's parameter; each
   * place it leaves becomes a note.
   */
  private reanchored(d: Diagnostic, places: ReturnType<typeof parseSite>): Diagnostic {
    let via = [...places.args.values()].find((p) => p.span === d.span)?.via;
    let span = d.span;
    let notes = d.notes ?? [];
    for (let call = this.call; via !== undefined && call?.site !== undefined; call = call.outer) {
      const arg = parseSite(call.site).args.get(via);
      if (!arg) break;
      notes = [{ message: `inside ${call.block}, as '${via}'`, span }, ...notes];
      span = arg.span;
      via = arg.via;
    }
    return { ...d, span, ...(notes.length ? { notes } : {}) };
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
