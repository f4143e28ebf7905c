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
import type { Json } from "../../language/elaborate/values.js";
import { defaultsCall, defaultsWord } from "../../language/elaborate/defaults.js";
import { ops } from "../../language/elaborate/ops/catalogue.js";
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
  forEachElement,
} from "../structured/analysis.js";
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
  const defaulted = new Set<string>();
  for (const d of [...blocks, network])
    forEachElement(d.body, (el) => {
      if (el.kind !== "Layer" || el.callee.name !== defaultsWord) return;
      const r = defaultsCall(el);
      if ("call" in r) defaulted.add(r.call.callee.name);
    });
  const ctx: ModuleContext = { program, types, fnNames, used, key, defaulted };

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
    statements: f.networkBody(opts.graph?.args),
  });
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
  readonly fnNames: ReadonlyMap<string, string>;
  /** Runtime types the module refers to: Tensor, Parts, Activation, ... */
  readonly used: Set<string>;
  /** The options-object key of a declaration's parameter (print.ts, `tsOptionKeys`). */
  readonly key: (decl: Decl, param: string) => string;
  /** The ops some `defaults` statement sets: their layers take the defaults in force (`s.given`). */
  readonly defaulted: ReadonlySet<string>;
  usesChannels?: boolean;
}

/** Names the module itself defines or imports. */
const topLevel = new Set(["tf", "Builder", "channels", "build", "Tensor", "Parts", "Size"]);
for (const t of ["Activation", "Order", "Padding", "Pads", "Shape"]) topLevel.add(t);
for (const f of ["numeric", "mod", "idiv"]) topLevel.add(f);

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

/** The TypeScript type of a static type; runtime aliases are recorded as used. */
function tsType(t: StaticType, where: "network" | "block", used: Set<string>): string {
  switch (t) {
    case "int":
    case "float":
    case "number":
    case "unknown":
      return "number";
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
const mathFns = new Set(["min", "max", "abs", "floor", "ceil", "round", "log", "pow"]);

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
  private readonly s: string;
  private readonly x: string;
  private readonly declaredAt = new Map<string, number>();
  /** The spec's comments inside the declaration, carried over before what follows them. */
  private readonly comments: { line: number; text: string }[];
  private readonly assignments = new Map<string, number>();
  usesChannels = false;

  constructor(
    private readonly ctx: ModuleContext,
    private readonly decl: Decl,
  ) {
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
    return tsType(this.types.get(p.name.name) ?? "unknown", "block", this.ctx.used);
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

  networkBody(args: Readonly<Record<string, Json>> | undefined): string {
    const net = this.decl as NetworkDecl;
    const values = net.params.map((p) =>
      this.destructure(p, args && p.name.name in args ? this.overridden(p, args) : undefined),
    );
    const unknown = this.fresh("unknown");
    this.lines.push(`const { ${[...values, `...${unknown}`].join(", ")} } = options;`);
    this.lines.push(`const ${this.s} = Builder.network(${tsString(net.name.name)}, ${unknown});`);
    const cur: Cursor = { name: this.x, declared: false, start: "" };
    this.elements(net.body, cur);
    if (!cur.declared) throw new StructureError(`network ${net.name.name} has no layers`);
    this.commentsBefore(this.decl.span.end.line);
    this.lines.push(`return ${this.s}.model(${this.x}, ${tsString(net.name.name)});`);
    return this.finish();
  }

  /** A `--set` value that differs from the default becomes the default; else the spec's. */
  private overridden(p: Param, args: Readonly<Record<string, Json>>): string | undefined {
    const v = args[p.name.name]!;
    const literal = jsonLiteral(v);
    if (
      p.default &&
      isLiteral(p.default) &&
      this.expr(p.default, this.cursorOf(this.x)) === literal
    )
      return undefined;
    return literal;
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
    const scoped = body.stmts.some((s) => s.kind === "Let");
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
          el.count.kind === "Number"
            ? this.expr(el.count, cur)
            : `${this.s}.repeat(${this.expr(el.count, cur)})`;
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
        else this.assign(cur, `${this.s}.${el.join}([${outs.join(", ")}])`);
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
        this.assign(cur, `${this.s}.residual(${cur.name}, ${other})`);
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
      this.assign(cur, `${s}.input(${this.expr(shape, cur)}${rest ? `, ${rest}` : ""})`);
      return;
    }
    if (name === "linear") return;
    if (name === "act") {
      const fn = bound.get("fn");
      if (!fn) throw new StructureError("act needs an activation");
      const rest = this.options(bound, ["fn"], cur);
      this.assign(cur, `${s}.act(${x}, ${this.expr(fn, cur)}${rest ? `, ${rest}` : ""})`);
      return;
    }
    if (symbolType(name) === "activation") {
      const rest = this.options(bound, [], cur);
      this.assign(cur, `${s}.activation(${x}, ${tsString(name)}${rest ? `, ${rest}` : ""})`);
      return;
    }
    const o = this.options(
      bound,
      [],
      cur,
      op.attrs.map((a) => a.name),
    );
    const given = this.ctx.defaulted.has(name) ? `${s}.given(${tsString(name)}, ${o || "{}"})` : o;
    this.assign(cur, `${s}.${name}(${x}${given ? `, ${given}` : ""})`);
  }

  /**
   * `defaults bn(...)`: the builder scope holds them for the rest of the function and the block
   * instances it makes. Only directly in a declaration's body, where the rest of the function is
   * the rest of the body; a nested body's defaults would outlive it.
   */
  private defaults(stmt: LayerStmt, cur: Cursor): void {
    const r = defaultsCall(stmt);
    if ("problem" in r) throw new StructureError(r.problem.message);
    if (!this.decl.body.stmts.some((st) => st.kind !== "Let" && st.elements.includes(stmt)))
      throw new StructureError(
        "defaults inside a branch, repeat or if is written only with --flat",
      );
    const op = ops.get(r.call.callee.name)!;
    const bound = bindLayer(op, { ...stmt, callee: r.call.callee, args: r.call.args }, this.lookup);
    const o = this.options(
      bound,
      [],
      cur,
      op.attrs.map((a) => a.name),
    );
    this.lines.push(`${this.s}.defaults(${tsString(op.name)}, ${o || "{}"});`);
  }

  /** A layer's attributes as an options object, in the order the language lists them. */
  private options(
    bound: Map<string, Expr>,
    skip: readonly string[],
    cur: Cursor,
    attrOrder?: readonly string[],
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
      entries.push(this.entry(key, this.expr(value, cur)));
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
    const args = [`${this.s}.block(${tsString(block.name.name)})`, this.read(cur)];
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
  private number(e: Expr, cur: Cursor, min: number, op: string): string {
    if (!["parts", "pads", "size"].includes(exprType(e, this.lookup)))
      return this.expr(e, cur, min);
    this.ctx.used.add("numeric");
    return `numeric(${this.expr(e, cur)}, ${tsString(op)})`;
  }

  /** An expression, with the precedence of the context it is written in. */
  private expr(e: Expr, cur: Cursor, min = 0): string {
    const [text, prec] = this.exprPrec(e, cur);
    return prec < min ? `(${text})` : text;
  }

  private exprPrec(e: Expr, cur: Cursor): [string, number] {
    const atom = 20;
    switch (e.kind) {
      case "Number":
        return [e.raw.replace(/^\+/, ""), atom];
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
        if (e.op !== "not") return [`-${this.number(e.operand, cur, 14, "-")}`, 14];
        return [`!${this.expr(e.operand, cur, 14)}`, 14];
      case "Binary": {
        // JavaScript's `%` and `/` are not the language's `%` and `//`: the runtime's are.
        if (e.op === "//" || e.op === "%") {
          const fn = e.op === "//" ? "idiv" : "mod";
          this.ctx.used.add(fn);
          return [
            `${fn}(${this.number(e.left, cur, 0, e.op)}, ${this.number(e.right, cur, 0, e.op)})`,
            atom,
          ];
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
            `${this.number(e.left, cur, side, e.op)} ${e.op} ${this.number(e.right, cur, p + 1, e.op)}`,
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
      case "Call":
        if (!mathFns.has(e.callee.name))
          throw new StructureError(`'${e.callee.name}' is not a function usable in an expression`);
        return [
          `Math.${e.callee.name}(${e.args.map((a) => this.number(a.value, cur, 0, e.callee.name)).join(", ")})`,
          atom,
        ];
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

function isLiteral(e: Expr): boolean {
  return (
    e.kind === "Number" ||
    e.kind === "Bool" ||
    e.kind === "String" ||
    e.kind === "Name" ||
    e.kind === "Size"
  );
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
