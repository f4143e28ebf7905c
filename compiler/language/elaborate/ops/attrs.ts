import { fail } from "../../../../grammar/diagnostic.js";
import type { Span } from "../../../../grammar/span.js";
import { activations, show, typeName, type Value } from "../values.js";
import { negativePadHint, padLengthProblem } from "./pads.js";
import { rangeProblem, type NumberRange } from "./range.js";
import type { AttrKind, LowerContext } from "./spec.js";

/** Whether a value can fill an attribute of this kind; used for type checks and positional args. */
export function accepts(kind: AttrKind, v: Value): boolean {
  switch (kind) {
    case "int":
      return v.t === "int";
    case "number":
      return v.t === "int" || v.t === "float";
    case "bool":
      return v.t === "bool";
    case "string":
      return v.t === "string";
    case "size":
      return (
        (v.t === "size" && v.dims.length === 2) ||
        v.t === "int" ||
        (v.t === "list" && v.items.length === 2 && v.items.every((i) => i.t === "int"))
      );
    case "shape":
      return (
        (v.t === "size" && v.dims.length === 3) ||
        (v.t === "list" && v.items.length === 3 && v.items.every((i) => i.t === "int"))
      );
    case "padding":
      return v.t === "symbol" && (v.v === "same" || v.v === "valid");
    case "activation":
      return v.t === "symbol" && (activations as readonly string[]).includes(v.v);
    case "parts":
      return v.t === "int" || (v.t === "symbol" && (v.v === "depthwise" || v.v === "regular"));
    case "order":
      return v.t === "symbol" && (v.v === "spatial_first" || v.v === "pointwise_first");
    case "pads":
      return (
        v.t === "int" ||
        (v.t === "size" && v.dims.length === 2 && v.stride === undefined) ||
        (v.t === "list" && v.items.every((i) => i.t === "int"))
      );
  }
}

export const kindWords: Record<AttrKind, string> = {
  int: "an integer",
  number: "a number",
  bool: "true or false",
  string: "a string",
  size: "a size such as 3x3 (or one integer)",
  shape: "a shape such as 224x224x3",
  padding: "same or valid",
  activation: `an activation (${activations.join(", ")})`,
  parts: "a partition count, regular or depthwise",
  order: "spatial_first or pointwise_first",
  pads: "a padding: one integer, HxW, [h, w] or [top, bottom, left, right]",
};

export function typeMismatch(
  layer: string,
  attr: string,
  kind: AttrKind,
  v: Value,
  span: Span,
): never {
  fail(
    "E0303",
    span,
    `${layer}: ${attr} must be ${kindWords[kind]}, not ${v.t === "symbol" ? `'${v.v}'` : `${typeName(v)} (${show(v)})`}`,
  );
}

/** Typed accessors over a layer's bound attributes; defaults are the caller's. */
export class Attrs {
  constructor(private readonly ctx: LowerContext) {}

  has(name: string): boolean {
    return this.ctx.attrs.has(name);
  }

  span(name: string): Span {
    return this.ctx.attrs.get(name)?.span ?? this.ctx.span;
  }

  value(name: string): Value | undefined {
    return this.ctx.attrs.get(name)?.value;
  }

  int(name: string, fallback: number, min = 0): number {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (v.t !== "int") typeMismatch(this.ctx.name, name, "int", v, this.span(name));
    if (v.v < min) {
      fail(
        "E0305",
        this.span(name),
        `${this.ctx.name}: ${name} must be at least ${min}, not ${v.v}`,
      );
    }
    return v.v;
  }

  /** A finite number inside `range` (./range.ts). */
  number(name: string, fallback: number, range: NumberRange): number {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (v.t !== "int" && v.t !== "float")
      typeMismatch(this.ctx.name, name, "number", v, this.span(name));
    const p = rangeProblem(this.ctx.name, name, v.v, show(v), range);
    if (p) fail("E0305", this.span(name), p.message, p.hint);
    return v.v;
  }

  bool(name: string, fallback: boolean): boolean {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (v.t !== "bool") typeMismatch(this.ctx.name, name, "bool", v, this.span(name));
    return v.v;
  }

  symbol<T extends string>(name: string, kind: AttrKind, fallback: T): T {
    const v = this.value(name);
    if (v === undefined) return fallback;
    if (!accepts(kind, v) || v.t !== "symbol")
      typeMismatch(this.ctx.name, name, kind, v, this.span(name));
    return v.v as T;
  }

  /** A 2-d size from `3x3`, `[3, 5]` or `3`; returns also the stride a `3x3/2` literal carries. */
  size(
    name: string,
    fallback?: readonly [number, number],
  ): { dims: [number, number]; stride?: number } {
    const v = this.value(name);
    if (v === undefined) {
      if (fallback) return { dims: [fallback[0], fallback[1]] };
      fail(
        "E0302",
        this.ctx.span,
        `${this.ctx.name}: missing ${name}`,
        `give it as e.g. 3x3 or ${name} = 3`,
      );
    }
    let dims: number[];
    let stride: number | undefined;
    if (v.t === "int") dims = [v.v, v.v];
    else if (v.t === "size" && v.dims.length === 2) {
      dims = [...v.dims];
      stride = v.stride;
    } else if (v.t === "list" && v.items.length === 2 && v.items.every((i) => i.t === "int")) {
      dims = v.items.map((i) => (i as { v: number }).v);
    } else typeMismatch(this.ctx.name, name, "size", v, this.span(name));
    if (dims.some((d) => d < 1) || stride === 0) {
      fail("E0305", this.span(name), `${this.ctx.name}: ${name} must be positive, not ${show(v)}`);
    }
    return stride === undefined
      ? { dims: [dims[0]!, dims[1]!] }
      : { dims: [dims[0]!, dims[1]!], stride };
  }

  /**
   * Explicit padding as [top, bottom, left, right]: `pad = 1` pads every side, `2x1` and `[2, 1]`
   * pad rows by 2 and columns by 1 on both sides, `[t, b, l, r]` each side on its own.
   */
  pads(name: string): [number, number, number, number] | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    const ints = (xs: readonly Value[]) => xs.map((i) => (i as { v: number }).v);
    let p: number[] | undefined;
    if (v.t === "int") p = [v.v, v.v, v.v, v.v];
    else if (v.t === "size" && v.dims.length === 2 && v.stride === undefined)
      p = [v.dims[0]!, v.dims[0]!, v.dims[1]!, v.dims[1]!];
    else if (v.t === "list" && v.items.every((i) => i.t === "int")) {
      if (v.items.length === 2) {
        const [h, w] = ints(v.items);
        p = [h!, h!, w!, w!];
      } else if (v.items.length === 4) p = ints(v.items);
      else {
        const p = padLengthProblem(this.ctx.name, name, v.items.length);
        fail("E0303", this.span(name), p.message, p.hint);
      }
    }
    if (!p) typeMismatch(this.ctx.name, name, "pads", v, this.span(name));
    if (p.some((x) => x < 0)) {
      fail(
        "E0305",
        this.span(name),
        `${this.ctx.name}: ${name} must not be negative, not ${show(v)}`,
        negativePadHint,
      );
    }
    return [p[0]!, p[1]!, p[2]!, p[3]!];
  }

  /** `stride = 2` or `[2, 1]`; falls back to the stride carried by the kernel literal. */
  pair(name: string, fallback: number): [number, number] {
    const v = this.value(name);
    if (v === undefined) return [fallback, fallback];
    if (v.t === "int" && v.v >= 1) return [v.v, v.v];
    if (
      v.t === "size" &&
      v.dims.length === 2 &&
      v.stride === undefined &&
      v.dims.every((d) => d >= 1)
    ) {
      return [v.dims[0]!, v.dims[1]!];
    }
    if (v.t === "list" && v.items.length === 2 && v.items.every((i) => i.t === "int" && i.v >= 1)) {
      return [(v.items[0] as { v: number }).v, (v.items[1] as { v: number }).v];
    }
    fail(
      "E0303",
      this.span(name),
      `${this.ctx.name}: ${name} must be a positive integer or a pair [h, w], not ${show(v)}`,
    );
  }
}
