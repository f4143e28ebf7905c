/** The `archc.*` settings an editor may send (initialization options or configuration). */
export interface Settings {
  /** The network hovers and inlay hints take figures from; default the file's last. */
  readonly network?: string;
  /** Network arguments for the figures, `name=value` as `archc summary --set` takes them. */
  readonly set?: readonly string[];
  /** Output shapes at the end of layer lines. */
  readonly inlayHints: boolean;
  /** Quiet time after a change before the file is checked again. */
  readonly debounceMs: number;
}

export const defaultSettings: Settings = { inlayHints: true, debounceMs: 15 };

export function readSettings(raw: unknown, prior: Settings): Settings {
  if (!raw || typeof raw !== "object") return prior;
  const r = raw as Record<string, unknown>;
  const network = typeof r["network"] === "string" && r["network"] ? r["network"] : undefined;
  const set = Array.isArray(r["set"])
    ? r["set"].filter((x): x is string => typeof x === "string" && x.trim() !== "")
    : prior.set;
  return {
    ...(network !== undefined ? { network } : {}),
    ...(set?.length ? { set } : {}),
    inlayHints: typeof r["inlayHints"] === "boolean" ? r["inlayHints"] : prior.inlayHints,
    debounceMs:
      typeof r["debounceMs"] === "number" && r["debounceMs"] >= 0
        ? r["debounceMs"]
        : prior.debounceMs,
  };
}
