import type {
  Arg,
  BlockDecl,
  Body,
  Element,
  LayerStmt,
  NetworkDecl,
  ResidualStmt,
} from "../../../grammar/ast.js";
import type { Span } from "../../../grammar/span.js";
import {
  DiagnosticError,
  error,
  fail,
  type Diagnostic,
  type Note,
} from "../../../grammar/diagnostic.js";
import { activationTable } from "../ir/activations.js";
import type { BlockCall, IRGraph, IRNode } from "../ir/types.js";
import { bindOpArgs, bindParams, type BoundArg } from "./bind.js";
import { applyDefaults, defaultsWord, type OpDefaults } from "./defaults.js";
import { evaluate } from "./evaluate.js";
import {
  addProblem,
  concatProblem,
  concatShape,
  joined,
  mulShape,
  residualProblem,
} from "./joins.js";
import {
  repeatCountProblem,
  inputNotFirst,
  lowerLayer,
  makesNoLayer,
  nameLayer,
  noLayers,
} from "./layer.js";
import { Namer } from "./namer.js";
import { ops } from "./ops/catalogue.js";
import type { Lowered, Snapped } from "./ops/spec.js";
import { Scope } from "./scope.js";
import { limits } from "../../../grammar/limits.js";
import { SizeBound } from "./size.js";
import { isUnset, show, toJson, typeName, type Value } from "./values.js";
import { markNamedArgument, NamedValueError, reanchorAtCall } from "./reanchor.js";

export interface Tensor {
  readonly id: number;
  readonly shape: readonly number[];
}

export interface Declarations {
  readonly blocks: ReadonlyMap<string, BlockDecl>;
  readonly networks: ReadonlyMap<string, NetworkDecl>;
}

export type ElaborateResult =
  { ok: true; graph: IRGraph; snapped: readonly Snapped[] } | { ok: false; diagnostic: Diagnostic };

export interface ElaborateOptions {
  /** Move partition counts that do not divide a layer to the nearest that does, and record it. */
  readonly snap?: boolean;
  /**
   * Told of each block call once its body is built, with the ids of the nodes it produced
   * (`first` up to `end`, exclusive): editors sum a call's figures from them.
   */
  readonly onBlockCall?: (call: LayerStmt, first: number, end: number) => void;
  /** The most layers the network may elaborate to (default `limits.layers`). */
  readonly maxLayers?: number;
}

/** A network's totals, as IRGraph.totals gives them, without its graph. */
export type Totals = IRGraph["totals"];

export type CountResult = { ok: true; totals: Totals } | { ok: false; diagnostic: Diagnostic };

/**
 * What block calls made, by call: a design space elaborates the same calls (the same block, with
 * equal arguments, on an input of the same shape, as deep) over and over, and their counts and
 * validity depend on nothing else (a block's body sees only its parameters and its input). Hold
 * one across the configurations of a search; `countNetwork` fills it.
 */
export class CountMemo {
  readonly calls = new Map<string, CallOutcome>();
}

/** What one block call made: its output's shape and counts, or the error it ended with. */
type CallOutcome =
  | {
      readonly ok: true;
      readonly shape: readonly number[];
      readonly layers: number;
      readonly steps: number;
      /** The most layers a limit check inside it asked for, counted from the call's first layer. */
      readonly peak: number;
      readonly trainable: number;
      readonly nonTrainable: number;
      readonly macs: number;
    }
  | { readonly ok: false; readonly error: DiagnosticError };

// Far beyond any real network; a guard against runaway recursion the static check missed.
const maxDepth = 64;
// Call-site notes on one diagnostic; deeper calls are counted, not listed.
const maxNotes = 8;

/**
 * Instantiates a network: binds its arguments, expands blocks, unrolls repeats, evaluates every
 * expression and lowers each layer to an IR node with its shape, parameters and MACs.
 */
export function elaborate(
  decls: Declarations,
  network: NetworkDecl,
  args: readonly (Arg | BoundArg)[],
  opts: ElaborateOptions = {},
): ElaborateResult {
  const e = new Elaborator(decls, opts.snap ?? false, opts.onBlockCall);
  e.maxLayers = opts.maxLayers ?? limits.layers;
  try {
    return { ok: true, graph: e.network(network, args), snapped: e.snapped };
  } catch (err) {
    return { ok: false, diagnostic: failure(err, e, network) };
  }
}

/**
 * A network's parameter and MAC totals, exactly as `elaborate` gives them (and failing exactly
 * where it fails), without making its graph: no node, name path or block chain is kept, and a
 * block call found in `memo` is not expanded again. What a search counts per configuration. A
 * failure inside a remembered call reports the diagnostic of the call first seen, which may be
 * located at another call site.
 */
export function countNetwork(
  decls: Declarations,
  network: NetworkDecl,
  args: readonly (Arg | BoundArg)[],
  memo: CountMemo,
  opts: Omit<ElaborateOptions, "onBlockCall"> = {},
): CountResult {
  const e = new Elaborator(decls, opts.snap ?? false, undefined, memo);
  e.maxLayers = opts.maxLayers ?? limits.layers;
  try {
    return { ok: true, totals: e.count(network, args) };
  } catch (err) {
    return { ok: false, diagnostic: failure(err, e, network) };
  }
}

/** An elaboration's exception as its diagnostic, with the block calls it happened in as notes. */
function failure(err: unknown, e: Elaborator, network: NetworkDecl): Diagnostic {
  {
    // The parser's limits keep every recursion here shallow; this is the last line of defence.
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      return error(
        "E0104",
        network.name.span,
        `network ${network.name.name} nests too deeply to be built`,
        "flatten nested blocks, repeats and expressions",
      );
    }
    if (!(err instanceof DiagnosticError)) throw err;
    const calls = e.calls.slice().reverse();
    const notes: Note[] = calls
      .slice(0, maxNotes)
      .map((c) => ({ message: `in ${c.name()}, called here`, span: c.span }));
    if (calls.length > maxNotes)
      notes.push({ message: `and ${calls.length - maxNotes} calls further out` });
    const d = err.diagnostic;
    return notes.length ? { ...d, notes: [...(d.notes ?? []), ...notes] } : d;
  }
}

class Elaborator {
  /** The graph's nodes; left empty when only counting. */
  readonly nodes: IRNode[] = [];
  /** Layers made so far (the next node's id), and their totals. */
  private made = 0;
  private trainable = 0;
  private nonTrainable = 0;
  private macs = 0;
  /** The most layers a limit check has asked for so far (see `room`). */
  private peak = 0;
  /** The block calls in progress; left as they were at a failure, to say where it happened. */
  readonly calls: { name: () => string; span: Span }[] = [];
  /** The block calls being expanded, outermost first: every node made now is inside them. */
  private chain: readonly BlockCall[] = [];
  /** What the `defaults` statements in force set: for the rest of their body and the blocks it calls. */
  private opDefaults: OpDefaults = new Map();
  private readonly taken = new Set<string>();
  private readonly size: SizeBound;

  readonly snapped: Snapped[] = [];
  maxLayers: number = limits.layers;
  /** Elements expanded so far: bounds the work of repeats whose bodies make no layers. */
  private steps = 0;

  constructor(
    private readonly decls: Declarations,
    private readonly snap: boolean,
    private readonly onBlockCall?: ElaborateOptions["onBlockCall"],
    /** Counting only: no nodes are kept, and block calls are remembered here. */
    private readonly memo?: CountMemo,
  ) {
    this.size = new SizeBound(decls);
  }

  network(decl: NetworkDecl, args: readonly (Arg | BoundArg)[]): IRGraph {
    const { params, out } = this.expand(decl, args);
    const input = this.nodes.find((n) => n.op === "input");
    return {
      format: "archc-ir",
      version: 1,
      network: decl.name.name,
      args: Object.fromEntries([...params].map(([k, v]) => [k, toJson(v)])),
      input: input?.shape ?? [],
      output: out.id,
      nodes: this.nodes,
      activations: activationTable(this.nodes),
      totals: this.totals(),
    };
  }

  count(decl: NetworkDecl, args: readonly (Arg | BoundArg)[]): Totals {
    this.expand(decl, args);
    return this.totals();
  }

  private totals(): Totals {
    const { trainable, nonTrainable } = this;
    return {
      params: { total: trainable + nonTrainable, trainable, nonTrainable },
      macs: this.macs,
    };
  }

  private expand(
    decl: NetworkDecl,
    args: readonly (Arg | BoundArg)[],
  ): { params: Map<string, Value>; out: Tensor } {
    const params = bindParams(decl, args, new Scope(), new Scope(), decl.name.span);
    const holder: { cur?: Tensor } = {};
    const scope = new Scope(undefined, () => channelsOf(holder.cur));
    for (const [k, v] of params) scope.set(k, v);
    const out = this.body(decl.body, undefined, scope, new Namer("", this.taken), holder);
    if (!out) {
      const p = noLayers(decl.name.name);
      fail("E0405", decl.name.span, p.message, p.hint);
    }
    return { params, out };
  }

  /**
   * Runs a body's statements in order, each continuing from the tensor the previous one left.
   * `holder.cur` is what `in` reads, so it is kept current after every element.
   */
  private body(
    body: Body,
    x: Tensor | undefined,
    scope: Scope,
    namer: Namer,
    holder: { cur?: Tensor } = {},
  ): Tensor | undefined {
    holder.cur = x;
    const outer = this.opDefaults;
    try {
      for (const stmt of body.stmts) {
        if (stmt.kind === "Let") {
          scope.set(stmt.name.name, evaluate(stmt.value, scope));
          continue;
        }
        for (const el of stmt.elements) {
          holder.cur = this.element(el, holder.cur, scope, namer);
        }
      }
    } finally {
      this.opDefaults = outer;
    }
    return holder.cur;
  }

  /** A nested body (branch, repeat, if) with its own `in` and its own `let`s. */
  private sub(body: Body, x: Tensor | undefined, scope: Scope, namer: Namer): Tensor | undefined {
    const holder: { cur?: Tensor } = { cur: x };
    return this.body(body, x, new Scope(scope, () => channelsOf(holder.cur)), namer, holder);
  }

  private element(
    el: Element,
    x: Tensor | undefined,
    scope: Scope,
    namer: Namer,
  ): Tensor | undefined {
    this.step(el.span);
    switch (el.kind) {
      case "Layer":
        return this.layer(el, x, scope, namer);
      case "Repeat": {
        const count = evaluate(el.count, scope);
        const problem = repeatCountProblem(
          count,
          el.count.kind === "Number" ? el.count.raw : undefined,
        );
        if (problem) fail("E0502", el.count.span, problem.message, problem.hint);
        const n = (count as { v: number }).v;
        const least = n * this.size.body(el.body);
        this.room(
          this.made + least,
          el.span,
          () => `repeat ${n} makes at least ${showCount(least)} layers`,
        );
        let cur = x;
        for (let i = 0; i < n; i++) {
          if (i > 0) this.step(el.span);
          const before = this.made;
          const iter = new Scope(scope, scope.inChannels);
          if (el.index) iter.set(el.index.name, { t: "int", v: i });
          cur = this.sub(el.body, cur, iter, namer);
          // After the first pass, what all of them will make is known: refuse before making it.
          const per = this.made - before;
          if (i === 0 && per > 0)
            this.room(
              before + per * n,
              el.span,
              () =>
                `repeat ${n} of a body with ${per} layer${per === 1 ? "" : "s"} makes ${showCount(per * n)} layers`,
            );
        }
        return cur;
      }
      case "If": {
        const test = evaluate(el.test, scope);
        if (test.t !== "bool") {
          fail(
            "E0500",
            el.test.span,
            `if needs true or false, not ${typeName(test)} (${show(test)})`,
          );
        }
        if (test.v) return this.sub(el.then, x, scope, namer);
        return el.otherwise ? this.sub(el.otherwise, x, scope, namer) : x;
      }
      case "Branches": {
        const input = this.need(x, el.span, el.join);
        const outs = el.branches.map((b) => this.sub(b, input, scope, namer) ?? input);
        if (outs.length === 0) fail("E0302", el.span, `${el.join} needs at least one branch`);
        if (outs.length === 1) return outs[0];
        if (el.join === "mul")
          return this.mul(
            outs,
            el.span,
            namer,
            el.branches.map((b) => b.span),
          );
        return el.join === "concat"
          ? this.concat(outs, el.span, namer)
          : this.add(
              outs,
              el.span,
              namer,
              "add",
              el.branches.map((b) => b.span),
            );
      }
      case "Residual":
        return this.residual(el, x, scope, namer);
    }
  }

  private need(x: Tensor | undefined, span: Span, what: string): Tensor {
    if (!x)
      fail(
        "E0405",
        span,
        `${what} has no input: a network starts with input HxWxC`,
        "write e.g. input 224x224x3 first",
      );
    return x;
  }

  private residual(
    el: ResidualStmt,
    x: Tensor | undefined,
    scope: Scope,
    namer: Namer,
  ): Tensor | undefined {
    const input = this.need(x, el.span, "residual");
    let enabled = true;
    for (const arg of el.args) {
      if (arg.name && arg.name.name !== "enabled") {
        fail(
          "E0300",
          arg.name.span,
          `residual has no argument '${arg.name.name}'`,
          "its one argument is enabled = true | false",
        );
      }
      const v = evaluate(arg.value, scope);
      if (v.t !== "bool")
        fail("E0303", arg.value.span, `residual: enabled must be true or false, not ${show(v)}`);
      enabled = v.v;
    }
    const y = this.sub(el.body, input, scope, namer) ?? input;
    if (!enabled) return y;
    const s = el.shortcut ? (this.sub(el.shortcut, input, scope, namer) ?? input) : input;
    const problem = residualProblem(y.shape, s.shape, el.shortcut !== undefined);
    if (problem) fail("E0402", el.span, problem.message, problem.hint);
    return this.add([y, s], el.span, namer, "add");
  }

  private concat(xs: Tensor[], span: Span, namer: Namer): Tensor {
    const problem = concatProblem(xs.map((t) => t.shape));
    if (problem) fail("E0403", span, problem.message, problem.hint);
    const shape = concatShape(xs.map((t) => t.shape));
    return this.emit(namer.fresh("concat"), span, xs, joined("concat", shape));
  }

  private add(
    xs: Tensor[],
    span: Span,
    namer: Namer,
    base: string,
    branchSpans?: readonly Span[],
  ): Tensor {
    const first = xs[0]!;
    const odd = xs.findIndex((t) => !sameShape(t.shape, first.shape));
    const problem = addProblem(xs.map((t) => t.shape));
    if (problem && branchSpans?.[odd] && branchSpans[0]) {
      throw new DiagnosticError({
        ...error("E0402", branchSpans[odd], problem.message, problem.hint),
        notes: [{ message: problem.first, span: branchSpans[0] }],
      });
    }
    if (odd > 0) {
      fail(
        "E0402",
        span,
        `add: branches must have equal shapes, but they give ${xs.map((t) => `[${t.shape.join(", ")}]`).join(", ")}`,
      );
    }
    return this.emit(namer.fresh(base), span, xs, joined("add", first.shape));
  }

  /** `mul { ... }`: the element-wise product; a per-channel gate scales an image (joins.ts). */
  private mul(xs: Tensor[], span: Span, namer: Namer, branchSpans: readonly Span[]): Tensor {
    const r = mulShape(xs.map((t) => t.shape));
    if ("problem" in r) {
      const p = r.problem;
      const at = branchSpans[p.odd] ?? span;
      const ref = branchSpans[p.ref];
      throw new DiagnosticError({
        ...error("E0402", at, p.message, p.hint),
        ...(ref ? { notes: [{ message: p.first, span: ref }] } : {}),
      });
    }
    return this.emit(namer.fresh("mul"), span, xs, joined("mul", r.shape));
  }

  private layer(
    stmt: LayerStmt,
    x: Tensor | undefined,
    scope: Scope,
    namer: Namer,
  ): Tensor | undefined {
    const name = stmt.callee.name;
    if (name === defaultsWord) {
      this.opDefaults = applyDefaults(stmt, scope, this.opDefaults);
      return x;
    }
    const op = ops.get(name);
    if (op) {
      if (name === "input") {
        if (x) inputNotFirst(stmt.span);
      } else this.need(x, stmt.span, name);
      const provisional = `${namer.prefix ? namer.prefix + "/" : ""}${name}`;
      let attrs: ReturnType<typeof bindOpArgs>;
      try {
        attrs = bindOpArgs(op, stmt, scope, provisional, this.opDefaults.get(name));
      } catch (e) {
        throw markNamedArgument(e, stmt);
      }
      if (makesNoLayer(name, attrs)) return x;
      const layerName = nameLayer(namer, name, attrs);
      let lowered: Lowered;
      try {
        lowered = lowerLayer(op, {
          name: layerName,
          input: x?.shape ?? [],
          attrs,
          span: stmt.span,
          ...(this.snap ? { snap: (s: Snapped) => this.snapped.push(s) } : {}),
        });
      } catch (e) {
        throw markNamedArgument(e, stmt);
      }
      return this.emit(layerName, stmt.span, x ? [x] : [], lowered);
    }
    const block = this.decls.blocks.get(name);
    if (block) return this.block(block, stmt, x, scope, namer);
    if (this.decls.networks.has(name)) {
      fail(
        "E0206",
        stmt.callee.span,
        `${name} is a network; only blocks and layers can be used in a chain`,
        "turn the shared part into a block",
      );
    }
    fail("E0203", stmt.callee.span, `unknown layer or block '${name}'`);
  }

  private block(
    decl: BlockDecl,
    stmt: LayerStmt,
    x: Tensor | undefined,
    scope: Scope,
    namer: Namer,
  ): Tensor | undefined {
    if (this.calls.length >= maxDepth) {
      fail(
        "E0205",
        stmt.span,
        `block calls nest more than ${maxDepth} deep here, calling ${decl.name.name}`,
        `a block may call blocks at most ${maxDepth} levels deep; flatten the chain of calls`,
      );
    }
    const least = this.size.block(decl);
    this.room(
      this.made + least,
      stmt.span,
      () => `${decl.name.name} makes at least ${showCount(least)} layers`,
    );
    const holder: { cur?: Tensor } = { cur: x };
    const inner = new Scope(undefined, () => channelsOf(holder.cur));
    const params = bindParams(decl, stmt.args, scope, inner, stmt.span);
    for (const [k, v] of params) inner.set(k, v);
    this.calls.push({
      name: () => `${decl.name.name}(${[...params.values()].map(show).join(", ")})`,
      span: stmt.span,
    });
    const first = this.made;
    const instance = namer.fresh(decl.name.name);
    // The names made inside sit under `instance`, which is new: skipping them clashes with nothing.
    const key = this.memo && callKey(decl, params, x, this.calls.length, this.snap);
    const known = key === undefined ? undefined : this.memo!.calls.get(key);
    if (known) {
      if (!known.ok) throw known.error;
      if (this.fits(known)) {
        this.calls.pop();
        return this.replay(known);
      }
      // Over a limit here: expanded again, it fails where elaborate() fails.
    }
    const outer = this.chain;
    if (!this.memo)
      this.chain = [
        ...outer,
        {
          block: decl.name.name,
          instance: instance.slice(instance.lastIndexOf("/") + 1),
          call: {
            file: stmt.span.file,
            line: stmt.span.start.line,
            column: stmt.span.start.column,
            endLine: stmt.span.end.line,
            endColumn: stmt.span.end.column,
          },
          // A parameter left at `default` was not given: it has no value to record.
          args: Object.fromEntries(
            [...params].flatMap(([k, v]) => (isUnset(v) ? [] : [[k, toJson(v)]])),
          ),
        },
      ];
    const before = { made: this.made, steps: this.steps, peak: this.peak, ...this.totals() };
    this.peak = this.made;
    let out: Tensor | undefined;
    try {
      out = this.body(decl.body, x, inner, namer.nested(instance), holder);
    } catch (e) {
      const moved = reanchorAtCall(e, decl, stmt.args);
      // Moved to this call's argument, the error is the caller's: this call is no longer a note.
      if (moved) this.calls.pop();
      // A name that was not this block's parameter means nothing to the blocks further out.
      const thrown =
        moved ?? (e instanceof NamedValueError ? new DiagnosticError(e.diagnostic) : e);
      // Limits depend on what came before the call; every other error on the call alone.
      if (
        key !== undefined &&
        thrown instanceof DiagnosticError &&
        thrown.diagnostic.code !== "E0503"
      )
        this.memo!.calls.set(key, { ok: false, error: thrown });
      throw thrown;
    } finally {
      this.chain = outer;
    }
    const peak = this.peak - before.made;
    this.peak = Math.max(before.peak, this.peak);
    if (key !== undefined && out)
      this.memo!.calls.set(key, {
        ok: true,
        shape: out.shape,
        layers: this.made - before.made,
        steps: this.steps - before.steps,
        peak,
        trainable: this.trainable - before.params.trainable,
        nonTrainable: this.nonTrainable - before.params.nonTrainable,
        macs: this.macs - before.macs,
      });
    this.calls.pop();
    this.onBlockCall?.(stmt, first, this.made);
    return out;
  }

  /** Whether a remembered call, made from here, passes every limit check it made. */
  private fits(c: CallOutcome & { ok: true }): boolean {
    return (
      this.made + c.peak <= this.maxLayers && this.steps + c.steps <= stepLimit(this.maxLayers)
    );
  }

  /** A remembered call's effect on the counts, as if its body were expanded here. */
  private replay(c: CallOutcome & { ok: true }): Tensor {
    this.peak = Math.max(this.peak, this.made + c.peak);
    this.made += c.layers;
    this.steps += c.steps;
    this.trainable += c.trainable;
    this.nonTrainable += c.nonTrainable;
    this.macs += c.macs;
    return { id: this.made - 1, shape: c.shape };
  }

  /** Counts the work of each element expanded; see `steps`. */
  private step(span: Span): void {
    if (++this.steps > stepLimit(this.maxLayers)) {
      fail(
        "E0503",
        span,
        `expanding this network takes more than ${showCount(stepLimit(this.maxLayers))} steps (repeats of bodies that make no layers?)`,
        `the work is bounded by four times the layer limit of ${showCount(this.maxLayers)}; --max-layers raises it`,
      );
    }
  }

  /**
   * Refuses to go on when `layers` (what the network will have at least) is over the limit. The
   * most asked for is kept: a remembered block call fits where its own checks would all pass.
   */
  private room(layers: number, span: Span, what: () => string): void {
    if (layers > this.peak) this.peak = layers;
    if (layers > this.maxLayers) this.tooMany(span, what());
  }

  private tooMany(span: Span, what: string): never {
    fail(
      "E0503",
      span,
      `${what}, which takes the network past the limit of ${showCount(this.maxLayers)} layers`,
      "--max-layers N raises the limit",
    );
  }

  private emit(name: string, span: Span, inputs: Tensor[], l: Lowered): Tensor {
    const id = this.made;
    this.room(id + 1, span, () => "the network grows past the limit here");
    this.made++;
    this.trainable += l.params.trainable;
    this.nonTrainable += l.params.nonTrainable;
    this.macs += l.macs;
    if (this.memo) return { id, shape: l.shape };
    const node = {
      id,
      name,
      ...l,
      inputs: inputs.map((t) => t.id),
      source: { file: span.file, line: span.start.line, column: span.start.column },
      blocks: this.chain,
    } as IRNode;
    this.nodes.push(node);
    return { id, shape: node.shape };
  }
}

/** Elements the expansion may take: bounds repeats of bodies that make no layers. */
function stepLimit(maxLayers: number): number {
  return maxLayers * 4 + 1000;
}

/**
 * The identity of a block call for CountMemo: the block, its arguments' values (typed: 1 and
 * 1.0 differ), the input's shape, how deep it is called (the nesting limit) and whether partition
 * counts snap.
 */
function callKey(
  decl: BlockDecl,
  params: ReadonlyMap<string, Value>,
  x: Tensor | undefined,
  depth: number,
  snap: boolean,
): string {
  return `${decl.name.name}|${depth}|${snap}|${x ? x.shape.join("x") : "-"}|${JSON.stringify([...params.values()])}`;
}

function channelsOf(t: Tensor | undefined): number | undefined {
  return t ? t.shape[t.shape.length - 1] : undefined;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** 1234567 -> "1,234,567"; counts past what a double holds exactly read as "about 1.1e+12". */
function showCount(n: number): string {
  return Number.isSafeInteger(n) ? n.toLocaleString("en-US") : `about ${n.toPrecision(2)}`;
}
