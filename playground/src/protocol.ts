import type { CompletionItem, Hover, InlayHint, Position } from "vscode-languageserver-types";
import type { Diagnostic } from "../../grammar/diagnostic.js";
import type { IRGraph } from "../../compiler/language/ir/types.js";
import type { Value } from "../../compiler/language/elaborate/values.js";
import type { Point } from "./continuum.js";
import type { PlaygroundState } from "./session.js";

/**
 * What the page and its checking worker (worker.ts) say to each other. Everything is plain data
 * (structured clone): the AST and the program stay in the worker, the page gets what it shows.
 * Each check has a version; an answer for a version older than the page's newest is stale.
 */

/** A downloadable artefact: what `archc compile --target ...` writes. */
export interface Artefact {
  readonly name: string;
  readonly type: string;
  readonly data: string | Uint8Array;
}

export type ArtefactKind = "json" | "torch" | "onnx" | "ts";

/** A network the text declares, for the picker and one field per argument. */
export interface NetworkInfo {
  readonly name: string;
  /** Each parameter with its default as written in the spec, if it has one. */
  readonly params: readonly { readonly name: string; readonly default: string | undefined }[];
}

/** The answer to a check: what `archc check` reports, and how long the check took in the worker. */
export interface Checked {
  readonly version: number;
  /** The file name the diagnostics of the text itself carry (others are in imported modules). */
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];
  readonly ms: number;
}

/** The chosen network's figures, sent after the diagnostics (building it takes longer). */
export interface Figures {
  readonly version: number;
  readonly graph: IRGraph | undefined;
  /** Why there are no figures (errors, parameters without defaults), when there are none. */
  readonly reason: string | undefined;
  /** The network the figures are of, when it builds. */
  readonly network: string | undefined;
  readonly networks: readonly NetworkInfo[];
  /** The arguments the continuum chart can sweep. */
  readonly axes: readonly string[];
  readonly inlays: readonly InlayHint[];
}

/** Questions about the newest check, each answered once. */
export interface Questions {
  hover: { readonly version: number; readonly position: Position };
  /** Completion reads the text it is given, so an analysis a keystroke old still serves. */
  complete: { readonly text: string; readonly position: Position };
  /** `archc fmt`; null when the text does not parse. */
  format: { readonly text: string };
  continuum: { readonly version: number; readonly axis: string };
  /** The chosen network at one value of an axis (a continuum point to time). */
  variant: { readonly version: number; readonly axis: string; readonly value: Value };
  artefact: { readonly version: number; readonly kind: ArtefactKind };
}

export interface Answers {
  hover: Hover | null;
  complete: CompletionItem[];
  format: string | null;
  continuum: Point[];
  variant: IRGraph | null;
  artefact: Artefact;
}

export type Question = keyof Questions;

export type Request =
  | { readonly kind: "check"; readonly version: number; readonly state: PlaygroundState }
  | {
      [K in Question]: {
        readonly kind: "ask";
        readonly id: number;
        readonly question: K;
        readonly args: Questions[K];
      };
    }[Question];

export type Reply =
  | ({ readonly kind: "checked" } & Checked)
  | ({ readonly kind: "figures" } & Figures)
  | { readonly kind: "answer"; readonly id: number; readonly value: unknown }
  /** `stale`: the question was about a version the worker has already moved past. */
  | {
      readonly kind: "failed";
      readonly id: number;
      readonly error: string;
      readonly stale: boolean;
    }
  /** The worker could not start or threw outside any request. */
  | { readonly kind: "crashed"; readonly error: string };
