import type { Arg, BlockDecl, Body, LayerStmt } from "../../../grammar/ast.js";
import { DiagnosticError } from "../../../grammar/diagnostic.js";
import type { Span } from "../../../grammar/span.js";
import type { BoundArg } from "./bind.js";

/**
 * A layer's check that failed on a value the layer took from a bare name (`parts=parts`): the
 * name travels with the error, so each block call it passes through can move the error to the
 * argument its caller wrote. The user's squiggle lands where the edit is to be made, not inside a
 * standard-library block; the layer stays in the notes.
 */
export class NamedValueError extends DiagnosticError {
  constructor(
    error: DiagnosticError,
    /** The name the failing value was read from, in the scope of the innermost body. */
    readonly viaName: string,
  ) {
    super(error.diagnostic);
  }
}

const same = (a: Span, b: Span) =>
  a.file === b.file && a.start.offset === b.start.offset && a.end.offset === b.end.offset;

/** Marks an error of a layer's own checks that points at one of its arguments written as a name. */
export function markNamedArgument(err: unknown, stmt: LayerStmt): unknown {
  if (!(err instanceof DiagnosticError) || err instanceof NamedValueError) return err;
  const arg = stmt.args.find(
    (a) => a.value.kind === "Name" && same(a.value.span, err.diagnostic.span),
  );
  return arg && arg.value.kind === "Name" ? new NamedValueError(err, arg.value.name) : err;
}

/** Names a body binds itself (lets, repeat indices), which hide a parameter of the same name. */
function bound(body: Body, out: Set<string>): Set<string> {
  for (const s of body.stmts) {
    if (s.kind === "Let") {
      out.add(s.name.name);
      continue;
    }
    for (const el of s.elements) {
      if (el.kind === "Repeat") {
        if (el.index) out.add(el.index.name);
        bound(el.body, out);
      } else if (el.kind === "If") {
        bound(el.then, out);
        if (el.otherwise) bound(el.otherwise, out);
      } else if (el.kind === "Residual") {
        bound(el.body, out);
        if (el.shortcut) bound(el.shortcut, out);
      } else if (el.kind === "Branches") el.branches.forEach((b) => bound(b, out));
    }
  }
  return out;
}

/**
 * Whether `name` in a block's body is its parameter as the caller passed it: a parameter the
 * body never rebinds. Errors about it move to the caller's argument; generated TypeScript marks
 * such values in its sites for its runtime to do the same.
 */
export function passesOn(decl: BlockDecl, name: string): boolean {
  return decl.params.some((p) => p.name.name === name) && !bound(decl.body, new Set()).has(name);
}

/** The argument of a call that gives parameter `name`, where the caller wrote one. */
function argumentFor(
  decl: BlockDecl,
  args: readonly (Arg | BoundArg)[],
  name: string,
): Arg | undefined {
  let position = 0;
  for (const a of args) {
    if (a.kind === "BoundArg") continue;
    const param = a.name ? a.name.name : decl.params[position++]?.name.name;
    if (param === name) return a;
  }
  return undefined;
}

/**
 * At a block call: an error from a parameter that the call gave moves to that argument, with
 * the place inside the block as a note. Undefined where it stays as it is.
 */
export function reanchorAtCall(
  err: unknown,
  decl: BlockDecl,
  args: readonly (Arg | BoundArg)[],
): NamedValueError | DiagnosticError | undefined {
  if (!(err instanceof NamedValueError)) return undefined;
  if (!passesOn(decl, err.viaName)) return undefined;
  const arg = argumentFor(decl, args, err.viaName);
  if (!arg) return undefined;
  const d = err.diagnostic;
  const moved = new DiagnosticError({
    ...d,
    span: arg.value.span,
    notes: [
      { message: `inside ${decl.name.name}, as '${err.viaName}'`, span: d.span },
      ...(d.notes ?? []),
    ],
  });
  return arg.value.kind === "Name" ? new NamedValueError(moved, arg.value.name) : moved;
}
