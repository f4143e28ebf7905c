import { SymbolKind, type DocumentSymbol } from "vscode-languageserver-types";
import type { Decl, Param } from "../../grammar/ast.js";
import { printExpr } from "../../grammar/printer.js";
import type { Analysis } from "./analysis.js";
import { rangeOf } from "./positions.js";

const kinds: Record<Decl["kind"], SymbolKind> = {
  NetworkDecl: SymbolKind.Class,
  BlockDecl: SymbolKind.Function,
  TrainDecl: SymbolKind.Struct,
  ExperimentDecl: SymbolKind.Event,
  ExpectDecl: SymbolKind.Constant,
};

const words: Record<Decl["kind"], string> = {
  NetworkDecl: "network",
  BlockDecl: "block",
  TrainDecl: "train config",
  ExperimentDecl: "experiment",
  ExpectDecl: "expectation",
};

function param(p: Param): DocumentSymbol {
  return {
    name: p.name.name,
    kind: SymbolKind.Variable,
    ...(p.default ? { detail: `= ${printExpr(p.default)}` } : {}),
    range: rangeOf(p.span),
    selectionRange: rangeOf(p.name.span),
  };
}

/** The outline: networks, blocks, train configs, experiments and expectations, with parameters. */
export function documentSymbols(analysis: Analysis): DocumentSymbol[] {
  const root = analysis.program.loaded.root;
  if (!root) return [];
  return root.program.decls.map((d) => {
    const name = d.kind === "ExpectDecl" ? `expect ${d.target.callee.name}` : d.name.name;
    const selection = d.kind === "ExpectDecl" ? d.target.callee.span : d.name.span;
    const children =
      d.kind === "NetworkDecl" || d.kind === "BlockDecl"
        ? d.params.map(param)
        : d.kind === "ExpectDecl"
          ? []
          : d.entries.map((e) => ({
              name: e.key.name,
              kind: SymbolKind.Property,
              range: rangeOf(e.span),
              selectionRange: rangeOf(e.key.span),
            }));
    return {
      name,
      detail: words[d.kind],
      kind: kinds[d.kind],
      range: rangeOf(d.span),
      selectionRange: rangeOf(selection),
      children,
    };
  });
}
