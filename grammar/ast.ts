import type { Span } from "./span.js";

/** The syntax tree of one `.arch` file. Every node is readonly and carries its span. */

interface NodeBase {
  readonly span: Span;
}

export interface Ident extends NodeBase {
  readonly kind: "Ident";
  readonly name: string;
}

// ---- Expressions -------------------------------------------------------------------------

export interface NumberLit extends NodeBase {
  readonly kind: "Number";
  readonly value: number;
  readonly isInteger: boolean;
  readonly raw: string;
}
export interface BoolLit extends NodeBase {
  readonly kind: "Bool";
  readonly value: boolean;
}
export interface StringLit extends NodeBase {
  readonly kind: "String";
  readonly value: string;
}
/** `3x3`, `299x299x3`, `3x3/2`. */
export interface SizeLit extends NodeBase {
  readonly kind: "Size";
  readonly dims: readonly number[];
  readonly stride?: number;
}
export interface NameRef extends NodeBase {
  readonly kind: "Name";
  readonly name: string;
}
export interface ListExpr extends NodeBase {
  readonly kind: "List";
  readonly items: readonly Expr[];
}
export type UnaryOp = "-" | "not";
export interface UnaryExpr extends NodeBase {
  readonly kind: "Unary";
  readonly op: UnaryOp;
  readonly operand: Expr;
}
export type BinaryOp =
  "+" | "-" | "*" | "/" | "//" | "%" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "and" | "or";
export interface BinaryExpr extends NodeBase {
  readonly kind: "Binary";
  readonly op: BinaryOp;
  readonly left: Expr;
  readonly right: Expr;
}
export interface ConditionalExpr extends NodeBase {
  readonly kind: "Conditional";
  readonly test: Expr;
  readonly then: Expr;
  readonly otherwise: Expr;
}
/** `min(a, b)` in an expression, or `sgd(lr = 0.1)` in a config entry. */
export interface CallExpr extends NodeBase {
  readonly kind: "Call";
  readonly callee: Ident;
  readonly args: readonly Arg[];
}
/** `16..64` or `16..64 step 16`: the integers from start to end inclusive, every `step`th. */
export interface RangeExpr extends NodeBase {
  readonly kind: "Range";
  readonly start: Expr;
  readonly end: Expr;
  readonly step?: Expr;
}
/** Units of time, written on the number: `5ms`, `250us`, `0.5s`. */
export type TimeUnit = "ms" | "us" | "s";
export const timeUnits: readonly TimeUnit[] = ["ms", "us", "s"];

/** `2 epochs`, `3000000 samples`; a time, `5ms`. */
export interface QuantityExpr extends NodeBase {
  readonly kind: "Quantity";
  readonly amount: Expr;
  readonly unit: "epochs" | "samples" | "steps" | TimeUnit;
}

export type Expr =
  | NumberLit
  | BoolLit
  | StringLit
  | SizeLit
  | NameRef
  | ListExpr
  | UnaryExpr
  | BinaryExpr
  | ConditionalExpr
  | CallExpr
  | QuantityExpr
  | RangeExpr;

/** A positional (`name` absent) or keyword argument. */
export interface Arg extends NodeBase {
  readonly kind: "Arg";
  readonly name?: Ident;
  readonly value: Expr;
}

// ---- Network bodies ----------------------------------------------------------------------

/**
 * A layer or block application: `conv 3x3/2 32 valid` (bare form) or `entry(128, first = true)`
 * (call form). Which one it is gets decided by name resolution.
 */
export interface LayerStmt extends NodeBase {
  readonly kind: "Layer";
  readonly callee: Ident;
  readonly args: readonly Arg[];
  /** Whether the arguments were written in parentheses; kept so `fmt` preserves the form. */
  readonly parenthesized: boolean;
}
export interface BranchesStmt extends NodeBase {
  readonly kind: "Branches";
  readonly join: "concat" | "add" | "mul";
  readonly branches: readonly Body[];
}
export interface ResidualStmt extends NodeBase {
  readonly kind: "Residual";
  readonly args: readonly Arg[];
  readonly body: Body;
  readonly shortcut?: Body;
}
export interface RepeatStmt extends NodeBase {
  readonly kind: "Repeat";
  readonly count: Expr;
  readonly index?: Ident;
  readonly body: Body;
}
export interface IfStmt extends NodeBase {
  readonly kind: "If";
  readonly test: Expr;
  readonly then: Body;
  readonly otherwise?: Body;
}
export type Element = LayerStmt | BranchesStmt | ResidualStmt | RepeatStmt | IfStmt;

/** `a -> b -> c`; a single element is a chain of one. */
export interface ChainStmt extends NodeBase {
  readonly kind: "Chain";
  readonly elements: readonly Element[];
}
export interface LetStmt extends NodeBase {
  readonly kind: "Let";
  readonly name: Ident;
  readonly value: Expr;
}
export type Stmt = ChainStmt | LetStmt;

export interface Body extends NodeBase {
  readonly kind: "Body";
  readonly stmts: readonly Stmt[];
}

// ---- Declarations ------------------------------------------------------------------------

export interface Param extends NodeBase {
  readonly kind: "Param";
  readonly name: Ident;
  readonly default?: Expr;
}
export interface ImportDecl extends NodeBase {
  readonly kind: "Import";
  readonly path: StringLit;
}
export interface BlockDecl extends NodeBase {
  readonly kind: "BlockDecl";
  readonly name: Ident;
  readonly params: readonly Param[];
  readonly body: Body;
}
export interface NetworkDecl extends NodeBase {
  readonly kind: "NetworkDecl";
  readonly name: Ident;
  readonly params: readonly Param[];
  readonly body: Body;
}
/** `optimizer sgd(momentum = 0.9)`, `compare a(), b()`, `sweep parts = [1, 2]`. */
export interface Entry extends NodeBase {
  readonly kind: "Entry";
  readonly key: Ident;
  readonly args: readonly Arg[];
}
export interface TrainDecl extends NodeBase {
  readonly kind: "TrainDecl";
  readonly name: Ident;
  readonly entries: readonly Entry[];
}
export interface ExperimentDecl extends NodeBase {
  readonly kind: "ExperimentDecl";
  readonly name: Ident;
  readonly entries: readonly Entry[];
}
/** `expect xception(classes = 1000) { trainable = 22855952 }`: figures a network must keep. */
export interface ExpectDecl extends NodeBase {
  readonly kind: "ExpectDecl";
  readonly target: CallExpr;
  readonly entries: readonly Entry[];
}
export type Decl = BlockDecl | NetworkDecl | TrainDecl | ExperimentDecl | ExpectDecl;

export interface Program extends NodeBase {
  readonly kind: "Program";
  readonly imports: readonly ImportDecl[];
  readonly decls: readonly Decl[];
}

export type Node =
  Program | ImportDecl | Decl | Param | Entry | Body | Stmt | Element | Arg | Expr | Ident;
