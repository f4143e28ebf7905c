import type {
  BlockDecl,
  Decl,
  ExpectDecl,
  ExperimentDecl,
  NetworkDecl,
  TrainDecl,
} from "../../../grammar/ast.js";
import { error, type Diagnostic } from "../../../grammar/diagnostic.js";
import { defaultsWord } from "../elaborate/defaults.js";
import { ops } from "../elaborate/ops/catalogue.js";
import type { Loaded, Module } from "../load.js";

/** Every named declaration reachable from a spec, in one flat namespace. */
export interface DeclTable {
  readonly blocks: Map<string, BlockDecl>;
  readonly networks: Map<string, NetworkDecl>;
  readonly trains: Map<string, TrainDecl>;
  readonly experiments: Map<string, ExperimentDecl>;
  readonly expects: ExpectDecl[];
}

/**
 * A module as the user knows it: the standard library by its import name (`std/units`), not by
 * where the package happens to be installed; other files by their path.
 */
function shownName(mod: Module): string {
  return mod.importedAs?.startsWith("std/") ? mod.importedAs : mod.file;
}

export function buildTable(loaded: Loaded, diagnostics: Diagnostic[]): DeclTable {
  const table: DeclTable = {
    blocks: new Map(),
    networks: new Map(),
    trains: new Map(),
    experiments: new Map(),
    expects: [],
  };
  const seen = new Map<string, Decl>();
  for (const mod of loaded.modules) {
    for (const decl of mod.program.decls) {
      if (decl.kind === "ExpectDecl") {
        table.expects.push(decl);
        continue;
      }
      const name = decl.name.name;
      const prior = seen.get(name);
      if (prior && prior.kind !== "ExpectDecl") {
        diagnostics.push(
          prior.span.file === decl.span.file
            ? {
                ...error(
                  "E0204",
                  decl.name.span,
                  `'${name}' is defined twice`,
                  "rename one of them",
                ),
                notes: [{ message: "first defined here", span: prior.name.span }],
              }
            : // Across files the earlier module imports the later (the root comes first): the
              // declaration to rename is the importer's, where the user is editing, not the
              // imported file's (often the standard library, which the user cannot change).
              {
                ...error(
                  "E0204",
                  prior.name.span,
                  `'${name}' is also defined in ${shownName(mod)} (imported)`,
                  // An import brings in every declaration of the module (and of what it imports):
                  // there is no importing some names only, so renaming is the way out.
                  `rename this ${describe(prior)}: an import brings in all of ${shownName(mod)}'s declarations, and none can be left out`,
                ),
                notes: [{ message: "also defined here", span: decl.name.span }],
              },
        );
        continue;
      }
      if (decl.kind === "BlockDecl" && (ops.has(name) || name === defaultsWord)) {
        diagnostics.push(
          error(
            "E0204",
            decl.name.span,
            `block '${name}' has the name of a built-in ${name === defaultsWord ? "statement" : "layer"}`,
            "choose another name",
          ),
        );
        continue;
      }
      if (decl.kind === "BlockDecl" && name.startsWith("_")) {
        // Its instances name layers (`_1/conv`), and tfjs' weight names must begin with a letter
        // or digit.
        diagnostics.push(
          error(
            "E0204",
            decl.name.span,
            `block '${name}' cannot name layers: a layer name starts with a letter`,
            `rename it, e.g. 'b${name}'`,
          ),
        );
        continue;
      }
      seen.set(name, decl);
      switch (decl.kind) {
        case "BlockDecl":
          table.blocks.set(name, decl);
          break;
        case "NetworkDecl":
          table.networks.set(name, decl);
          break;
        case "TrainDecl":
          table.trains.set(name, decl);
          break;
        case "ExperimentDecl":
          table.experiments.set(name, decl);
          break;
      }
    }
  }
  return table;
}

function describe(d: Decl): string {
  switch (d.kind) {
    case "BlockDecl":
      return "block";
    case "NetworkDecl":
      return "network";
    case "TrainDecl":
      return "train config";
    case "ExperimentDecl":
      return "experiment";
    case "ExpectDecl":
      return "expectation";
  }
}
