import type { IRGraph } from "../../compiler/language/ir/types.js";
import type { ForwardResult } from "./forward.js";

/** What the browser tests and the benchmark read and drive: the page's state, not its pixels. */
export interface PlaygroundApi {
  /**
   * performance.now() of the last change of the text, of its diagnostics shown, and of its
   * figures (inlay shapes, totals, the open pane) shown; the time the check took.
   */
  readonly stats: {
    editAt: number;
    shownAt: number;
    figuresAt: number;
    checkMs: number;
    checks: number;
  };
  text(): string;
  params(): number | undefined;
  diagnostics(): readonly { code: string; line: number; message: string }[];
  lastRun(): ForwardResult | undefined;
  graph(): IRGraph | undefined;
  share(): string;
  setText(text: string): void;
  /** Puts the cursor at a 1-based line and column and focuses the editor, for typing there. */
  cursor(line: number, column: number): void;
  /** Where a 1-based line and column is drawn on screen (to hover it), if it is in view. */
  coords(line: number, column: number): { x: number; y: number } | undefined;
}

declare global {
  interface Window {
    archcPlayground: PlaygroundApi;
  }
}
