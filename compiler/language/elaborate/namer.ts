/**
 * Stable layer names: `conv`, `conv_1`, ... within each block instance, and block instances named
 * the same way, joined by `/` — so a name says where in the spec a layer came from.
 */
export class Namer {
  private readonly counts = new Map<string, number>();
  constructor(
    readonly prefix: string,
    private readonly taken: Set<string>,
  ) {}

  fresh(base: string): string {
    for (;;) {
      const n = this.counts.get(base) ?? 0;
      this.counts.set(base, n + 1);
      const local = n === 0 ? base : `${base}_${n}`;
      const full = this.full(local);
      if (!this.taken.has(full)) {
        this.taken.add(full);
        return full;
      }
    }
  }

  /** A name the user chose; undefined when it is taken already. */
  claim(local: string): string | undefined {
    const full = this.full(local);
    if (this.taken.has(full)) return undefined;
    this.taken.add(full);
    return full;
  }

  nested(instance: string): Namer {
    return new Namer(instance, this.taken);
  }

  private full(local: string): string {
    return this.prefix ? `${this.prefix}/${local}` : local;
  }
}

/**
 * Why a name chosen with `name="..."` cannot name a layer, or undefined when it can. A layer
 * name is a path segment (`/` joins block instances), an identifier in generated code and the
 * start of tfjs' weight names, which must begin with a letter or digit: so a letter, then
 * letters, digits and `_`. Shared with generated TypeScript's runtime.
 */
export function layerNameProblem(name: string): { message: string; hint: string } | undefined {
  if (/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) return undefined;
  return {
    message: `layer name ${JSON.stringify(name)} is not a name`,
    hint: "a layer name is a letter, then letters, digits and _",
  };
}
