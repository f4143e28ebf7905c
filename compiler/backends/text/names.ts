/**
 * The one naming rule every code emitter follows (documented in ../README.md): a spec name is
 * kept when it is a valid identifier of the target and not reserved there; otherwise its valid
 * form gets `_` appended until it is neither reserved nor another name of the same scope. Names
 * that are kept are claimed first, so a mapped name never takes one the spec wrote.
 */
export interface NameRule {
  /** The name as a valid identifier (unchanged when it is one already). */
  readonly valid: (name: string) => string;
  readonly reserved: (id: string) => boolean;
}

/**
 * The identifier of each of `names`, in order, unique under `rule`: they avoid and then extend
 * `taken`. A name given twice gets two identifiers (the first keeps it). The same names in the
 * same order always map the same way.
 */
export function assignNames(
  names: readonly string[],
  rule: NameRule,
  taken: Set<string> = new Set(),
): string[] {
  const out: (string | undefined)[] = names.map((n) => {
    if (rule.valid(n) !== n || rule.reserved(n) || taken.has(n)) return undefined;
    taken.add(n);
    return n;
  });
  return names.map((n, i) => {
    if (out[i] !== undefined) return out[i]!;
    let id = rule.valid(n);
    while (rule.reserved(id) || taken.has(id)) id = `${id}_`;
    taken.add(id);
    return id;
  });
}

/** `assignNames` for a scope's distinct names, as a map from each name to its identifier. */
export function assignNameMap(
  names: Iterable<string>,
  rule: NameRule,
  taken: Set<string> = new Set(),
): Map<string, string> {
  const distinct = [...new Set(names)];
  const ids = assignNames(distinct, rule, taken);
  return new Map(distinct.map((n, i) => [n, ids[i]!]));
}
