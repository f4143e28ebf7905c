import type { NetworkDecl } from "../../grammar/ast.js";
import { defaultHost } from "../../compiler/language/defaultHost.js";
import { analyse, type Analysis } from "../../compiler/services/analysis.js";
import { inlayHints } from "../../compiler/services/inlay.js";
import { chartableAxes } from "./continuum.js";
import type { Figures, NetworkInfo } from "./protocol.js";

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
 * Checks the text as `archc check` does; the chosen network (as `archc summary` builds it) is
 * built on first use of the analysis' figures, so the diagnostics can go first.
 */
export function check(state: PlaygroundState, version: number): Analysis {
  return analyse(
    state.path,
    version,
    state.text,
    (p) => defaultHost.read(p),
    { ...(state.network ? { network: state.network } : {}), set: state.set },
    defaultHost,
  );
}

/** The networks a text declares, in order (the picker's choices). */
export function networksOf(analysis: Analysis): NetworkDecl[] {
  const root = analysis.program.loaded.root;
  return (root?.program.decls ?? []).filter((d): d is NetworkDecl => d.kind === "NetworkDecl");
}

/** What the page shows of the chosen network: its graph, the pickers' choices, inlay shapes. */
export function figuresOf(analysis: Analysis): Figures {
  const f = analysis.figures();
  const networks: NetworkInfo[] = networksOf(analysis).map((n) => ({
    name: n.name.name,
    params: n.params.map((p) => ({
      name: p.name.name,
      default: p.default
        ? analysis.text.slice(p.default.span.start.offset, p.default.span.end.offset)
        : undefined,
    })),
  }));
  return {
    version: analysis.version,
    graph: f.ok ? f.graph : undefined,
    reason: f.ok ? undefined : f.reason,
    network: f.ok ? f.network.name.name : undefined,
    networks,
    axes: f.ok ? chartableAxes(f.network) : [],
    inlays: inlayHints(analysis),
  };
}
