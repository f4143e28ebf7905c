import type { Span } from "../../../../grammar/span.js";
import { generated } from "./errors.js";

/**
 * Where a statement or expression of generated code is in its spec, so that build()'s errors
 * point at the `.arch` source as `archc summary --set ...` does. Generated code writes one string
 * per statement in a table at the end of the module and passes it with the call:
 *
 *     "std/units:20:3 kernel=20:8 parts=20:32<parts"
 *
 * is the statement at line 20, column 3 of std/units, its argument `kernel` at 20:8 and `parts`
 * at 20:32; `<parts` says that value is the enclosing block's parameter `parts` as it was passed,
 * so an error about it moves to the argument the block's caller wrote (elaborate/reanchor.ts).
 * A block call's arguments are keyed by the block's parameters, a join's branches by their index.
 */
export type Site = string;

export interface Place {
  readonly span: Span;
  /** The enclosing block's parameter the value was passed in as, unchanged. */
  readonly via?: string;
}

export interface ParsedSite {
  readonly at: Span;
  readonly args: ReadonlyMap<string, Place>;
}

const parsed = new Map<string, ParsedSite>();

function span(file: string, line: string, column: string): Span {
  const start = { offset: 0, line: Number(line), column: Number(column) };
  return { file, start, end: start };
}

/** A site's places; no site (a hand-written call) is `<generated>` with no arguments. */
export function parseSite(site: Site | undefined): ParsedSite {
  if (site === undefined) return { at: generated, args: new Map() };
  const known = parsed.get(site);
  if (known) return known;
  const head = /^(.*?):(\d+):(\d+)(?= |$)/.exec(site);
  if (!head) throw new Error(`internal: '${site}' is not a site of generated code`);
  const args = new Map<string, Place>();
  const file = head[1]!;
  for (const m of site.slice(head[0].length).matchAll(/ (\w+)=(\d+):(\d+)(?:<(\w+))?/g)) {
    args.set(m[1]!, { span: span(file, m[2]!, m[3]!), ...(m[4] ? { via: m[4] } : {}) });
  }
  const r = { at: span(file, head[2]!, head[3]!), args };
  parsed.set(site, r);
  return r;
}
