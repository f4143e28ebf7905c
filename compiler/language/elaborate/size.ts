import { defaultsWord } from "./defaults.js";
import type { BlockDecl, Body, Element, Expr } from "../../../grammar/ast.js";

// Block calls nest at most this deep in the elaborator too; beyond it nothing is claimed.
const maxDepth = 64;

/**
 * A lower bound on the layers a body makes, known without expanding it, so that the elaborator
 * can refuse a repeat or a block call whose result is over the layer limit before making any of
 * it: a block that calls another twice, 40 levels deep, would make 2^40 layers. Only what holds
 * for every argument counts: an `if` adds its smaller side, a repeat whose count is not a literal
 * adds nothing, and so do layers that can be the identity (`act`, `linear`).
 */
export class SizeBound {
  private readonly blocks = new Map<string, number>();
  private readonly bodies = new WeakMap<Body, number>();
  private readonly active = new Set<string>();

  constructor(private readonly decls: { readonly blocks: ReadonlyMap<string, BlockDecl> }) {}

  block(decl: BlockDecl, depth = 0): number {
    const name = decl.name.name;
    const known = this.blocks.get(name);
    if (known !== undefined) return known;
    // A cycle is reported by the recursion check; a chain deeper than the elaborator allows fails there.
    if (this.active.has(name) || depth > maxDepth) return 0;
    this.active.add(name);
    const n = this.body(decl.body, depth);
    this.active.delete(name);
    this.blocks.set(name, n);
    return n;
  }

  body(body: Body, depth = 0): number {
    const known = this.bodies.get(body);
    if (known !== undefined) return known;
    let n = 0;
    for (const stmt of body.stmts) {
      if (stmt.kind === "Chain") for (const el of stmt.elements) n += this.element(el, depth);
    }
    this.bodies.set(body, n);
    return n;
  }

  private element(el: Element, depth: number): number {
    switch (el.kind) {
      case "Layer": {
        const block = this.decls.blocks.get(el.callee.name);
        if (block) return this.block(block, depth + 1);
        // `act(none)`/`linear` may make no layer, and a `defaults` statement never does.
        return ["act", "linear", defaultsWord].includes(el.callee.name) ? 0 : 1;
      }
      case "Branches": {
        const inner = el.branches.reduce((s, b) => s + this.body(b, depth), 0);
        return inner + (el.branches.length > 1 ? 1 : 0);
      }
      case "Residual":
        // `enabled = false` drops the shortcut and the add.
        return this.body(el.body, depth);
      case "Repeat":
        return literalCount(el.count) * this.body(el.body, depth);
      case "If":
        return Math.min(
          this.body(el.then, depth),
          el.otherwise ? this.body(el.otherwise, depth) : 0,
        );
    }
  }
}

function literalCount(e: Expr): number {
  return e.kind === "Number" && e.isInteger && e.value > 0 ? e.value : 0;
}
