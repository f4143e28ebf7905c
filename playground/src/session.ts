import type { NetworkDecl } from "../../grammar/ast.js";
import type { Diagnostic } from "../../grammar/diagnostic.js";
import { defaultHost } from "../../compiler/language/defaultHost.js";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import { analyse, type Analysis } from "../../compiler/services/analysis.js";

/** What the page shows: a spec's text, the network picked, and the point of the continuum. */
export interface PlaygroundState {
  /** Where the text lives among the bundled files (`/specs/NAME.arch`): imports resolve from it. */
  readonly path: string;
  readonly text: string;
  /** The network to take figures from; undefined: the file's last one, as `archc summary`. */
  readonly network?: string | undefined;
  /** Network arguments as `--set` takes them (`parts=4`). */
  readonly set: readonly string[];
}

/**
 * One analysis of the text: its diagnostics at once (timed), the network's figures on first
 * use, so that the diagnostics show before the network is built for the panes.
 */
export interface Checked {
  readonly analysis: Analysis;
  readonly diagnostics: readonly Diagnostic[];
  readonly graph: IRGraph | undefined;
  readonly network: NetworkDecl | undefined;
  /** Why there are no figures (errors, parameters without defaults), when there are none. */
  readonly reason: string | undefined;
  readonly ms: number;
}

let version = 0;

/** Checks the text as `archc check` does, and builds the chosen network as `archc summary`. */
export function check(state: PlaygroundState): Checked {
  const t0 = performance.now();
  const analysis = analyse(
    state.path,
    ++version,
    state.text,
    (p) => defaultHost.read(p),
    { ...(state.network ? { network: state.network } : {}), set: state.set },
    defaultHost,
  );
  const ms = performance.now() - t0;
  return {
    analysis,
    diagnostics: analysis.diagnostics,
    get graph() {
      const f = analysis.figures();
      return f.ok ? f.graph : undefined;
    },
    get network() {
      const f = analysis.figures();
      return f.ok ? f.network : undefined;
    },
    get reason() {
      const f = analysis.figures();
      return f.ok ? undefined : f.reason;
    },
    ms,
  };
}

/** The networks a text declares, in order (the picker's choices). */
export function networksOf(c: Checked): NetworkDecl[] {
  const root = c.analysis.program.loaded.root;
  return (root?.program.decls ?? []).filter((d): d is NetworkDecl => d.kind === "NetworkDecl");
}
