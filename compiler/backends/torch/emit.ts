import type { Json } from "../../language/elaborate/values.js";
import type { Activation } from "../../language/ir/activations.js";
import type { BlockCall, IRGraph, IRNode } from "../../language/ir/types.js";
import { bindArguments, spatialChannels, type Bindings, type Probe } from "./bind.js";
import {
  lit,
  optional,
  type Arg,
  type Call,
  type LayerContext,
  type Lit,
  type TorchLayer,
  type Val,
} from "./layer.js";
import { torchOps } from "./ops.js";
import { optionalLayerTexts, prelude } from "./prelude.js";
import {
  pyAttributeNames,
  pyComments,
  pyDocstring,
  pyParameterNames,
  pyString,
  reservedClassName,
} from "./print.js";

/**
 * `--target torch`: the network as a PyTorch module a person would write. Block instances become
 * nn.Module attributes named as in the spec (`entry_1`, `sep_unit`), so a parameter's state-dict
 * key is its IR name with `/` read as `.` (see README.md); instances of one block with the same
 * structure share one class, and the numbers that differ between them are its constructor's
 * parameters. The network's arguments that only move groups, units, rates or activations
 * (bind.ts) are the network class's constructor parameters, with the spec's values as defaults.
 */

export interface TorchEmitOptions {
  /** Shown in the header: the spec the module was generated from. */
  readonly source?: string;
  /** Elaborates the network at another value of one argument; without it every argument is frozen. */
  readonly probe?: Probe;
}

// ---------------------------------------------------------------------------------------------
// Block instances, from the block calls the IR records

interface LayerChild {
  readonly kind: "layer";
  readonly attr: string;
  readonly node: IRNode;
}
interface BlockChild {
  readonly kind: "block";
  readonly attr: string;
  readonly inst: Instance;
}
type Child = LayerChild | BlockChild;

interface Instance {
  /** The block's declared name, or the network's. */
  readonly block: string;
  /** The call that made the instance (none for the network). */
  readonly call?: BlockCall;
  readonly path: string;
  readonly children: Child[];
  /** Every node inside, nested ones included. */
  readonly ids: Set<number>;
  input: number;
  output: number;
}

function instances(graph: IRGraph): { root: Instance; paths: Map<number, string> } {
  const root: Instance = {
    block: graph.network,
    path: "",
    children: [],
    ids: new Set(),
    input: 0,
    output: graph.output,
  };
  const byPath = new Map<string, Instance>([["", root]]);
  for (const node of graph.nodes) {
    if (node.op === "input") continue;
    let cur = root;
    cur.ids.add(node.id);
    for (const call of node.blocks) {
      const path = cur.path ? `${cur.path}/${call.instance}` : call.instance;
      let next = byPath.get(path);
      if (!next) {
        next = {
          block: call.block,
          call,
          path,
          children: [],
          ids: new Set(),
          input: -1,
          output: -1,
        };
        byPath.set(path, next);
        cur.children.push({ kind: "block", attr: call.instance, inst: next });
      }
      next.ids.add(node.id);
      cur = next;
    }
    // A node's name is its instance's path and then its own name in that block.
    const local = cur.path ? node.name.slice(cur.path.length + 1) : node.name;
    cur.children.push({ kind: "layer", attr: local, node });
  }
  const consumers = new Map<number, number[]>();
  for (const n of graph.nodes)
    for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n.id]);
  // An instance with one input and one output is a module; anything else is spliced into its parent.
  const settle = (inst: Instance): Child[] => {
    const out: Child[] = [];
    for (const c of inst.children) {
      if (c.kind === "layer") {
        out.push(c);
        continue;
      }
      const sub = c.inst;
      sub.children.splice(0, sub.children.length, ...settle(sub));
      const ins = new Set<number>();
      const outs = new Set<number>();
      for (const id of sub.ids) {
        for (const i of graph.nodes[id]!.inputs) if (!sub.ids.has(i)) ins.add(i);
        if (id === graph.output || (consumers.get(id) ?? []).some((j) => !sub.ids.has(j)))
          outs.add(id);
      }
      if (ins.size === 1 && outs.size === 1) {
        sub.input = [...ins][0]!;
        sub.output = [...outs][0]!;
        out.push(c);
      } else {
        for (const cc of sub.children) out.push({ ...cc, attr: `${c.attr}_${cc.attr}` });
      }
    }
    return out;
  };
  root.children.splice(0, root.children.length, ...settle(root));
  // Attribute names last, once splicing has joined names: unique and safe per class (print.ts).
  const rename = (inst: Instance) => {
    const ids = pyAttributeNames(inst.children.map((c) => c.attr));
    inst.children.forEach((c, i) => {
      inst.children[i] = { ...c, attr: ids[i]! };
      if (c.kind === "block") rename(c.inst);
    });
  };
  rename(root);
  // Module paths, for the state-dict keys.
  const paths = new Map<number, string>();
  const walk = (inst: Instance, prefix: string) => {
    for (const c of inst.children) {
      const p = prefix ? `${prefix}.${c.attr}` : c.attr;
      if (c.kind === "layer") paths.set(c.node.id, p);
      else walk(c.inst, p);
    }
  };
  walk(root, "");
  return { root, paths };
}

/** The nn.Module path of every layer with weights, by node id: what state-dict keys start with. */
export function torchModulePaths(graph: IRGraph): Map<number, string> {
  return instances(graph).paths;
}

// ---------------------------------------------------------------------------------------------
// Constructor calls, with their numbers abstracted so that instances can share a class

function pyLiteral(v: Json | readonly number[]): string {
  if (Array.isArray(v)) return `(${v.map((x) => pyLiteral(x as Json)).join(", ")})`;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "string") return pyString(v);
  if (typeof v === "number") return String(v);
  if (v === null) return "None";
  return `{${Object.entries(v)
    .map(([k, x]) => `${pyString(k)}: ${pyLiteral(x)}`)
    .join(", ")}}`;
}

class Lowering implements LayerContext {
  constructor(
    readonly graph: IRGraph,
    private readonly bindings: Bindings,
  ) {}

  channelsIn(node: IRNode): number {
    const input = this.graph.nodes[node.inputs[0]!]!;
    return input.shape[input.shape.length - 1]!;
  }

  bound(node: IRNode, attr: string): string | undefined {
    return this.bindings.nodes.get(node.id)?.get(attr as never);
  }

  activation(node: IRNode, attr: "activation" | "mid", value: Activation): Arg[] {
    const p = this.bound(node, attr);
    if (p) return [{ key: attr, v: { k: "param", name: p } }];
    return [optional(attr, value, "none")];
  }

  /** `what`: how the spec names the value, for groups_of's errors (a shuffle's groups, or parts). */
  groups(node: IRNode, groups: number, what = "parts"): Arg[] {
    const p = this.bound(node, "groups");
    const cin = spatialChannels(this.graph, node);
    if (p) {
      const args: Val[] = [{ k: "param", name: p }, lit(cin, "in_channels")];
      if (what !== "parts") args.push(lit(what, "what"));
      return [{ key: "groups", v: { k: "expr", fn: "groups_of", args } }];
    }
    return [optional("groups", groups, 1)];
  }

  /** The module for a layer node, or undefined for one that forward() writes inline. */
  call(node: IRNode): Call | undefined {
    const l = this.layer(node);
    return l.kind === "module" ? l.call : undefined;
  }

  /** How forward() computes a layer node: its module's call, or an expression written inline. */
  layer(node: IRNode): TorchLayer {
    // TypeScript cannot correlate torchOps[node.op] with node's own type: the table's type does.
    const layer = torchOps[node.op].layer as (n: IRNode, l: LayerContext) => TorchLayer;
    return layer(node, this);
  }
}

// ---------------------------------------------------------------------------------------------
// Classes

interface ClassDef {
  readonly name: string;
  readonly block: string;
  /** Parameters: slot names for numbers that differ between instances, then bound arguments. */
  readonly params: readonly string[];
  /** Each slot's Python type, from the values instances pass (`float` for a droppath rate). */
  readonly types: ReadonlyMap<string, string>;
  readonly bound: readonly string[];
  /** One representative instance; the others differ only in the parameters' values. */
  readonly inst: Instance;
  /** The class-level call of each child, with parameters where instances differ. */
  readonly calls: ReadonlyMap<string, Call>;
}

/** A call's text with literals as `#` and, separately, the literals in order. */
function skeleton(call: Call, leaves: Val[]): string {
  const val = (v: Val): string => {
    if (v.k === "lit") {
      leaves.push(v);
      return "#";
    }
    if (v.k === "param") return v.name;
    return `${v.fn}(${v.args.map(val).join(",")})`;
  };
  return `${call.callee}(${call.args.map((a) => `${a.key ?? ""}=${val(a.v)}`).join(",")})`;
}

/** `entry_flow` -> `EntryFlow`; `_2d` -> `_2d`, as a class name may not start with a digit. */
function pascal(name: string): string {
  const p = name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((s) => s[0]!.toUpperCase() + s.slice(1))
    .join("");
  return /^[A-Za-z]/.test(p) ? p : `_${p}`;
}

class ClassBuilder {
  readonly classes: ClassDef[] = [];
  /** For each instance: its class and the values it passes for the class's parameters. */
  readonly calls = new Map<Instance, Call>();
  private readonly names: Set<string>;

  constructor(
    private readonly lowering: Lowering,
    private readonly root: Instance,
    private readonly networkClass: string,
  ) {
    this.names = new Set([networkClass]);
  }

  private childCall(c: Child): Call | undefined {
    return c.kind === "layer" ? this.lowering.call(c.node) : this.calls.get(c.inst);
  }

  /** A block's class name: `_` after a reserved one, `2`, `3`, ... after one already taken. */
  private unique(pascalName: string): string {
    const base = reservedClassName(pascalName) ? `${pascalName}_` : pascalName;
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}${i}`;
    this.names.add(name);
    return name;
  }

  /** Builds classes bottom-up: an instance's class is known once its children's are. */
  build(): void {
    const levels = new Map<number, Instance[]>();
    const height = (inst: Instance): number => {
      let h = 0;
      for (const c of inst.children) if (c.kind === "block") h = Math.max(h, height(c.inst) + 1);
      if (!levels.has(h)) levels.set(h, []);
      levels.get(h)!.push(inst);
      return h;
    };
    height(this.root);
    for (const h of [...levels.keys()].sort((a, b) => a - b)) {
      const groups = new Map<string, { inst: Instance; leaves: Val[] }[]>();
      for (const inst of levels.get(h)!) {
        const leaves: Val[] = [];
        const shape = inst.children
          .map((c) => {
            const call = this.childCall(c);
            return `${c.attr}:${call ? skeleton(call, leaves) : c.kind === "layer" ? c.node.op : ""}`;
          })
          .join(";");
        const key = `${inst === this.root ? "\0root" : inst.block}\n${shape}\n${wiring(inst)}`;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key)!.push({ inst, leaves });
      }
      for (const members of groups.values()) this.define(members);
    }
  }

  private define(members: { inst: Instance; leaves: Val[] }[]): void {
    const first = members[0]!;
    const isRoot = first.inst === this.root;
    const n = first.leaves.length;
    // Numbers that differ between instances become parameters; equal columns share one.
    const columns: string[] = [];
    const paramOf: (string | undefined)[] = [];
    const params: string[] = [];
    const types = new Map<string, string>();
    // A slot takes no name of a network argument the class passes on (`mid` may be both).
    const taken = new Set<string>();
    const args = (v: Val): void => {
      if (v.k === "param") taken.add(v.name);
      if (v.k === "expr") v.args.forEach(args);
    };
    for (const c of first.inst.children) this.childCall(c)?.args.forEach((a) => args(a.v));
    const passed = new Set(taken);
    for (let i = 0; i < n; i++) {
      const column = JSON.stringify(members.map((m) => (m.leaves[i] as { v: unknown }).v));
      const varies =
        new Set(members.map((m) => JSON.stringify((m.leaves[i] as { v: unknown }).v))).size > 1;
      if (!varies) {
        paramOf.push(undefined);
        columns.push("");
        continue;
      }
      const j = columns.indexOf(column);
      if (j >= 0) {
        paramOf.push(paramOf[j]);
        columns.push(column);
        continue;
      }
      const base = blockArgument(members, i) ?? (first.leaves[i] as { slot: string }).slot;
      let name = base;
      for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
      taken.add(name);
      params.push(name);
      types.set(name, pyTypeOf(members.map((m) => (m.leaves[i] as { v: Lit }).v)));
      paramOf.push(name);
      columns.push(column);
    }
    const bound = new Set<string>();
    const calls = new Map<string, Call>();
    let li = 0;
    const rewrite = (v: Val): Val => {
      if (v.k === "lit") {
        const p = paramOf[li++];
        return p ? { k: "param", name: p } : v;
      }
      if (v.k === "param") {
        bound.add(v.name);
        return v;
      }
      return { ...v, args: v.args.map(rewrite) };
    };
    for (const c of first.inst.children) {
      const call = this.childCall(c);
      if (!call) continue;
      const args = call.args.map((a) => ({ ...a, v: rewrite(a.v) }));
      calls.set(c.attr, {
        callee: call.callee,
        args: args.filter((a) => !(a.v.k === "lit" && isDefault(a.v.v, a.default))),
      });
    }
    const boundList = [...bound].filter((b) => passed.has(b)).sort();
    const name = isRoot ? this.networkClass : this.unique(pascal(first.inst.block));
    this.classes.push({
      name,
      block: first.inst.block,
      params,
      types,
      bound: boundList,
      inst: first.inst,
      calls,
    });
    if (isRoot) return;
    for (const m of members) {
      const args: Arg[] = [];
      const seen = new Set<string>();
      m.leaves.forEach((leaf, i) => {
        const p = paramOf[i];
        if (!p || seen.has(p)) return;
        seen.add(p);
        args.push({ v: leaf });
      });
      // Leaves meet the parameters in the order they were declared.
      const ordered = [...args];
      for (const b of boundList) ordered.push({ key: b, v: { k: "param", name: b }, arg: true });
      this.calls.set(m.inst, { callee: name, args: ordered });
    }
  }
}

/**
 * The block argument a varying number follows: the one whose value at every instance's call is
 * that instance's number, under its Python name. Undefined when none is (the number is computed
 * from the arguments, or instances are the network's).
 */
function blockArgument(
  members: { inst: Instance; leaves: Val[] }[],
  i: number,
): string | undefined {
  const calls = members.map((m) => m.inst.call);
  if (!calls.every((c) => c !== undefined)) return undefined;
  const want = members.map((m) => JSON.stringify((m.leaves[i] as { v: unknown }).v));
  const name = Object.keys(calls[0]!.args).find((k) =>
    calls.every((c, j) => JSON.stringify(c.args[k]) === want[j]),
  );
  return name === undefined ? undefined : pyParameterNames([name]).get(name);
}

/** The Python type of a class parameter, from every value its instances pass. */
function pyTypeOf(values: readonly Lit[]): string {
  const kinds = new Set(
    values.map((v) =>
      typeof v === "number"
        ? Number.isInteger(v)
          ? "int"
          : "float"
        : typeof v === "object"
          ? "tuple"
          : typeof v === "boolean"
            ? "bool"
            : "str",
    ),
  );
  // An int where others are fractions is a float (a droppath rate of 0 among 0.1s).
  if (kinds.size === 2 && kinds.has("int") && kinds.has("float")) return "float";
  if (kinds.size === 1) {
    const k = [...kinds][0]!;
    return k === "tuple" ? "Tuple[int, ...]" : k;
  }
  // A stride of 1 in one instance and (2, 1) in another: the prelude's Pair.
  return "Pair";
}

function isDefault(v: Lit, dflt: Lit | undefined): boolean {
  return dflt !== undefined && JSON.stringify(v) === JSON.stringify(dflt);
}

/** How an instance's children connect, as text: two instances with equal text wire alike. */
function wiring(inst: Instance): string {
  const local = new Map<number, string>();
  if (inst.input >= 0) local.set(inst.input, "in");
  const ref = (id: number) => local.get(id) ?? `?${id}`;
  const parts: string[] = [];
  inst.children.forEach((c, i) => {
    const ins = c.kind === "layer" ? c.node.inputs : [c.inst.input];
    parts.push(`${i}<${ins.map(ref).join(",")}`);
    local.set(c.kind === "layer" ? c.node.id : c.inst.output, `c${i}`);
  });
  return parts.join(" ");
}

// ---------------------------------------------------------------------------------------------
// Printing

/** How a class's parameter is written: a network argument under its Python name (print.ts). */
type ParamName = (name: string) => string;

function printVal(v: Val, param: ParamName): string {
  if (v.k === "lit") return pyLiteral(v.v as Json);
  if (v.k === "param") return param(v.name);
  return `${v.fn}(${v.args.map((a) => printVal(a, param)).join(", ")})`;
}

function printCall(call: Call, indent: string, param: ParamName): string {
  const args = call.args.map((a) => {
    const v = printVal(a.v, param);
    return a.key ? `${a.arg ? param(a.key) : a.key}=${v}` : v;
  });
  const one = `${call.callee}(${args.join(", ")})`;
  if (indent.length + one.length <= 96) return one;
  return `${call.callee}(\n${args.map((a) => `${indent}    ${a},`).join("\n")}\n${indent})`;
}

/** forward(): one statement per child; a variable is reused once its value is read for the last time. */
function forwardBody(lowering: Lowering, inst: Instance): string[] {
  const lines: string[] = [];
  const varOf = new Map<number, string>();
  varOf.set(inst.input, "x");
  const inputsOf = (c: Child) => (c.kind === "layer" ? c.node.inputs : [c.inst.input]);
  const outputOf = (c: Child) => (c.kind === "layer" ? c.node.id : c.inst.output);
  // Last child that reads each value: after it, the value's variable may be reused.
  const lastUse = new Map<number, number>();
  inst.children.forEach((c, i) => {
    for (const id of inputsOf(c)) lastUse.set(id, i);
  });
  const live = new Set<string>(["x"]);
  const pool = ["y", "z", "u", "v", "w"];
  inst.children.forEach((c, i) => {
    const ins = inputsOf(c).map((id) => varOf.get(id)!);
    const layer = c.kind === "layer" ? lowering.layer(c.node) : undefined;
    const expr = layer?.kind === "inline" ? layer.expr(ins) : `self.${c.attr}(${ins[0]})`;
    // Variables whose value is read for the last time here are free for the result.
    for (const id of inputsOf(c)) if (lastUse.get(id) === i) live.delete(varOf.get(id)!);
    const out = outputOf(c);
    if (i === inst.children.length - 1 && out === inst.output) {
      lines.push(`return ${expr}`);
      return;
    }
    const name = ["x", ...pool].find((v) => !live.has(v)) ?? `t${i}`;
    live.add(name);
    varOf.set(out, name);
    lines.push(`${name} = ${expr}`);
  });
  if (!lines[lines.length - 1]?.startsWith("return"))
    lines.push(`return ${varOf.get(inst.output)}`);
  return lines;
}

/** A constructor parameter's type: a partition count takes 'regular' and 'depthwise' too. */
function pyType(name: string, value: Json, b: Bindings): string {
  const attrs = new Set(
    [...b.nodes.values()].flatMap((m) => [...m].filter(([, p]) => p === name).map(([a]) => a)),
  );
  if (attrs.has("groups")) return "Union[int, str]";
  if (attrs.has("rate")) return "float";
  if (typeof value === "string") return "str";
  return Number.isInteger(value) ? "int" : "float";
}

/**
 * The network's final softmax, where it has one: the module that applies it and the statement
 * that swaps it for the identity, so that `Net(logits=True)` returns the scores before it (what
 * nn.CrossEntropyLoss takes). The flag is named `logits` unless a network argument has the name.
 */
interface SoftmaxHead {
  readonly flag: string;
  readonly swap: string;
}

function softmaxHead(
  graph: IRGraph,
  argNames: ReadonlyMap<string, string>,
): SoftmaxHead | undefined {
  const out = graph.nodes[graph.output]!;
  if (!("activation" in out.attrs) || out.attrs.activation !== "softmax") return undefined;
  const path = torchModulePaths(graph).get(out.id);
  if (path === undefined) return undefined;
  const taken = new Set(argNames.values());
  const flag = ["logits", "return_logits", "logits_"].find((n) => !taken.has(n))!;
  const swap =
    out.op === "act"
      ? `self.${path} = Activation("none")`
      : `self.${path}.activation = Activation("none")`;
  return { flag, swap };
}

function printClass(
  graph: IRGraph,
  lowering: Lowering,
  def: ClassDef,
  root: boolean,
  b: Bindings,
  argNames: ReadonlyMap<string, string>,
  head?: SoftmaxHead,
): string {
  const out: string[] = [];
  // Slots keep their names; the network's arguments take their Python names.
  const param: ParamName = (n) => (root || def.bound.includes(n) ? (argNames.get(n) ?? n) : n);
  const sig = root
    ? [
        ...[...b.params].map(([k, v]) => `${param(k)}: ${pyType(k, v, b)} = ${pyLiteral(v)}`),
        ...(head ? [`${head.flag}: bool = False`] : []),
      ]
    : [
        ...def.params.map((p) => `${p}: ${def.types.get(p)!}`),
        ...def.bound.map((k) => `${param(k)}: ${pyType(k, b.params.get(k)!, b)}`),
      ];
  out.push(`class ${def.name}(nn.Module):`);
  if (root) {
    const t = graph.totals;
    const doc = [
      `${graph.network}: ${t.params.total.toLocaleString("en-US")} parameters (${t.params.trainable.toLocaleString("en-US")} trainable), ${(t.macs / 1e6).toFixed(1)} M MACs per example.`,
      "",
      `Input: [batch, ${graph.input[2]}, ${graph.input[0]}, ${graph.input[1]}] (channels first); output: [batch, ${graph.nodes[graph.output]!.shape.join(", ")}].`,
    ];
    if (head)
      doc.push(
        "",
        `Returns softmax probabilities, as the spec says. nn.CrossEntropyLoss applies a softmax of`,
        `its own: give it ${def.name}(${head.flag}=True), whose output is the scores before the`,
        `softmax (logits), or give the probabilities' log to nn.NLLLoss.`,
      );
    if (b.frozen.size) {
      doc.push("", "Arguments compiled in (compile again with --set to change them):");
      for (const [k, why] of b.frozen) doc.push(`    ${k} = ${pyLiteral(graph.args[k]!)}: ${why}`);
    }
    out.push(`    ${pyDocstring(doc.join("\n"), "    ")}`);
  } else {
    out.push(`    ${pyDocstring(`Block ${def.block}.`, "    ")}`);
  }
  out.push("");
  const sigText = `    def __init__(self${sig.map((s) => `, ${s}`).join("")}):`;
  if (sigText.length <= 100) out.push(sigText);
  else {
    out.push("    def __init__(", "        self,", ...sig.map((s) => `        ${s},`), "    ):");
  }
  out.push("        super().__init__()");
  for (const c of def.inst.children) {
    const call = def.calls.get(c.attr);
    if (call) out.push(`        self.${c.attr} = ${printCall(call, "        ", param)}`);
  }
  if (head) out.push(`        if ${head.flag}:`, `            ${head.swap}`);
  out.push("");
  out.push("    def forward(self, x: torch.Tensor) -> torch.Tensor:");
  for (const line of forwardBody(lowering, def.inst)) out.push(`        ${line}`);
  return out.join("\n");
}

/** The network's class name in the generated module: `mini_xception` -> `MiniXception`. */
export function torchClassName(network: string): string {
  const p = pascal(network);
  return reservedClassName(p) ? `${p}_` : p;
}

/**
 * Writes a network as a PyTorch module: the layers archc needs (Keras semantics), one class per
 * block, and the network's class. The same graph always gives the same text.
 */
export function emitTorch(graph: IRGraph, opts: TorchEmitOptions = {}): string {
  const bindings = bindArguments(graph, opts.probe);
  const { root } = instances(graph);
  const networkClass = torchClassName(graph.network);
  const lowering = new Lowering(graph, bindings);
  const builder = new ClassBuilder(lowering, root, networkClass);
  builder.build();
  // The constructors' parameters must not shadow a class their bodies call.
  const argNames = pyParameterNames(
    bindings.params.keys(),
    new Set(),
    new Set(builder.classes.map((c) => c.name)),
  );
  const head = softmaxHead(graph, argNames);
  const classes = builder.classes.map((c) =>
    printClass(
      graph,
      lowering,
      c,
      c.inst === root,
      bindings,
      argNames,
      c.inst === root ? head : undefined,
    ),
  );
  const header = [
    ...pyComments(
      `Generated by archc${opts.source ? ` from ${opts.source}` : ""}. Do not edit: change the spec and compile again.`,
    ),
    pyDocstring(
      [
        `${graph.network} as PyTorch modules: \`${networkClass}()\` builds the network with the spec's arguments.`,
        "",
        "Layers keep Keras' semantics (TensorFlow 'same' padding, batch-norm momentum, channels-last",
        "flatten), so weights trained by archc or exported from its tfjs model load unchanged.",
      ].join("\n"),
      "",
    ),
  ].join("\n");
  const optional = optionalLayerTexts((op) => graph.nodes.some((n) => n.op === op));
  return `${[header, prelude.trimEnd(), ...optional, ...classes].join("\n\n\n")}\n`;
}

export { bindArguments };
