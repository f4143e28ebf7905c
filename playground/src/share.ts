import { compressToEncodedURIComponent, decompressFromEncodedURIComponent } from "lz-string";
import type { PlaygroundState } from "./session.js";

/** The view a link opens on, beside the spec. */
export interface Shared extends PlaygroundState {
  readonly pane?: string | undefined;
  readonly axis?: string | undefined;
}

const VERSION = 1;

/** The whole state, compressed into a URL fragment (`#s=...`): nothing goes to a server. */
export function encodeState(s: Shared): string {
  const payload = JSON.stringify({
    v: VERSION,
    path: s.path,
    text: s.text,
    network: s.network,
    set: s.set,
    pane: s.pane,
    axis: s.axis,
  });
  return `s=${compressToEncodedURIComponent(payload)}`;
}

/** The state a fragment holds, or why it holds none (a damaged or foreign link). */
export function decodeState(fragment: string): Shared | { error: string } | undefined {
  const m = /(?:^#?|&)s=([^&]*)/.exec(fragment);
  if (!m) return undefined;
  const json = decompressFromEncodedURIComponent(m[1]!);
  if (!json) return { error: "the link's spec is damaged (it does not decompress)" };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { error: "the link's spec is damaged (it is not the playground's JSON)" };
  }
  const o = raw as Partial<Record<string, unknown>>;
  if (o["v"] !== VERSION) return { error: `the link is of another version (${String(o["v"])})` };
  const str = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : undefined);
  const text = str("text");
  const path = str("path");
  if (text === undefined || path === undefined || !/^\/specs\/[\w.-]+\.arch$/.test(path))
    return { error: "the link holds no spec" };
  const set = Array.isArray(o["set"]) ? o["set"].filter((x) => typeof x === "string") : [];
  return { path, text, network: str("network"), set, pane: str("pane"), axis: str("axis") };
}
