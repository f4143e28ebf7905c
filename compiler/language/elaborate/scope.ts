import type { Value } from "./values.js";

/** Lexical scope of values: globals, block parameters, `let`s, repeat indices. */
export class Scope {
  private readonly vars = new Map<string, Value>();
  constructor(
    private readonly parent?: Scope,
    /** The channel count of the tensor flowing in at this point: the value of `in`. */
    readonly inChannels?: () => number | undefined,
  ) {}

  set(name: string, value: Value): void {
    this.vars.set(name, value);
  }

  get(name: string): Value | undefined {
    return this.vars.get(name) ?? this.parent?.get(name);
  }

  names(): string[] {
    return [...this.vars.keys(), ...(this.parent?.names() ?? [])];
  }
}
