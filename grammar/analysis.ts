import {
  Alternation,
  Alternative,
  LLkLookaheadStrategy,
  NonTerminal,
  Option,
  Repetition,
  RepetitionMandatory,
  RepetitionMandatoryWithSeparator,
  RepetitionWithSeparator,
  Rule,
  Terminal,
  VERSION,
  getLookaheadPaths,
  tokenMatcher,
  type IOrAlt,
  type ILookaheadStrategy,
  type ILookaheadValidationError,
  type IToken,
  type LookaheadProductionType,
  type OptionalProductionType,
  type TokenType,
} from "chevrotain";

/**
 * What chevrotain's self-analysis learns about a grammar, as JSON with tokens by name: the
 * grammar itself (recorded by running every rule once), the follow sets that error recovery
 * resynchronises on, and the tokens that choose each alternative and optional part. Computing
 * them was most of the parser's construction, which every command paid on start (issue 26.5);
 * the CLI's bundle carries them, computed at build time from the same sources
 * (scripts/bundle-cli.mjs), and test/grammar/analysis.test.ts holds them to chevrotain's own.
 */
export interface GrammarAnalysis {
  /** The chevrotain version that computed it: another version is not trusted with it. */
  readonly chevrotain: string;
  readonly maxLookahead: number;
  readonly rules: readonly Production[];
  readonly follows: Readonly<Record<string, readonly string[]>>;
  /**
   * By `rule|production type|occurrence`: for each alternative (an optional part has one), the
   * token sequences that choose it.
   */
  readonly lookahead: Readonly<Record<string, readonly (readonly (readonly string[])[])[]>>;
}

/** A grammar node: its class, its own fields, the tokens it names and its children. */
export interface Production {
  readonly kind: Kind;
  readonly fields?: Readonly<Record<string, string | number | boolean>>;
  readonly tokens?: Readonly<Record<string, string>>;
  readonly definition?: readonly Production[];
}

const kinds = {
  Rule,
  NonTerminal,
  Alternative,
  Alternation,
  Option,
  Repetition,
  RepetitionMandatory,
  RepetitionMandatoryWithSeparator,
  RepetitionWithSeparator,
  Terminal,
} as const;
type Kind = keyof typeof kinds;
type Node = InstanceType<(typeof kinds)[Kind]>;

/** Productions whose choice chevrotain decides by lookahead, with the DSL's name for each. */
const decided = new Set<string>([
  "Alternation",
  "Option",
  "Repetition",
  "RepetitionMandatory",
  "RepetitionMandatoryWithSeparator",
  "RepetitionWithSeparator",
]);

// Fields that hold other nodes or tokens, not values: written and read separately.
const tokenFields = new Set(["terminalType", "separator"]);
const skippedFields = new Set(["_definition", "referencedRule"]);

function kindOf(node: object): Kind {
  for (const [name, cls] of Object.entries(kinds))
    if (node.constructor === cls) return name as Kind;
  throw new Error(`grammar analysis: unknown grammar node ${node.constructor.name}`);
}

function writeNode(node: Node): Production {
  const kind = kindOf(node);
  const fields: Record<string, string | number | boolean> = {};
  const tokens: Record<string, string> = {};
  for (const [key, value] of Object.entries(node)) {
    if (skippedFields.has(key) || value === undefined) continue;
    if (tokenFields.has(key)) tokens[key] = (value as TokenType).name;
    else if (["string", "number", "boolean"].includes(typeof value)) fields[key] = value;
    else throw new Error(`grammar analysis: ${kind}.${key} is not a plain value`);
  }
  // A NonTerminal's definition is its rule's: it is linked again by name, not copied.
  const children =
    kind === "NonTerminal" || kind === "Terminal"
      ? []
      : (node as unknown as GastNode).definition!.map((c) => writeNode(c as unknown as Node));
  return {
    kind,
    ...(Object.keys(fields).length ? { fields } : {}),
    ...(Object.keys(tokens).length ? { tokens } : {}),
    ...(children.length ? { definition: children } : {}),
  };
}

function readNode(p: Production, tokens: ReadonlyMap<string, TokenType>): Node {
  const definition = (p.definition ?? []).map((c) => readNode(c, tokens));
  const options: Record<string, unknown> = { ...p.fields };
  for (const [key, name] of Object.entries(p.tokens ?? {})) {
    const token = tokens.get(name);
    if (!token) throw new UnknownToken(name);
    options[key] = token;
  }
  // Every class takes its fields as options; a NonTerminal's definition is its rule's, and a
  // Terminal has none.
  const Cls = kinds[p.kind] as new (o: Record<string, unknown>) => Node;
  if (!Cls) throw new Error(`grammar analysis: unknown grammar node ${p.kind}`);
  const leaf = p.kind === "NonTerminal" || p.kind === "Terminal";
  return new Cls(leaf ? options : { ...options, definition });
}

class UnknownToken extends Error {}

function lookaheadKey(rule: string, type: string, occurrence: number): string {
  return `${rule}|${type}|${occurrence}`;
}

/** A grammar node as this module walks it. */
interface GastNode {
  readonly definition?: readonly GastNode[];
  readonly idx?: number;
  readonly maxLookahead?: number;
}

/** Every production chevrotain decides by lookahead, as it finds them (not into subrules). */
function decidedProductions(node: GastNode, found: GastNode[] = []): GastNode[] {
  for (const child of node.definition ?? []) {
    if (child instanceof NonTerminal || child instanceof Terminal) continue;
    if (decided.has(kindOf(child))) found.push(child);
    decidedProductions(child, found);
  }
  return found;
}

/**
 * The analysis of a parser that chevrotain analysed itself (`performSelfAnalysis` without
 * tables): its grammar, follow sets and lookahead, by token names.
 */
export function analyseGrammar(
  parser: { getGAstProductions(): Record<string, Rule> },
  maxLookahead: number,
): GrammarAnalysis {
  const rules = Object.values(parser.getGAstProductions());
  const follows: Record<string, string[]> = {};
  const resync = (parser as unknown as { resyncFollows?: Record<string, TokenType[]> })
    .resyncFollows;
  for (const [key, types] of Object.entries(resync ?? {})) follows[key] = types.map((t) => t.name);
  const lookahead: Record<string, string[][][]> = {};
  for (const rule of rules) {
    for (const prod of decidedProductions(rule as unknown as GastNode)) {
      const type = kindOf(prod) as LookaheadProductionType;
      const { idx = 1, maxLookahead: own } = prod;
      const paths = getLookaheadPaths({
        occurrence: idx,
        rule,
        prodType: type,
        maxLookahead: own || maxLookahead,
      });
      // An optional part is decided by the paths into it (the second entry: the paths after it).
      const alternatives = type === "Alternation" ? paths : paths.slice(0, 1);
      lookahead[lookaheadKey(rule.name, type, idx)] = alternatives.map((alt) =>
        alt.map((path) => path.map((t) => t.name)),
      );
    }
  }
  return {
    chevrotain: VERSION,
    maxLookahead,
    rules: rules.map((r) => writeNode(r)),
    follows,
    lookahead,
  };
}

/** An analysis read back against this parser's tokens. */
export interface KnownGrammar {
  readonly rules: ReadonlyMap<string, Rule>;
  readonly follows: Record<string, TokenType[]>;
  readonly lookahead: TableLookahead;
}

/**
 * The analysis with its token names resolved, or undefined where it cannot be this grammar's:
 * computed by another chevrotain or for another lookahead depth, or naming a token the parser
 * does not have. The parser then analyses itself, as it would without one.
 */
export function readAnalysis(
  analysis: GrammarAnalysis | undefined,
  tokenTypes: readonly TokenType[],
  maxLookahead: number,
): KnownGrammar | undefined {
  if (!analysis || analysis.chevrotain !== VERSION || analysis.maxLookahead !== maxLookahead)
    return undefined;
  const tokens = new Map(tokenTypes.map((t) => [t.name, t]));
  const byName = (name: string) => {
    const t = tokens.get(name);
    if (!t) throw new UnknownToken(name);
    return t;
  };
  try {
    const rules = new Map<string, Rule>();
    for (const r of analysis.rules) {
      const rule = readNode(r, tokens) as Rule;
      rules.set(rule.name, rule);
    }
    const follows: Record<string, TokenType[]> = {};
    for (const [key, names] of Object.entries(analysis.follows)) follows[key] = names.map(byName);
    const lookahead = new Map<string, TokenType[][][]>();
    for (const [key, alts] of Object.entries(analysis.lookahead))
      lookahead.set(
        key,
        alts.map((alt) => alt.map((path) => path.map(byName))),
      );
    return { rules, follows, lookahead: new TableLookahead(lookahead, maxLookahead) };
  } catch (e) {
    if (e instanceof UnknownToken) return undefined;
    throw e;
  }
}

/** The parser as a lookahead function sees it: `this` when chevrotain calls one. */
interface Reading {
  LA(howMuch: number): IToken;
}

/**
 * chevrotain's LL(k) lookahead with the paths read from the analysis instead of computed from
 * the grammar. The functions it builds are chevrotain's own (parse/grammar/lookahead.js:
 * buildAlternativesLookAheadFunc, buildSingleAlternativeLookaheadFunction), so a parse chooses
 * exactly as it would. A production the table lacks is computed as chevrotain would.
 */
export class TableLookahead implements ILookaheadStrategy {
  private readonly llk: ILookaheadStrategy;
  private table: ReadonlyMap<string, TokenType[][][]>;

  constructor(table: ReadonlyMap<string, TokenType[][][]>, maxLookahead: number) {
    this.table = table;
    this.llk = new LLkLookaheadStrategy({ maxLookahead });
  }

  /** For a parser that recorded its grammar after all: the table may not be that grammar's. */
  forget(): void {
    this.table = new Map();
  }

  validate(options: {
    rules: Rule[];
    tokenTypes: TokenType[];
    grammarName: string;
  }): ILookaheadValidationError[] {
    return this.llk.validate(options);
  }

  buildLookaheadForAlternation(options: {
    prodOccurrence: number;
    rule: Rule;
    maxLookahead: number;
    hasPredicates: boolean;
    dynamicTokensEnabled: boolean;
  }): (orAlts?: IOrAlt<unknown>[]) => number | undefined {
    const alts = this.table.get(
      lookaheadKey(options.rule.name, "Alternation", options.prodOccurrence),
    );
    if (!alts) return this.llk.buildLookaheadForAlternation(options);
    return chooseAlternative(alts, options.hasPredicates, options.dynamicTokensEnabled);
  }

  buildLookaheadForOptional(options: {
    prodOccurrence: number;
    prodType: OptionalProductionType;
    rule: Rule;
    maxLookahead: number;
    dynamicTokensEnabled: boolean;
  }): () => boolean {
    const alts = this.table.get(
      lookaheadKey(options.rule.name, options.prodType, options.prodOccurrence),
    );
    if (!alts) return this.llk.buildLookaheadForOptional(options);
    return enterOptional(alts[0] ?? [], options.dynamicTokensEnabled);
  }
}

function matches(reader: Reading, path: readonly TokenType[]): boolean {
  for (let i = 0; i < path.length; i++) if (!tokenMatcher(reader.LA(i + 1), path[i]!)) return false;
  return true;
}

/** The index of the token type and of every type it is a category of, to `value`. */
function byTypeIndex<V>(types: readonly TokenType[], value: V, into: Record<number, V>): void {
  for (const t of types) {
    if (t.tokenTypeIdx !== undefined && !(t.tokenTypeIdx in into)) into[t.tokenTypeIdx] = value;
    for (const c of (t as { categoryMatches?: number[] }).categoryMatches ?? [])
      if (!(c in into)) into[c] = value;
  }
}

function chooseAlternative(
  alts: readonly TokenType[][][],
  hasPredicates: boolean,
  dynamicTokens: boolean,
): (this: Reading, orAlts?: IOrAlt<unknown>[]) => number | undefined {
  if (hasPredicates)
    return function (orAlts) {
      for (let t = 0; t < alts.length; t++) {
        const gate = orAlts?.[t]?.GATE;
        if (gate !== undefined && gate.call(this) === false) continue;
        if (alts[t]!.some((path) => matches(this, path))) return t;
      }
      return undefined;
    };
  if (!dynamicTokens && alts.every((alt) => alt.every((path) => path.length === 1))) {
    // The common case: one token decides, looked up by its type's index.
    const choice: Record<number, number> = {};
    alts.forEach((alt, t) => byTypeIndex(alt.flat(), t, choice));
    return function () {
      return choice[this.LA(1).tokenTypeIdx];
    };
  }
  return function () {
    for (let t = 0; t < alts.length; t++)
      if (alts[t]!.some((path) => matches(this, path))) return t;
    return undefined;
  };
}

function enterOptional(
  paths: readonly TokenType[][],
  dynamicTokens: boolean,
): (this: Reading) => boolean {
  if (!dynamicTokens && paths.every((path) => path.length === 1)) {
    const enters: Record<number, boolean> = {};
    byTypeIndex(paths.flat(), true, enters);
    return function () {
      return enters[this.LA(1).tokenTypeIdx] === true;
    };
  }
  return function () {
    return paths.some((path) => matches(this, path));
  };
}
