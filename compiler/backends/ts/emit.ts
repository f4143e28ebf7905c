import { Project } from "ts-morph";
import * as prettier from "prettier";
import type {
  BlockDecl,
  Body,
  Element,
  Expr,
  LayerStmt,
  NetworkDecl,
  Param,
} from "../../../grammar/ast.js";
import type { Program } from "../../language/program.js";
import type { IRGraph } from "../../language/ir/types.js";
import type { BoundArg } from "../../language/elaborate/bind.js";
import { evaluate } from "../../language/elaborate/evaluate.js";
import { Scope } from "../../language/elaborate/scope.js";
import { toJson, type Json, type Value } from "../../language/elaborate/values.js";
import { DiagnosticError } from "../../../grammar/diagnostic.js";
import type { Span } from "../../../grammar/span.js";
import { passesOn } from "../../language/elaborate/reanchor.js";
import { defaultsCall, defaultsWord } from "../../language/elaborate/defaults.js";
import { floatLiteral, hasDivision } from "../../language/elaborate/bind.js";
import { ops } from "../../language/elaborate/ops/catalogue.js";
import type { OpSpec } from "../../language/elaborate/ops/spec.js";
import { unsetWord } from "../../language/elaborate/values.js";
import {
  bindCall,
  bindLayer,
  docComment,
  exprType,
  inferTypes,
  StructureError,
  symbolType,
  usedBlocks,
  walkExpr,
  type Decl,
  type Lookup,
  type ParamTypes,
  type StaticType,
} from "../structured/analysis.js";
import { exprKind, inferKinds, localNames, type Kind, type Kinds } from "./kinds.js";
import { tsDoc, tsLineComments, tsNames, tsOptionKeys, tsReserved, tsString } from "./print.js";

export interface EmitOptions {
  /** Where generated code imports its runtime from; the published package by default. */
  readonly layersModule?: string;
  /** Shown in the header: the spec the module was generated from. */
  readonly source?: string;
  /**
   * The network's arguments as built (`--set` values included): those that differ from the
   * spec's defaults become the generated defaults.
   */
  readonly graph?: IRGraph;
  /**
   * The `--set` arguments the graph was built with. Each that differs from the spec's default
   * becomes the generated default, of its own kind: `--set k=2.0` is `k = num.float(2.0)`, which
   * the graph's JSON arguments cannot tell from 2. Without them, `graph`'s arguments are read.
   */
  readonly sets?: readonly BoundArg[];
}

export { StructureError };

/**
 * Writes a network as a TypeScript module that reads like its spec: one exported function per
 * block (typed parameters, the spec's defaults and comment), `repeat` as a loop, `if` as `if`,
 * arithmetic as arithmetic, and `build(options)` with the network's arguments as typed options.
 * Layers are made by `Builder` from `archc/layers`, which names them as the compiler does and
 * runs the compiler's argument-dependent checks, so `build(o)` is the runtime's model at `o`.
 */
export async function emitTypeScript(
  program: Program,
  network: NetworkDecl,
  opts: EmitOptions = {},
): Promise<string> {
  const table = program.table;
  const blocks = usedBlocks(table, network);
  const types = inferTypes(table, [...blocks, network]);
  const kinds = inferKinds(table, [...blocks, network], types);
  const project = new Project({ useInMemoryFileSystem: true });
  const file = project.createSourceFile(`${network.name.name}.ts`);
  const optionsName = `${pascal(network.name.name)}Options`;
  // build(options) calls the block functions: none may be named `options`.
  const fnNames = tsNames(
    blocks.map((b) => b.name.name),
    [...topLevel, optionsName, "options"],
  );
  const used = new Set<string>();
  const keys = new Map(
    [...blocks, network].map((d) => [d, tsOptionKeys(d.params.map((p) => p.name.name))]),
  );
  const key = (d: Decl, name: string) => keys.get(d)!.get(name)!;
  const root = program.loaded.modules[0];
  const fileNames = new Map(
    program.loaded.modules.map((m) => [
      m.file,
      m === root && opts.source
        ? opts.source
        : m.importedAs?.startsWith("std/")
          ? m.importedAs
          : m.file,
    ]),
  );
  const ctx: ModuleContext = {
    program,
    types,
    kinds,
    fnNames,
    used,
    key,
    sites: [],
    fileName: (f) => fileNames.get(f) ?? f,
  };

  const netTypes = types.get(network)!;
  file.addInterface({
    name: optionsName,
    isExported: true,
    docs: [tsDoc(`The arguments of network ${network.name.name}; \`build\` takes any of them.`)],
    properties: network.params.map((p) => ({
      name: key(network, p.name.name),
      type: tsType(netTypes.get(p.name.name) ?? "unknown", "network", used),
    })),
  });
  for (const b of blocks) {
    const f = new FunctionEmitter(ctx, b);
    file.addFunction({
      name: fnNames.get(b.name.name)!,
      isExported: true,
      docs: docs(docComment(program.loaded, b)),
      parameters: f.parameters(),
      returnType: "Tensor",
      statements: f.body(),
    });
  }
  const f = new FunctionEmitter(ctx, network);
  const required = network.params
    .filter((p) => !p.default)
    .map((p) => tsString(key(network, p.name.name)));
  const totals = opts.graph?.totals;
  const buildDoc = [
    docComment(program.loaded, network) ?? `Network ${network.name.name}.`,
    totals
      ? `At the defaults: ${totals.params.total.toLocaleString("en-US")} parameters, ${macs(totals.macs)} per example.\nEach call makes a new model with freshly initialised weights.`
      : "Each call makes a new model with freshly initialised weights.",
  ].join("\n\n");
  file.addFunction({
    name: "build",
    isExported: true,
    docs: [tsDoc(buildDoc)],
    parameters: [
      {
        name: "options",
        type: required.length
          ? `Partial<${optionsName}> & Pick<${optionsName}, ${required.join(" | ")}>`
          : `Partial<${optionsName}>`,
        ...(required.length ? {} : { initializer: "{}" }),
      },
    ],
    returnType: "tf.LayersModel",
    statements: f.networkBody(opts.graph?.args, opts.sets),
  });
  if (ctx.sites.length) {
    file.addStatements([
      "",
      ...tsLineComments(
        "Where build() checks what the spec says, for its errors to point there: each statement's and expression's file:line:column, then its arguments' (`<p`: passed in as the block's parameter p).",
      ),
      `const at: readonly string[] = [${ctx.sites.map((x) => tsString(x)).join(", ")}];`,
    ]);
  }
  const runtime = ["Builder", ...[...used].sort()];
  if (f.usesChannels || ctx.usesChannels) runtime.splice(1, 0, "channels");
  file.insertStatements(
    0,
    [
      ...tsLineComments(
        `Generated by archc${opts.source ? ` from ${opts.source}` : ""}. Do not edit: change the spec and compile again.`,
      ),
      `import type * as tf from "@tensorflow/tfjs";`,
      `import { ${runtime.map((n) => (/^[A-Z]/.test(n) && n !== "Builder" ? `type ${n}` : n)).join(", ")} } from ${tsString(opts.layersModule ?? "archc/layers")};`,
      "",
      "",
    ].join("\n"),
  );
  return prettier.format(file.getFullText(), { parser: "typescript", printWidth: 100 });
}

interface ModuleContext {
  readonly program: Program;
  readonly types: ParamTypes;
  /** Which values may be floats: arithmetic on them goes through the runtime's `num`. */
  readonly kinds: Kinds;
  readonly fnNames: ReadonlyMap<string, string>;
  /** Runtime types the module refers to: Tensor, Parts, Activation, ... */
  readonly used: Set<string>;
  /** The options-object key of a declaration's parameter (print.ts, `tsOptionKeys`). */
  readonly key: (decl: Decl, param: string) => string;
  /** The sites table (runtime/sites.ts): where each checked statement and expression is. */
  readonly sites: string[];
  /** A spec file as generated code names it: the root as given, the library as `std/...`. */
  readonly fileName: (file: string) => string;
  usesChannels?: boolean;
}

/** Names the module itself defines or imports. */
const topLevel = new Set(["tf", "Builder", "channels", "build", "Tensor", "Parts", "Size"]);
for (const t of ["Activation", "Order", "Padding", "Pads", "Shape"]) topLevel.add(t);
for (const f of ["numeric", "mod", "idiv", "num", "Num", "bare", "at"]) topLevel.add(f);

function pascal(name: string): string {
  const p = name
    .split(/_+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
  // `_1` would be `1`: not an identifier.
  return /^[A-Za-z_$]/.test(p) ? p : `_${p}`;
}

function docs(text: string | undefined): string[] {
  return text ? [tsDoc(text)] : [];
}

/**
 * The TypeScript type of a static type; runtime aliases are recorded as used. A number that may
 * be a float (`kind`) is a `Num`: a whole float is a `Float` at run time.
 */
function tsType(
  t: StaticType,
  where: "network" | "block",
  used: Set<string>,
  kind: Kind = "int",
): string {
  switch (t) {
    case "int":
    case "float":
    case "number":
    case "unknown":
      if (where === "network" || kind === "int" || kind === "none") return "number";
      used.add("Num");
      return "Num";
    case "bool":
      return "boolean";
    case "string":
      return "string";
    case "size":
      used.add("Size");
      return "Size";
    case "shape":
      return "readonly [number, number, number]";
    case "padding":
      return `"same" | "valid"`;
    case "pads":
      used.add("Pads");
      return "Pads";
    case "order":
      return `"spatial_first" | "pointwise_first"`;
    case "activation":
      used.add("Activation");
      return "Activation";
    case "parts":
      if (where === "network") return `number | "regular" | "depthwise"`;
      used.add("Parts");
      return "Parts";
  }
}

// TypeScript's binding strengths for the operators archc writes.
const tsPrec: Record<string, number> = {
  or: 3,
  and: 4,
  "==": 8,
  "!=": 8,
  "<": 9,
  "<=": 9,
  ">": 9,
  ">=": 9,
  "+": 11,
  "-": 11,
  "*": 12,
  "/": 12,
};
const tsOp: Record<string, string> = { or: "||", and: "&&", "==": "===", "!=": "!==" };
/** The runtime's `num` function for an operator, where an operand may be a float. */
const numOps: Record<string, string> = {
  "+": "add",
  "-": "sub",
  "*": "mul",
  "/": "div",
  "//": "idiv",
  "%": "mod",
  "<": "lt",
  "<=": "le",
  ">": "gt",
  ">=": "ge",
};
const mathFns = new Set(["min", "max", "abs", "floor", "ceil", "round", "log", "pow"]);
/** The functions JavaScript's Math computes as the language does on integers. */
const plainMath = new Set(["min", "max", "abs", "floor", "ceil", "round"]);

/**
 * A tensor flowing through a body: a variable, or before its first assignment the expression it
 * starts from (a branch starts from its input without copying it).
 */
interface Cursor {
  readonly name: string;
  declared: boolean;
  start: string;
}

/** Writes one block function or the network's `build`. */
class FunctionEmitter {
  private readonly lines: string[] = [];
  /** Identifiers taken in this function: the spec's names and the ones emitted. */
  private readonly taken = new Set<string>();
  /** The spec's names (parameters, lets, repeat indices) as TypeScript identifiers. */
  private readonly locals = new Map<string, string>();
  /** The builder scope in force: a nested body with `defaults` has its own. */
  private s: string;
  private readonly x: string;
  private readonly declaredAt = new Map<string, number>();
  /** The spec's comments inside the declaration, carried over before what follows them. */
  private readonly comments: { line: number; text: string }[];
  private readonly assignments = new Map<string, number>();
  /** The spec's names bound in this declaration: parameters, lets, repeat indices. */
  private readonly localSet: Set<string>;
  usesChannels = false;

  constructor(
    private readonly ctx: ModuleContext,
    private readonly decl: Decl,
  ) {
    this.localSet = localNames(decl);
    const specNames = new Set<string>();
    for (const p of decl.params) specNames.add(p.name.name);
    walkBody(decl.body, (n) => specNames.add(n));
    for (const p of decl.params) {
      if (p.default) walkExpr(p.default, (e) => e.kind === "Name" && specNames.add(e.name));
    }
    // `in` is written channels(x): only then may no name of the spec's be `channels`.
    const module = [...topLevel].filter((n) => n !== "channels" || specNames.has("in"));
    // build(options) destructures its parameter: no option may be bound as `options`.
    const own = decl.kind === "NetworkDecl" ? ["options"] : [];
    const reserved = [...module, ...ctx.fnNames.values(), ...own];
    specNames.delete("in");
    for (const [n, id] of tsNames(specNames, reserved, this.taken)) this.locals.set(n, id);
    for (const n of [...specNames, ...reserved]) this.taken.add(n);
    this.s = this.fresh("s");
    this.x = this.fresh("x");
    const mod = ctx.program.loaded.modules.find((m) => m.file === decl.span.file);
    this.comments = (mod?.comments ?? [])
      .filter((c) => c.startLine! > decl.span.start.line && c.startLine! < decl.span.end.line)
      .map((c) => ({ line: c.startLine!, text: c.image.replace(/^#\s?/, "").trimEnd() }));
  }

  /** Writes the spec's comments that come before `line`. */
  private commentsBefore(line: number): void {
    while (this.comments.length && this.comments[0]!.line < line) {
      this.lines.push(...tsLineComments(this.comments.shift()!.text));
    }
  }

  private get types(): Map<string, StaticType> {
    return this.ctx.types.get(this.decl)!;
  }

  private readonly lookup: Lookup = (n) => this.types.get(n);

  private fresh(base: string): string {
    let id = base;
    for (let i = 1; this.taken.has(id) || tsReserved.has(id); i++) id = `${base}${i}`;
    this.taken.add(id);
    return id;
  }

  private local(name: string): string {
    const id = this.locals.get(name);
    if (id === undefined) throw new Error(`internal: '${name}' was not collected as a local`);
    return id;
  }

  /** A block's parameters: the builder, the input, the leading required ones, then options. */
  parameters(): { name: string; type: string; initializer?: string }[] {
    this.ctx.used.add("Tensor");
    const params = this.decl.params;
    let lead = 0;
    while (lead < params.length && !params[lead]!.default) lead++;
    const out: { name: string; type: string; initializer?: string }[] = [
      { name: this.s, type: "Builder" },
      { name: this.x, type: "Tensor" },
    ];
    for (const p of params.slice(0, lead)) {
      out.push({ name: this.local(p.name.name), type: this.paramType(p) });
    }
    const rest = params.slice(lead);
    if (rest.length) {
      const pattern = rest.map((p) => this.destructure(p)).join(", ");
      const type = rest
        .map(
          (p) =>
            `${this.ctx.key(this.decl, p.name.name)}${p.default ? "?" : ""}: ${this.paramType(p)}`,
        )
        .join("; ");
      out.push({
        name: `{ ${pattern} }`,
        type: `{ ${type} }`,
        ...(rest.every((p) => p.default) ? { initializer: "{}" } : {}),
      });
    }
    return out;
  }

  private paramType(p: Param): string {
    const kind = this.ctx.kinds.get(this.decl)!.get(p.name.name) ?? "either";
    return tsType(this.types.get(p.name.name) ?? "unknown", "block", this.ctx.used, kind);
  }

  /** Whether an expression is an integer wherever it is evaluated (else it may be a float). */
  private isInt(e: Expr): boolean {
    return this.kindOf(e) === "int";
  }

  private mayBeFloat(e: Expr): boolean {
    const k = this.kindOf(e);
    return k === "float" || k === "either";
  }

  private kindOf(e: Expr): Kind {
    const kinds = this.ctx.kinds.get(this.decl)!;
    return (
      exprKind(e, (n) => (this.localSet.has(n) ? (kinds.get(n) ?? "either") : "none")) ?? "either"
    );
  }

  /** `num.f(args)`: the language's operator or function where an operand may be a float. */
  private num(f: string, args: readonly Expr[], cur: Cursor, at?: Span): [string, number] {
    this.ctx.used.add("num");
    const texts = args.map((a) => this.expr(a, cur));
    // An operator passes its expression's site where it may fail: a divisor that may be 0, or
    // an operand that may be a partition word or a list.
    const fails =
      at !== undefined &&
      (args.some((a) => this.mayBeWord(a)) ||
        (["div", "idiv", "mod"].includes(f) && !nonZero(args[1]!)));
    if (fails) texts.push(this.site(at));
    return [`num.${f}(${texts.join(", ")})`, 20];
  }

  private destructure(p: Param, value?: string): string {
    const id = this.local(p.name.name);
    const name = this.ctx.key(this.decl, p.name.name);
    const key = id === name ? id : `${name}: ${id}`;
    // A parameter that defaults to `default` is left undefined when not given.
    const unset = p.default?.kind === "Name" && p.default.name === unsetWord;
    const def =
      value ?? (p.default && !unset ? this.expr(p.default, this.cursorOf(this.x)) : undefined);
    return def === undefined ? key : `${key} = ${def}`;
  }

  private cursorOf(name: string): Cursor {
    return { name, declared: true, start: name };
  }

  body(): string {
    const cur = this.cursorOf(this.x);
    this.elements(this.decl.body, cur);
    this.commentsBefore(this.decl.span.end.line);
    this.lines.push(`return ${this.read(cur)};`);
    return this.finish();
  }

  networkBody(
    args: Readonly<Record<string, Json>> | undefined,
    sets: readonly BoundArg[] | undefined,
  ): string {
    const net = this.decl as NetworkDecl;
    const built = builtAt(net, args, sets);
    const values = net.params.map((p) => {
      const v = built.get(p.name.name);
      return this.destructure(p, v === undefined ? undefined : this.literal(v));
    });
    const unknown = this.fresh("unknown");
    this.lines.push(`const { ${[...values, `...${unknown}`].join(", ")} } = options;`);
    // The option keys (the parameters as build() spells them), for the compiler's "did you mean"
    // on an option the network does not have.
    const keys = net.params.map((p) => tsString(this.ctx.key(this.decl, p.name.name)));
    const params = `[${keys.join(", ")}]`;
    this.lines.push(
      `const ${this.s} = Builder.network(${tsString(net.name.name)}, ${unknown}, ${params});`,
    );
    const cur: Cursor = { name: this.x, declared: false, start: "" };
    this.elements(net.body, cur);
    if (!cur.declared) throw new StructureError(`network ${net.name.name} has no layers`);
    this.commentsBefore(this.decl.span.end.line);
    this.lines.push(`return ${this.s}.model(${this.x}, ${tsString(net.name.name)});`);
    return this.finish();
  }

  /** A network argument's value as a TypeScript literal of its kind. */
  private literal(v: Value | Json): string {
    if (!isValue(v)) return jsonLiteral(v);
    if (v.t === "float" && Number.isInteger(v.v)) {
      this.ctx.used.add("num");
      return `num.float(${/^-?\d+$/.test(String(v.v)) ? `${v.v}.0` : String(v.v)})`;
    }
    if (v.t === "list") return `[${v.items.map((i) => this.literal(i)).join(", ")}]`;
    return jsonLiteral(toJson(v));
  }

  private finish(): string {
    this.usesChannels ||= false;
    if (this.usesChannels) this.ctx.usesChannels = true;
    // A variable assigned only where it is declared is a const.
    for (const [name, at] of this.declaredAt) {
      if ((this.assignments.get(name) ?? 0) === 0)
        this.lines[at] = this.lines[at]!.replace(/^let /, "const ");
    }
    return this.lines.join("\n");
  }

  private read(cur: Cursor): string {
    return cur.declared ? cur.name : cur.start;
  }

  private assign(cur: Cursor, value: string): void {
    if (cur.declared) {
      this.lines.push(`${cur.name} = ${value};`);
      this.assignments.set(cur.name, (this.assignments.get(cur.name) ?? 0) + 1);
    } else {
      this.declaredAt.set(cur.name, this.lines.length);
      this.lines.push(`let ${cur.name} = ${value};`);
      cur.declared = true;
    }
  }

  /** Gives a cursor a variable before control flow assigns it in a nested block. */
  private materialize(cur: Cursor): void {
    if (!cur.declared) this.assign(cur, cur.start);
  }

  private elements(body: Body, cur: Cursor): void {
    const scope = this.s;
    this.elementsIn(body, cur);
    this.s = scope;
  }

  private elementsIn(body: Body, cur: Cursor): void {
    for (const stmt of body.stmts) {
      this.commentsBefore(stmt.span.start.line);
      if (stmt.kind === "Let") {
        this.lines.push(`const ${this.local(stmt.name.name)} = ${this.expr(stmt.value, cur)};`);
        continue;
      }
      for (const el of stmt.elements) {
        this.commentsBefore(el.span.start.line);
        this.element(el, cur);
      }
    }
  }

  /** A nested body; in braces of its own when it has `let`s, as they are scoped to it. */
  private nested(body: Body, cur: Cursor): void {
    // Braces of its own when it has `let`s or `defaults`, which are scoped to it.
    const scoped = body.stmts.some(
      (s) =>
        s.kind === "Let" ||
        s.elements.some((el) => el.kind === "Layer" && el.callee.name === defaultsWord),
    );
    if (scoped) {
      this.materialize(cur);
      this.lines.push("{");
    }
    this.elements(body, cur);
    if (scoped) this.lines.push("}");
  }

  private element(el: Element, cur: Cursor): void {
    switch (el.kind) {
      case "Layer":
        return this.layer(el, cur);
      case "Repeat": {
        this.materialize(cur);
        const i = el.index ? this.local(el.index.name) : this.fresh("i");
        const count =
          el.count.kind === "Number" && el.count.isInteger
            ? this.expr(el.count, cur)
            : `${this.s}.repeat(${this.expr(el.count, cur)}, ${this.site(el.count.span)})`;
        this.lines.push(`for (let ${i} = 0; ${i} < ${count}; ${i}++) {`);
        this.elements(el.body, cur);
        this.lines.push("}");
        return;
      }
      case "If": {
        this.materialize(cur);
        this.lines.push(`if (${this.expr(el.test, cur)}) {`);
        this.elements(el.then, cur);
        if (el.otherwise) {
          this.lines.push("} else {");
          this.elements(el.otherwise, cur);
        }
        this.lines.push("}");
        return;
      }
      case "Branches": {
        const input = this.read(cur);
        const outs = el.branches.map((b) => {
          const branch: Cursor = { name: this.fresh(this.x), declared: false, start: input };
          this.nested(b, branch);
          return this.read(branch);
        });
        if (outs.length === 0) throw new StructureError(`${el.join} needs at least one branch`);
        if (outs.length === 1) this.assign(cur, outs[0]!);
        else {
          const site = this.site(
            el.span,
            el.join === "concat" ? [] : el.branches.map((b, i) => [String(i), b.span] as const),
          );
          this.assign(cur, `${this.s}.${el.join}([${outs.join(", ")}], ${site})`);
        }
        return;
      }
      case "Residual": {
        this.materialize(cur);
        const shortcut = this.fresh("shortcut");
        this.lines.push(`const ${shortcut} = ${cur.name};`);
        let enabled = "true";
        // Tested after the body has run, so `in` must read the residual's input, not x.
        const input: Cursor = { name: shortcut, declared: true, start: shortcut };
        for (const a of el.args) enabled = this.expr(a.value, input);
        this.nested(el.body, cur);
        const open = enabled !== "true";
        if (open) this.lines.push(`if (${enabled}) {`);
        let other = `{ identity: ${shortcut} }`;
        if (el.shortcut) {
          const sc: Cursor = { name: this.fresh("y"), declared: false, start: shortcut };
          this.nested(el.shortcut, sc);
          other = `{ projection: ${this.read(sc)} }`;
        }
        this.assign(cur, `${this.s}.residual(${cur.name}, ${other}, ${this.site(el.span)})`);
        if (open) this.lines.push("}");
        return;
      }
    }
  }

  private layer(stmt: LayerStmt, cur: Cursor): void {
    const name = stmt.callee.name;
    const s = this.s;
    if (name === defaultsWord) return this.defaults(stmt, cur);
    const op = ops.get(name);
    if (!op) {
      const block = this.ctx.program.table.blocks.get(name);
      if (!block) throw new StructureError(`'${name}' is neither a layer nor a block`);
      this.assign(cur, this.call(block, stmt, cur));
      return;
    }
    const bound = bindLayer(op, stmt, this.lookup);
    const x = this.read(cur);
    if (name === "input") {
      const shape = bound.get("shape");
      if (!shape) throw new StructureError("input needs a shape");
      const rest = this.options(bound, ["shape"], cur);
      const site = this.layerSite(stmt, bound);
      this.assign(cur, `${s}.input(${this.expr(shape, cur)}, ${rest || "{}"}, ${site})`);
      return;
    }
    if (name === "linear") return;
    // Every other word is the Builder's one generic entry, its options typed by the word.
    const bare = new Set(stmt.args.filter((a) => !a.name).map((a) => a.value));
    const o = this.options(
      bound,
      [],
      cur,
      op.attrs.map((a) => a.name),
      bare,
      op,
    );
    const site = this.layerSite(stmt, bound);
    this.assign(cur, `${s}.layer(${tsString(name)}, ${x}, ${o || "{}"}, ${site})`);
  }

  /**
   * A site (runtime/sites.ts) in the table: `span`'s place, then each argument's; `at[i]` in the
   * generated code.
   */
  private site(
    span: Span,
    args: readonly (readonly [string, Expr | Span, string?])[] = [],
  ): string {
    const place = (sp: Span) => `${sp.start.line}:${sp.start.column}`;
    const text = [
      `${this.ctx.fileName(span.file)}:${place(span)}`,
      ...args.map(
        ([k, e, via]) =>
          `${k}=${place("kind" in e ? e.span : e)}${via === undefined ? "" : `<${via}`}`,
      ),
    ].join(" ");
    let i = this.ctx.sites.indexOf(text);
    if (i < 0) i = this.ctx.sites.push(text) - 1;
    return `at[${i}]`;
  }

  /**
   * The parameter of this block a value is, passed on unchanged (a bare name, not rebound in the
   * body): an error about it moves to the caller's argument, as the compiler's reanchoring does.
   */
  private via(e: Expr): string | undefined {
    if (e.kind !== "Name" || this.decl.kind !== "BlockDecl") return undefined;
    return passesOn(this.decl, e.name) ? e.name : undefined;
  }

  /** A layer statement's site: its place and each bound argument's, by attribute. */
  private layerSite(stmt: LayerStmt, bound: ReadonlyMap<string, Expr>): string {
    return this.site(
      stmt.span,
      [...bound].map(([k, e]) => [k, argSpan(stmt, e), this.via(e)] as const),
    );
  }

  /**
   * `defaults bn(...)`: the builder scope holds them for the rest of the function and the block
   * instances it makes. Only directly in a declaration's body, where the rest of the function is
   * the rest of the body; a nested body's defaults would outlive it.
   */
  private defaults(stmt: LayerStmt, cur: Cursor): void {
    const r = defaultsCall(stmt);
    if ("problem" in r) throw new StructureError(r.problem.message);
    const top = this.decl.body.stmts.some((st) => st.kind !== "Let" && st.elements.includes(stmt));
    const op = ops.get(r.call.callee.name)!;
    const bound = bindLayer(op, { ...stmt, callee: r.call.callee, args: r.call.args }, this.lookup);
    const o = this.options(
      bound,
      [],
      cur,
      op.attrs.map((a) => a.name),
    );
    const site = this.site(
      stmt.span,
      [...bound].map(([k, e]) => [k, argSpan(r.call, e)] as const),
    );
    if (top) {
      this.lines.push(`${this.s}.defaults(${tsString(op.name)}, ${o || "{}"}, ${site});`);
      return;
    }
    // The rest of this nested body uses a scope of its own (`elements` restores the outer one).
    const inner = this.fresh(this.s);
    this.lines.push(
      `const ${inner} = ${this.s}.withDefaults(${tsString(op.name)}, ${o || "{}"}, ${site});`,
    );
    this.s = inner;
  }

  /** A layer's attributes as an options object, in the order the language lists them. */
  private options(
    bound: Map<string, Expr>,
    skip: readonly string[],
    cur: Cursor,
    attrOrder?: readonly string[],
    bare: ReadonlySet<Expr> = new Set(),
    op?: OpSpec,
  ): string {
    const entries: string[] = [];
    // In the order the language lists a layer's attributes, whatever order they were written in.
    const keys = attrOrder
      ? [...bound.keys()].sort((a, b) => attrOrder.indexOf(a) - attrOrder.indexOf(b))
      : [...bound.keys()];
    for (const key of keys) {
      if (skip.includes(key)) continue;
      const value = bound.get(key)!;
      // `3x3/2` carries the stride of a window.
      if (
        (key === "kernel" || key === "pool") &&
        value.kind === "Size" &&
        value.stride !== undefined
      ) {
        entries.push(`${key}: [${value.dims.join(", ")}]`);
        if (!bound.has("stride")) entries.push(`stride: ${value.stride}`);
        continue;
      }
      const text = this.expr(value, cur);
      // A bare argument that may be a float is bound as the compiler binds it, by kind.
      // Only where a float is refused: a `number` attribute (rate, epsilon) takes it either way.
      const k = this.kindOf(value);
      const refuses = op?.attrs.find((a) => a.name === key)?.kind !== "number";
      if (bare.has(value) && refuses && (k === "float" || k === "either")) {
        this.ctx.used.add("bare");
        const form = bareForm(value);
        entries.push(`${key}: bare(${text}${form ? `, ${form}` : ""})`);
        continue;
      }
      entries.push(this.entry(key, text));
    }
    return entries.length ? `{ ${entries.join(", ")} }` : "";
  }

  private entry(key: string, value: string): string {
    return key === value ? key : `${key}: ${value}`;
  }

  /** A block call: the builder scope of the instance, the input, then its arguments. */
  private call(block: BlockDecl, stmt: LayerStmt, cur: Cursor): string {
    const bound = bindCall(block, stmt.args);
    const params = block.params;
    let lead = 0;
    while (lead < params.length && !params[lead]!.default) lead++;
    const site = this.site(
      stmt.span,
      block.params
        .filter((p) => bound.has(p.name.name))
        .map((p) => {
          const e = bound.get(p.name.name)!;
          return [p.name.name, e, this.via(e)] as const;
        }),
    );
    const args = [`${this.s}.block(${tsString(block.name.name)}, ${site})`, this.read(cur)];
    for (const p of params.slice(0, lead)) {
      const v = bound.get(p.name.name);
      if (!v)
        throw new StructureError(`block ${block.name.name} needs a value for '${p.name.name}'`);
      args.push(this.expr(v, cur));
    }
    const named = params
      .slice(lead)
      .filter((p) => bound.has(p.name.name))
      .map((p) =>
        this.entry(this.ctx.key(block, p.name.name), this.expr(bound.get(p.name.name)!, cur)),
      );
    if (named.length) args.push(`{ ${named.join(", ")} }`);
    return `${this.ctx.fnNames.get(block.name.name)!}(${args.join(", ")})`;
  }

  /**
   * An operand of arithmetic, an ordering or a math function. A parameter that is also a `parts`,
   * `pad` or window value may hold a word or a list there, which TypeScript's number operators do
   * not take: it goes through the runtime's `numeric`, which fails as the compiler does (E0500).
   */
  private number(e: Expr, cur: Cursor, min: number, op: string, at: Span): string {
    if (!this.mayBeWord(e)) return this.expr(e, cur, min);
    this.ctx.used.add("numeric");
    return `numeric(${this.expr(e, cur)}, ${tsString(op)}, ${this.site(at)})`;
  }

  /** Whether a value may be a partition word or a list where a number is needed (E0500). */
  private mayBeWord(e: Expr): boolean {
    return ["parts", "pads", "size"].includes(exprType(e, this.lookup));
  }

  /** An expression, with the precedence of the context it is written in. */
  private expr(e: Expr, cur: Cursor, min = 0): string {
    const [text, prec] = this.exprPrec(e, cur);
    return prec < min ? `(${text})` : text;
  }

  private exprPrec(e: Expr, cur: Cursor): [string, number] {
    const atom = 20;
    switch (e.kind) {
      case "Number": {
        const raw = e.raw.replace(/^\+/, "");
        // 1.0 is a float: as a JavaScript number it would be the integer 1.
        if (!e.isInteger && Number.isInteger(e.value)) {
          this.ctx.used.add("num");
          return [`num.float(${raw})`, atom];
        }
        return [raw, atom];
      }
      case "Bool":
        return [String(e.value), atom];
      case "String":
        return [tsString(e.value), atom];
      case "Size":
        if (e.stride !== undefined)
          throw new StructureError(
            `a strided size (${e.dims.join("x")}/${e.stride}) can be written only as a layer's window; use --flat`,
          );
        return [`[${e.dims.join(", ")}]`, atom];
      case "List":
        return [`[${e.items.map((i) => this.expr(i, cur)).join(", ")}]`, atom];
      case "Range":
        // A range is a sweep's set of values, not an argument a generated function takes.
        throw new StructureError("a range (1..4) in a network body is written only with --flat");
      case "Name": {
        if (e.name === "in") {
          this.usesChannels = true;
          return [`channels(${this.read(cur)})`, atom];
        }
        if (this.types.has(e.name) || this.decl.params.some((p) => p.name.name === e.name))
          return [this.local(e.name), atom];
        // `default` is "not given": an option left undefined takes the builder's default.
        if (e.name === unsetWord) return ["undefined", atom];
        if (symbolType(e.name)) return [tsString(e.name), atom];
        return [this.local(e.name), atom];
      }
      case "Unary":
        if (e.op !== "not" && !this.isInt(e.operand))
          return this.num("neg", [e.operand], cur, e.span);
        if (e.op !== "not") return [`-${this.number(e.operand, cur, 14, "-", e.span)}`, 14];
        return [`!${this.expr(e.operand, cur, 14)}`, 14];
      case "Binary": {
        const ints = this.isInt(e.left) && this.isInt(e.right);
        // Integers divided give JavaScript's value and kind (6 / 4 is the float 1.5), unless the
        // divisor may be 0 (the language's E0501, not Infinity).
        const plainDivision =
          e.op === "/" && ints && e.right.kind === "Number" && e.right.value !== 0;
        if (numOps[e.op] && !ints && !plainDivision)
          return this.num(numOps[e.op]!, [e.left, e.right], cur, e.span);
        if (e.op === "/" && !plainDivision) return this.num("div", [e.left, e.right], cur, e.span);
        if (
          (e.op === "==" || e.op === "!=") &&
          (this.mayBeFloat(e.left) || this.mayBeFloat(e.right))
        ) {
          // 2 == 2.0 in the language, where a whole float is a Float object at run time.
          const [text] = this.num("eq", [e.left, e.right], cur);
          return e.op === "==" ? [text, atom] : [`!${text}`, 14];
        }
        // JavaScript's `%` and `/` are not the language's `%` and `//`: the runtime's are.
        if (e.op === "//" || e.op === "%") {
          const fn = e.op === "//" ? "idiv" : "mod";
          this.ctx.used.add(fn);
          const l = this.number(e.left, cur, 0, e.op, e.span);
          const r = this.number(e.right, cur, 0, e.op, e.span);
          // A divisor that may be 0 fails there (E0501): its site goes with it.
          return [`${fn}(${l}, ${r}${nonZero(e.right) ? "" : `, ${this.site(e.span)}`})`, atom];
        }
        const p = tsPrec[e.op]!;
        const composite = (x: Expr) => ["size", "shape"].includes(exprType(x, this.lookup));
        if ((e.op === "==" || e.op === "!=") && composite(e.left) && composite(e.right)) {
          // Windows and shapes are arrays here: compare their values, as the language does.
          const eq = `${tsOp[e.op]}`;
          return [
            `JSON.stringify(${this.expr(e.left, cur)}) ${eq} JSON.stringify(${this.expr(e.right, cur)})`,
            p,
          ];
        }
        // Comparisons do not chain: parenthesise one inside another.
        const side = p === 8 || p === 9 ? p + 1 : p;
        if (p >= 9)
          return [
            `${this.number(e.left, cur, side, e.op, e.span)} ${e.op} ${this.number(e.right, cur, p + 1, e.op, e.span)}`,
            p,
          ];
        return [
          `${this.expr(e.left, cur, side)} ${tsOp[e.op] ?? e.op} ${this.expr(e.right, cur, p + 1)}`,
          p,
        ];
      }
      case "Conditional":
        return [
          `${this.expr(e.test, cur, 3)} ? ${this.expr(e.then, cur, 3)} : ${this.expr(e.otherwise, cur, 3)}`,
          2,
        ];
      case "Call": {
        const fn = e.callee.name;
        if (!mathFns.has(fn))
          throw new StructureError(`'${fn}' is not a function usable in an expression`);
        const args = e.args.map((a) => a.value);
        // JavaScript's Math is the language's function on integers; log and pow check their
        // domain and kinds as the compiler does, and a float argument keeps its kind.
        const plain =
          plainMath.has(fn) &&
          args.every((a) => this.isInt(a)) &&
          !e.args.some((a) => a.name) &&
          (fn === "min" || fn === "max" ? args.length > 0 : args.length === 1);
        if (!plain) {
          // Where the function may fail (a domain, a word for a number), its call's site.
          const fails = fn === "log" || fn === "pow" || args.some((a) => this.mayBeWord(a));
          if (!fails) return this.num(fn, args, cur);
          this.ctx.used.add("num");
          const site = this.site(
            e.span,
            args.map((a, i) => [String(i), a.span] as const),
          );
          const texts = args.map((a) => this.expr(a, cur));
          return [`num.at(${site}).${fn}(${texts.join(", ")})`, atom];
        }
        return [`Math.${fn}(${args.map((a) => this.expr(a, cur)).join(", ")})`, atom];
      }
      case "Quantity":
        throw new StructureError("a quantity has no meaning in a network");
    }
  }
}

/** Every name a body binds or reads: parameters, lets, repeat indices and references. */
function walkBody(body: Body, f: (name: string) => void): void {
  const exprs = (e: Expr) =>
    walkExpr(e, (x) => {
      if (x.kind === "Name") f(x.name);
    });
  for (const stmt of body.stmts) {
    if (stmt.kind === "Let") {
      f(stmt.name.name);
      exprs(stmt.value);
      continue;
    }
    for (const el of stmt.elements) {
      switch (el.kind) {
        case "Layer":
        case "Residual":
          el.args.forEach((a) => exprs(a.value));
          if (el.kind === "Residual") {
            walkBody(el.body, f);
            if (el.shortcut) walkBody(el.shortcut, f);
          }
          break;
        case "Repeat":
          if (el.index) f(el.index.name);
          exprs(el.count);
          walkBody(el.body, f);
          break;
        case "If":
          exprs(el.test);
          walkBody(el.then, f);
          if (el.otherwise) walkBody(el.otherwise, f);
          break;
        case "Branches":
          el.branches.forEach((b) => walkBody(b, f));
          break;
      }
    }
  }
}

/** A literal divisor other than 0: `/`, `//` and `%` by it cannot fail. */
function nonZero(e: Expr): boolean {
  return e.kind === "Number" && e.value !== 0;
}

/**
 * Where the compiler reports an argument's value: a named argument at its value, a bare one at
 * the whole argument (elaborate/bind.ts).
 */
function argSpan(stmt: Pick<LayerStmt, "args">, e: Expr): Span {
  const arg = stmt.args.find((a) => a.value === e);
  return arg && !arg.name ? arg.span : e.span;
}

function isValue(v: Value | Json): v is Value {
  return typeof v === "object" && v !== null && !Array.isArray(v) && "t" in v;
}

/**
 * The network's arguments as built that differ from what the spec's defaults give (each default
 * evaluated at the arguments before it, as the compiler binds them): `--set` values of their own
 * kind where `sets` is given, else the graph's JSON arguments. A parameter without a default
 * takes the value built. What is left out keeps the spec's default expression.
 */
function builtAt(
  net: NetworkDecl,
  args: Readonly<Record<string, Json>> | undefined,
  sets: readonly BoundArg[] | undefined,
): Map<string, Value | Json> {
  const out = new Map<string, Value | Json>();
  const scope = new Scope();
  const given = new Map(sets?.map((a) => [a.name, a.value]));
  for (const p of net.params) {
    const name = p.name.name;
    let def: Value | undefined;
    try {
      def = p.default ? evaluate(p.default, scope) : undefined;
    } catch (e) {
      // A default that needs more than the arguments (`in`) is compared by nothing: kept.
      if (!(e instanceof DiagnosticError)) throw e;
    }
    const built: Value | Json | undefined = sets ? given.get(name) : args?.[name];
    const same =
      built === undefined ||
      (def !== undefined &&
        (isValue(built)
          ? built.t === def.t && JSON.stringify(toJson(built)) === JSON.stringify(toJson(def))
          : JSON.stringify(built) === JSON.stringify(toJson(def))));
    if (p.default && same) {
      if (def) scope.set(name, def);
      continue;
    }
    if (built === undefined) continue;
    out.set(name, built);
    if (isValue(built)) scope.set(name, built);
  }
  return out;
}

function jsonLiteral(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(jsonLiteral).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    throw new StructureError(
      "a strided size as a network argument can be compiled only with --flat",
    );
  }
  return typeof v === "string" ? tsString(v) : String(v);
}

function macs(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} G MACs` : `${(n / 1e6).toFixed(2)} M MACs`;
}

/** How a bare argument is written, as far as the compiler's messages about it read it. */
function bareForm(e: Expr): string | undefined {
  if (e.kind === "Name") return `{ name: ${tsString(e.name)} }`;
  if (e.kind === "Number") return `{ literal: ${tsString(e.raw)} }`;
  const float = floatLiteral(e);
  const facts = [
    ...(float ? [`float: ${tsString(float.raw)}`] : []),
    ...(hasDivision(e) ? ["division: true"] : []),
  ];
  return facts.length ? `{ ${facts.join(", ")} }` : undefined;
}
