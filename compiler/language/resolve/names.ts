import type {
  Arg,
  BlockDecl,
  Body,
  Element,
  Expr,
  LayerStmt,
  NetworkDecl,
} from "../../../grammar/ast.js";
import { printExpr } from "../../../grammar/printer.js";
import { error, type Diagnostic } from "../../../grammar/diagnostic.js";
import type { Span } from "../../../grammar/span.js";
import { builtinFunctions } from "../elaborate/evaluate.js";
import { ops } from "../elaborate/ops/catalogue.js";
import { defaultsCall, defaultsWord } from "../elaborate/defaults.js";
import { symbols } from "../elaborate/values.js";
import { argumentHint, didYouMean } from "../suggest.js";
import type { DeclTable } from "./table.js";

/**
 * Checks, before anything is instantiated, that every name, layer, block and argument name in a
 * block or network exists — so mistakes in blocks no network uses yet are found too.
 */
export function checkNames(
  decl: BlockDecl | NetworkDecl,
  table: DeclTable,
  out: Diagnostic[],
): void {
  try {
    checkDecl(decl, table, out);
  } catch (e) {
    // The parser's limits keep this recursion shallow; this is the last line of defence.
    if (!(e instanceof RangeError && /call stack/i.test(e.message))) throw e;
    out.push(
      error(
        "E0104",
        decl.name.span,
        `${decl.name.name} nests too deeply to be checked`,
        "flatten nested blocks, repeats and expressions",
      ),
    );
  }
}

function checkDecl(decl: BlockDecl | NetworkDecl, table: DeclTable, out: Diagnostic[]): void {
  const scope = new Set(decl.params.map((p) => p.name.name));
  const seenParams = new Set<string>();
  for (const p of decl.params) {
    if (p.name.name === "in") out.push(reservedIn(p.name.span));
    if (seenParams.has(p.name.name))
      out.push(error("E0204", p.name.span, `parameter '${p.name.name}' is declared twice`));
    seenParams.add(p.name.name);
    if (p.default) expr(p.default, scope, out);
  }
  body(decl.body, scope, table, out);
}

function body(b: Body, outer: ReadonlySet<string>, table: DeclTable, out: Diagnostic[]): void {
  const scope = new Set(outer);
  for (const stmt of b.stmts) {
    if (stmt.kind === "Let") {
      if (stmt.name.name === "in") out.push(reservedIn(stmt.name.span));
      expr(stmt.value, scope, out);
      scope.add(stmt.name.name);
      continue;
    }
    for (const el of stmt.elements) element(el, scope, table, out);
  }
}

function element(
  el: Element,
  scope: ReadonlySet<string>,
  table: DeclTable,
  out: Diagnostic[],
): void {
  switch (el.kind) {
    case "Layer": {
      const name = el.callee.name;
      if (name === defaultsWord) {
        const r = defaultsCall(el);
        if ("problem" in r) {
          out.push(error("E0300", r.problem.span, r.problem.message, r.problem.hint));
          return;
        }
        const target = r.call.callee.name;
        r.call.args.forEach((a) => expr(a.value, scope, out));
        namedArgs(
          r.call.args,
          ops.get(target)!.attrs.map((a) => a.name),
          `${target} has no argument`,
          out,
        );
        return;
      }
      const op = ops.get(name);
      const argNames =
        op?.attrs.map((a) => a.name) ?? table.blocks.get(name)?.params.map((p) => p.name.name);
      el.args.forEach((a, i) => {
        const misplaced = a.name ? undefined : misplacedWord(el, i, argNames ?? [], scope, table);
        if (misplaced) out.push(misplaced);
        else expr(a.value, scope, out);
      });
      if (op) {
        const known = op.attrs.map((a) => a.name);
        namedArgs(el.args, known, `${name} has no argument`, out);
      } else if (table.blocks.has(name)) {
        const block = table.blocks.get(name)!;
        const known = block.params.map((p) => p.name.name);
        namedArgs(el.args, known, `block ${name} has no parameter`, out);
        const positional = el.args.filter((a) => !a.name);
        if (positional.length > block.params.length) {
          out.push(
            error(
              "E0301",
              positional[block.params.length]!.span,
              `block ${name} takes ${block.params.length} argument${block.params.length === 1 ? "" : "s"}, but ${positional.length} are given`,
            ),
          );
        }
      } else if (table.networks.has(name)) {
        out.push(
          error(
            "E0206",
            el.callee.span,
            `${name} is a network; only blocks and layers can be used in a chain`,
            "turn the shared part into a block",
          ),
        );
      } else if (name !== "<missing>") {
        out.push(
          error(
            "E0203",
            el.callee.span,
            `unknown layer or block '${name}'`,
            didYouMean(name, [...ops.keys(), ...table.blocks.keys()]) ??
              "layers: " + [...ops.keys()].slice(0, 12).join(", ") + ", ...",
          ),
        );
      }
      return;
    }
    case "Branches":
      el.branches.forEach((b) => body(b, scope, table, out));
      return;
    case "Residual":
      el.args.forEach((a) => expr(a.value, scope, out));
      namedArgs(el.args, ["enabled"], "residual has no argument", out);
      body(el.body, scope, table, out);
      if (el.shortcut) body(el.shortcut, scope, table, out);
      return;
    case "Repeat": {
      expr(el.count, scope, out);
      const inner = new Set(scope);
      if (el.index) inner.add(el.index.name);
      body(el.body, inner, table, out);
      return;
    }
    case "If":
      expr(el.test, scope, out);
      body(el.then, scope, table, out);
      if (el.otherwise) body(el.otherwise, scope, table, out);
      return;
  }
}

/**
 * A bare word among a layer's arguments that is not a value but a mistake with a known fix: an
 * argument name without its `=` (`conv 3x3 64 stride 2`), or another layer where `->` was
 * meant (`conv 3x3 64 bn relu`).
 */
function misplacedWord(
  el: LayerStmt,
  i: number,
  argNames: readonly string[],
  scope: ReadonlySet<string>,
  table: DeclTable,
): Diagnostic | undefined {
  const arg = el.args[i]!;
  if (arg.value.kind !== "Name") return undefined;
  const word = arg.value.name;
  if (scope.has(word) || symbols.has(word) || word === "in") return undefined;
  const callee = el.callee.name;
  const next = el.args[i + 1];
  if (argNames.includes(word)) {
    const value = next && !next.name ? printExpr(next.value) : "...";
    return error(
      "E0203",
      arg.value.span,
      `'${word}' is the name of an argument of ${callee}, not a value`,
      `give it with '=': ${word} = ${value}`,
    );
  }
  if (ops.has(word) || table.blocks.has(word)) {
    const before = [callee, ...el.args.slice(0, i).map(printArg)].join(" ");
    const after = el.args.slice(i).map((a) => {
      const isLayer =
        !a.name &&
        a.value.kind === "Name" &&
        (ops.has(a.value.name) || table.blocks.has(a.value.name));
      return isLayer ? `-> ${printArg(a)}` : printArg(a);
    });
    return error(
      "E0203",
      arg.value.span,
      `'${word}' is a ${ops.has(word) ? "layer" : "block"}, not an argument of ${callee}`,
      `to apply it after ${callee}, chain them with '->': ${[before, ...after].join(" ")}`,
    );
  }
  return undefined;
}

function printArg(a: Arg): string {
  return a.name ? `${a.name.name}=${printExpr(a.value)}` : printExpr(a.value);
}

function namedArgs(args: readonly Arg[], known: string[], what: string, out: Diagnostic[]): void {
  const seen = new Set<string>();
  for (const a of args) {
    if (!a.name) continue;
    const n = a.name.name;
    if (!known.includes(n)) {
      out.push(
        error(
          "E0300",
          a.name.span,
          `${what} '${n}'`,
          argumentHint(n, known) ?? (known.length ? `known: ${known.join(", ")}` : undefined),
        ),
      );
    } else if (seen.has(n)) {
      out.push(error("E0304", a.name.span, `argument '${n}' is given twice`));
    }
    seen.add(n);
  }
}

/** Reports names that are neither bound, nor `in`, nor a word with a meaning of its own. */
export function expr(
  e: Expr,
  scope: ReadonlySet<string>,
  out: Diagnostic[],
  allowCalls = false,
): void {
  switch (e.kind) {
    case "Name":
      if (e.name === "<missing>" || e.name === "in" || scope.has(e.name) || symbols.has(e.name))
        return;
      out.push(
        error(
          "E0203",
          e.span,
          `unknown name '${e.name}'`,
          didYouMean(e.name, [...scope, ...symbols, "in"]),
        ),
      );
      return;
    case "List":
      e.items.forEach((i) => expr(i, scope, out, allowCalls));
      return;
    case "Unary":
      expr(e.operand, scope, out, allowCalls);
      return;
    case "Binary":
      expr(e.left, scope, out, allowCalls);
      expr(e.right, scope, out, allowCalls);
      return;
    case "Conditional":
      expr(e.test, scope, out, allowCalls);
      expr(e.then, scope, out, allowCalls);
      expr(e.otherwise, scope, out, allowCalls);
      return;
    case "Quantity":
      expr(e.amount, scope, out, allowCalls);
      return;
    case "Range":
      for (const x of [e.start, e.end, ...(e.step ? [e.step] : [])])
        expr(x, scope, out, allowCalls);
      return;
    case "Call":
      if (!allowCalls && !builtinFunctions.has(e.callee.name)) {
        out.push(
          error(
            "E0206",
            e.callee.span,
            `'${e.callee.name}' is not a function usable in an expression`,
            didYouMean(e.callee.name, builtinFunctions) ??
              `functions: ${[...builtinFunctions].join(", ")}`,
          ),
        );
      }
      e.args.forEach((a) => expr(a.value, scope, out, allowCalls));
      return;
    default:
      return;
  }
}

function reservedIn(span: Span): Diagnostic {
  return error(
    "E0204",
    span,
    "'in' is reserved: it always means the incoming channel count",
    "choose another name, e.g. channels",
  );
}
