/** A position in a source file; lines and columns are 1-based, offsets 0-based. */
export interface Position {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** Where a node came from. `end` is exclusive. */
export interface Span {
  readonly file: string;
  readonly start: Position;
  readonly end: Position;
}

/** A span for things with no source, such as command-line arguments. */
export function syntheticSpan(file: string): Span {
  const p = { offset: 0, line: 1, column: 1 };
  return { file, start: p, end: p };
}

/** A span for text given on the command line: line 0 says it is in no file, so none is shown. */
export function commandLineSpan(text: string): Span {
  const p = { offset: 0, line: 0, column: 0 };
  return { file: text, start: p, end: p };
}
