import {
  CstParser,
  EOF,
  type CstNode,
  type IParserErrorMessageProvider,
  type IToken,
  type Rule,
  type TokenType,
} from "chevrotain";
import * as T from "./tokens.js";
import {
  analyseGrammar,
  readAnalysis,
  type GrammarAnalysis,
  type KnownGrammar,
} from "./analysis.js";

// The CLI's bundle carries the grammar's analysis, computed when it was built from these same
// sources (scripts/bundle-cli.mjs); run from elsewhere (tsc's output, the tests), there is none.
declare const __ARCHC_GRAMMAR_ANALYSIS__: GrammarAnalysis | undefined;
const builtAnalysis =
  typeof __ARCHC_GRAMMAR_ANALYSIS__ === "undefined" ? undefined : __ARCHC_GRAMMAR_ANALYSIS__;

/** The grammar is LL(1) but for two gated or ignored choices; see the constructor. */
const maxLookahead = 1;

/** chevrotain's recorder and follow sets, which a parser reading its analysis replaces. */
interface SelfAnalysis {
  recoveryEnabled: boolean;
  resyncFollows: Record<string, TokenType[]>;
  definedRulesNames: string[];
  topLevelRuleRecord(name: string, def: () => void): Rule;
  enableRecording(): void;
  disableRecording(): void;
}
const chevrotains = CstParser.prototype as unknown as SelfAnalysis;

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual }) {
    return `expected ${label(expected)} but found ${describe(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describe(firstRedundant)}: a file holds only imports and declarations (block, network, train, experiment, expect)`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const firsts = new Set<string>();
    for (const alt of expectedPathsPerAlt)
      for (const path of alt) if (path[0]) firsts.add(label(path[0]));
    const want = [...firsts].slice(0, 6).join(", ");
    return `unexpected ${describe(actual[0])} in ${ruleWords[ruleName] ?? ruleName}${want ? `; expected ${want}` : ""}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const want = expectedIterationPaths.map((p) => (p[0] ? label(p[0]) : "")).filter(Boolean);
    return `unexpected ${describe(actual[0])} in ${ruleWords[ruleName] ?? ruleName}; expected ${[...new Set(want)].join(", ")}`;
  },
};

const ruleWords: Record<string, string> = {
  program: "a file",
  declaration: "a file",
  statement: "a chain",
  operand: "an expression",
};

function label(t: TokenType): string {
  if (t === EOF) return "end of file";
  return typeof t.LABEL === "string" ? t.LABEL : t.name;
}

function describe(tok: IToken | undefined): string {
  if (!tok || tok.tokenType === EOF) return "end of file";
  if (tok.tokenType === T.Newline) return "a line break";
  return `'${tok.image}'`;
}

/** The `.arch` grammar. Each rule's comment is the production it implements. */
export class ArchParser extends CstParser {
  /** The analysis this parser reads instead of analysing its grammar; see grammar/analysis.ts. */
  private known: KnownGrammar | undefined;

  /**
   * `skipValidations`: see createLexer; the grammar test builds a parser with them on, which
   * analyses the grammar itself, as does one given `analysis = null`.
   */
  constructor(skipValidations = true, analysis: GrammarAnalysis | null = builtAnalysis ?? null) {
    const known = skipValidations
      ? readAnalysis(analysis ?? undefined, T.allTokens, maxLookahead)
      : undefined;
    super(T.allTokens, {
      skipValidations,
      recoveryEnabled: true,
      // The grammar is LL(1) but for two gated or ignored choices (arg's LA(2) gate, element's
      // residual/layer); computing deeper lookahead tables at start-up was most of the
      // self-analysis, which every command pays (issue 26). validations.test.ts proves k = 1.
      maxLookahead,
      nodeLocationTracking: "onlyOffset",
      errorMessageProvider: messages,
      ...(known ? { lookaheadStrategy: known.lookahead } : {}),
    });
    this.known = known;
    this.performSelfAnalysis();
  }

  /**
   * chevrotain's own analysis, with the recorded grammar, the follow sets and the lookahead
   * answered from the analysis where there is one for these rules.
   */
  protected override performSelfAnalysis(): void {
    const self = this as unknown as SelfAnalysis;
    const known = this.known;
    if (known && !sameNames(self.definedRulesNames, known.rules)) {
      known.lookahead.forget();
      this.known = undefined;
    }
    if (!this.known) return super.performSelfAnalysis();
    // chevrotain computes the follow sets only where recovery is on; the analysis holds them.
    self.recoveryEnabled = false;
    try {
      super.performSelfAnalysis();
    } finally {
      self.recoveryEnabled = true;
    }
    self.resyncFollows = known!.follows;
  }

  // chevrotain learns the grammar by running every rule once in a recording mode, which it
  // turns on by adding a hundred methods to the parser and off by deleting them.
  protected topLevelRuleRecord(name: string, def: () => void): Rule {
    return this.known?.rules.get(name) ?? chevrotains.topLevelRuleRecord.call(this, name, def);
  }

  protected enableRecording(): void {
    if (!this.known) chevrotains.enableRecording.call(this);
  }

  protected disableRecording(): void {
    if (!this.known) chevrotains.disableRecording.call(this);
  }

  /** program := ( import | declaration | NL | ';' )* */
  program = this.RULE("program", () => {
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Newline) },
        { ALT: () => this.CONSUME(T.Semicolon) },
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.declaration) },
      ]),
    );
  });

  /** import := 'import' STRING */
  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.StringLiteral);
  });

  /** declaration := blockDecl | networkDecl | trainDecl | experimentDecl | expectDecl */
  declaration = this.RULE("declaration", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.blockDecl) },
      { ALT: () => this.SUBRULE(this.networkDecl) },
      { ALT: () => this.SUBRULE(this.trainDecl) },
      { ALT: () => this.SUBRULE(this.experimentDecl) },
      { ALT: () => this.SUBRULE(this.expectDecl) },
    ]);
  });

  /** blockDecl := 'block' NAME params body */
  blockDecl = this.RULE("blockDecl", () => {
    this.CONSUME(T.Block);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.params);
    this.SUBRULE(this.body);
  });

  /** networkDecl := 'network' NAME params? body */
  networkDecl = this.RULE("networkDecl", () => {
    this.CONSUME(T.Network);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.params));
    this.SUBRULE(this.body);
  });

  /** params := '(' ( param ( ',' param )* )? ')' */
  params = this.RULE("params", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.param) });
    this.CONSUME(T.RParen);
  });

  /** param := NAME ( '=' expression )? */
  param = this.RULE("param", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expression);
    });
  });

  /** trainDecl := 'train' NAME '{' ( entry | NL | ';' )* '}' */
  trainDecl = this.RULE("trainDecl", () => {
    this.CONSUME(T.Train);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.entries);
  });

  /** experimentDecl := 'experiment' NAME '{' ( entry | NL | ';' )* '}' */
  experimentDecl = this.RULE("experimentDecl", () => {
    this.CONSUME(T.Experiment);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.entries);
  });

  /** expectDecl := 'expect' NAME ( '(' args ')' )? '{' ( entry | NL | ';' )* '}' */
  expectDecl = this.RULE("expectDecl", () => {
    this.CONSUME(T.Expect);
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => this.SUBRULE(this.argList));
      this.CONSUME(T.RParen);
    });
    this.SUBRULE(this.entries);
  });

  entries = this.RULE("entries", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Newline) },
        { ALT: () => this.CONSUME(T.Semicolon) },
        { ALT: () => this.SUBRULE(this.entry) },
      ]),
    );
    this.CONSUME(T.RBrace);
  });

  /** entry := NAME ( arg ( ',' arg )* )? */
  entry = this.RULE("entry", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.argList));
  });

  /** body := '{' ( statement | NL | ';' )* '}' */
  body = this.RULE("body", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Newline) },
        { ALT: () => this.CONSUME(T.Semicolon) },
        { ALT: () => this.SUBRULE(this.statement) },
      ]),
    );
    this.CONSUME(T.RBrace);
  });

  /** statement := 'let' NAME '=' expression | element ( '->' element )* */
  statement = this.RULE("statement", () => {
    this.OR([
      {
        ALT: () => {
          this.CONSUME(T.Let);
          this.CONSUME(T.Identifier);
          this.CONSUME(T.Equals);
          this.SUBRULE(this.expression);
        },
      },
      {
        // element := residual | layer | branches | repeat | if — inlined: one rule call less per layer.
        // `residual` is also an Identifier; in element position it always opens a residual.
        ALT: () =>
          this.AT_LEAST_ONE_SEP({
            SEP: T.Arrow,
            DEF: () =>
              this.OR2({
                IGNORE_AMBIGUITIES: true,
                DEF: [
                  { ALT: () => this.SUBRULE(this.residual) },
                  { ALT: () => this.SUBRULE(this.layer) },
                  { ALT: () => this.SUBRULE(this.branches) },
                  { ALT: () => this.SUBRULE(this.repeat) },
                  { ALT: () => this.SUBRULE(this.ifStmt) },
                ],
              }),
          }),
      },
    ]);
  });

  /** layer := NAME ( '(' args? ')' )? arg* — `conv 3x3/2 32 valid` or `entry(128, first = true)` */
  layer = this.RULE("layer", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => this.SUBRULE(this.argList));
      this.CONSUME(T.RParen);
    });
    this.MANY(() => this.SUBRULE(this.arg));
    // Not valid, but parsed whole so that `multiply { branch ... }` is one error, not a cascade.
    this.OPTION3(() => this.SUBRULE(this.strayBody));
  });

  /** strayBody := '{' ( 'branch' body | statement | NL | ';' )* '}' — a body after a layer */
  strayBody = this.RULE("strayBody", () => {
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR([
        { ALT: () => this.CONSUME(T.Newline) },
        { ALT: () => this.CONSUME(T.Semicolon) },
        {
          ALT: () => {
            this.CONSUME(T.Branch);
            this.SUBRULE(this.body);
          },
        },
        { ALT: () => this.SUBRULE(this.statement) },
      ]),
    );
    this.CONSUME(T.RBrace);
  });

  /** branches := ( 'concat' | 'add' | 'mul' ) '{' ( 'branch' body | NL | ';' )* '}' */
  branches = this.RULE("branches", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.Concat) },
      { ALT: () => this.CONSUME(T.Add) },
      { ALT: () => this.CONSUME(T.Mul) },
    ]);
    this.CONSUME(T.LBrace);
    this.MANY(() =>
      this.OR2([
        { ALT: () => this.CONSUME(T.Newline) },
        { ALT: () => this.CONSUME(T.Semicolon) },
        {
          ALT: () => {
            this.CONSUME(T.Branch);
            this.SUBRULE(this.body);
          },
        },
      ]),
    );
    this.CONSUME(T.RBrace);
  });

  /** residual := 'residual' ( '(' args? ')' )? arg* body ( 'shortcut' body )? */
  residual = this.RULE("residual", () => {
    this.CONSUME(T.Residual);
    this.OPTION(() => {
      this.CONSUME(T.LParen);
      this.OPTION2(() => this.SUBRULE(this.argList));
      this.CONSUME(T.RParen);
    });
    this.MANY(() => this.SUBRULE(this.arg));
    this.SUBRULE(this.body);
    this.OPTION3(() => {
      this.CONSUME(T.Shortcut);
      this.SUBRULE2(this.body);
    });
  });

  /** repeat := 'repeat' expression ( 'as' NAME )? body */
  repeat = this.RULE("repeat", () => {
    this.CONSUME(T.Repeat);
    this.SUBRULE(this.expression);
    this.OPTION(() => {
      this.CONSUME(T.As);
      this.CONSUME(T.Identifier);
    });
    this.SUBRULE(this.body);
  });

  /** if := 'if' expression body ( 'else' ( if | body ) )? */
  ifStmt = this.RULE("ifStmt", () => {
    this.CONSUME(T.If);
    this.SUBRULE(this.expression);
    this.SUBRULE(this.body);
    this.OPTION(() => {
      this.CONSUME(T.Else);
      this.OR([{ ALT: () => this.SUBRULE2(this.ifStmt) }, { ALT: () => this.SUBRULE2(this.body) }]);
    });
  });

  /** args := arg ( ',' arg )* */
  argList = this.RULE("argList", () => {
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.arg) });
  });

  /** arg := ( NAME '=' )? expression */
  arg = this.RULE("arg", () => {
    this.OPTION({
      GATE: () => this.LA(2).tokenType === T.Equals,
      DEF: () => {
        this.CONSUME(T.Identifier);
        this.CONSUME(T.Equals);
      },
    });
    this.SUBRULE(this.expression);
  });

  /**
   * expression := operand ( OPERATOR operand )* ( '?' expression ':' expression )? — one flat
   * rule for all infix operators (or, and, comparisons, + -, * / // %); the AST builder applies
   * precedence. Flat keeps parsing fast: a plain value costs two rule calls, not nine.
   */
  expression = this.RULE("expression", () => {
    this.SUBRULE(this.operand);
    this.MANY(() => {
      this.CONSUME(T.BinaryOperator);
      this.SUBRULE2(this.operand);
    });
    this.OPTION(() => {
      this.CONSUME(T.Question);
      this.SUBRULE(this.expression);
      this.CONSUME(T.Colon);
      this.SUBRULE2(this.expression);
    });
  });

  /** operand := ( '-' | 'not' )* atomic; atomic := NUMBER UNIT? | TIME | SIZE | STRING | 'true' | 'false' | NAME ( '(' args? ')' )? | '(' expression ')' | '[' ( expression ( ',' expression )* )? ']' */
  operand = this.RULE("operand", () => {
    this.MANY(() =>
      this.OR([{ ALT: () => this.CONSUME(T.Minus) }, { ALT: () => this.CONSUME(T.Not) }]),
    );
    this.OR2([
      {
        ALT: () => {
          this.CONSUME(T.NumberLiteral);
          this.OPTION(() => this.CONSUME(T.Unit));
        },
      },
      { ALT: () => this.CONSUME(T.TimeLiteral) },
      { ALT: () => this.CONSUME(T.SizeLiteral) },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.True) },
      { ALT: () => this.CONSUME(T.False) },
      {
        ALT: () => {
          this.CONSUME(T.Identifier);
          this.OPTION2(() => {
            this.CONSUME(T.LParen);
            this.OPTION3(() => this.SUBRULE(this.argList));
            this.CONSUME(T.RParen);
          });
        },
      },
      {
        ALT: () => {
          this.CONSUME2(T.LParen);
          this.SUBRULE4(this.expression);
          this.CONSUME2(T.RParen);
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LBracket);
          this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE3(this.expression) });
          this.CONSUME(T.RBracket);
        },
      },
    ]);
  });
}

function sameNames(names: readonly string[], rules: ReadonlyMap<string, Rule>): boolean {
  return names.length === rules.size && names.every((n) => rules.has(n));
}

/** The grammar's analysis by chevrotain itself, for the CLI's bundle to carry. */
export function analyseArchGrammar(): GrammarAnalysis {
  return analyseGrammar(new ArchParser(true, null), maxLookahead);
}

/** Built once: chevrotain's self-analysis is the expensive part. */
export const parser = new ArchParser();

export type { CstNode };
