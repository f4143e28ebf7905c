import { createToken, Lexer, type TokenType } from "chevrotain";

// Fixed words and symbols are string patterns, and every pattern that is a regular expression
// names the characters it can start with and whether it can hold a line break: the lexer then
// never parses a regular expression to find out, which was most of its construction on every
// command's start (issue 26.5). test/grammar/tokens.test.ts checks these against the patterns.
const digits = [..."0123456789"];
const numberStarts = [...digits, "."];
const nameStarts = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"];

export const Identifier = createToken({
  name: "Identifier",
  start_chars_hint: nameStarts,
  line_breaks: false,
  pattern: /[A-Za-z_][A-Za-z0-9_]*/,
  label: "a name",
});

/** Every infix operator; the grammar has one rule for them and the AST builder applies precedence. */
export const BinaryOperator = createToken({
  name: "BinaryOperator",
  pattern: Lexer.NA,
  label: "an operator",
});

// Keywords are Identifier look-alikes; longer_alt keeps `inputs` a name, not `in` + `puts`.
function keyword(word: string): TokenType {
  return createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    pattern: word,
    line_breaks: false,
    longer_alt: Identifier,
    label: `'${word}'`,
  });
}

export const Import = keyword("import");
export const Block = keyword("block");
export const Network = keyword("network");
export const Train = keyword("train");
export const Experiment = keyword("experiment");
export const Expect = keyword("expect");
export const Concat = keyword("concat");
export const Add = keyword("add");
export const Mul = keyword("mul");
export const Branch = keyword("branch");
// `residual` is also a natural parameter name (`residual = true`), so it stays an Identifier too.
export const Residual = createToken({
  name: "Residual",
  pattern: "residual",
  longer_alt: Identifier,
  categories: [Identifier],
  label: "'residual'",
});
export const Shortcut = keyword("shortcut");
export const Repeat = keyword("repeat");
export const As = keyword("as");
export const If = keyword("if");
export const Else = keyword("else");
export const Let = keyword("let");
export const True = keyword("true");
export const False = keyword("false");
export const And = createToken({
  name: "And",
  pattern: "and",
  longer_alt: Identifier,
  categories: [BinaryOperator],
  label: "'and'",
});
export const Or = createToken({
  name: "Or",
  pattern: "or",
  longer_alt: Identifier,
  categories: [BinaryOperator],
  label: "'or'",
});
export const Not = keyword("not");

/** Units that turn a number into a quantity, for schedules: `every = 2 epochs`. */
export const Unit = createToken({
  name: "Unit",
  start_chars_hint: ["e", "s"],
  line_breaks: false,
  pattern: /epochs|epoch|samples|steps/,
  longer_alt: Identifier,
  // `epochs 30` in a train config uses the same word as a name.
  categories: [Identifier],
  label: "a unit (epochs, samples or steps)",
});

// `3x3`, `299x299x3` and `3x3/2`: a kernel or shape, with an optional stride.
export const SizeLiteral = createToken({
  name: "SizeLiteral",
  start_chars_hint: digits,
  line_breaks: false,
  pattern: /\d+(?:x\d+)+(?:\/\d+)?/,
  label: "a size such as 3x3 or 3x3/2",
});
/**
 * `5ms`, `250us`, `0.5s`: a time, for latency budgets (`where latency <= 5ms`). The unit is
 * written on the number: a word after a number (`conv 3x3 32 s`) stays an argument.
 */
export const TimeLiteral = createToken({
  name: "TimeLiteral",
  start_chars_hint: numberStarts,
  line_breaks: false,
  pattern: /(?:\d+\.(?!\.)\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?:ms|us|s)(?![A-Za-z0-9_])/,
  label: "a time such as 5ms",
});
export const NumberLiteral = createToken({
  name: "NumberLiteral",
  start_chars_hint: numberStarts,
  line_breaks: false,
  // A k, M or G suffix (thousand, million, billion) for budgets: `macs <= 20M`. `16..64` is a
  // range, not the number `16.`.
  pattern: /(?:\d+\.(?!\.)\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?:[kMG](?![A-Za-z0-9_]))?/,
  label: "a number",
});
export const StringLiteral = createToken({
  name: "StringLiteral",
  start_chars_hint: ['"'],
  line_breaks: false,
  pattern: /"(?:[^"\\\r\n]|\\.)*"/,
  label: "a string",
});

export const Arrow = createToken({ name: "Arrow", pattern: "->", label: "'->'" });
/** `16..64`: the integers from 16 to 64; `16..64 step 16` takes every 16th. */
export const DotDot = createToken({
  name: "DotDot",
  pattern: "..",
  label: "'..'",
  categories: [BinaryOperator],
});
// `step` after a range; elsewhere it stays a name (`step = 2` as a parameter), as `residual` does.
export const Step = createToken({
  name: "Step",
  pattern: "step",
  longer_alt: Identifier,
  categories: [BinaryOperator, Identifier],
  label: "'step'",
});
export const LBrace = createToken({ name: "LBrace", pattern: "{", label: "'{'" });
export const RBrace = createToken({ name: "RBrace", pattern: "}", label: "'}'" });
export const LParen = createToken({ name: "LParen", pattern: "(", label: "'('" });
export const RParen = createToken({ name: "RParen", pattern: ")", label: "')'" });
export const LBracket = createToken({ name: "LBracket", pattern: "[", label: "'['" });
export const RBracket = createToken({ name: "RBracket", pattern: "]", label: "']'" });
export const Comma = createToken({ name: "Comma", pattern: ",", label: "','" });
export const Semicolon = createToken({ name: "Semicolon", pattern: ";", label: "';'" });
export const Question = createToken({ name: "Question", pattern: "?", label: "'?'" });
export const Colon = createToken({ name: "Colon", pattern: ":", label: "':'" });

export const EqEq = createToken({
  name: "EqEq",
  pattern: "==",
  label: "'=='",
  categories: [BinaryOperator],
});
export const NotEq = createToken({
  name: "NotEq",
  pattern: "!=",
  label: "'!='",
  categories: [BinaryOperator],
});
export const LessEq = createToken({
  name: "LessEq",
  pattern: "<=",
  label: "'<='",
  categories: [BinaryOperator],
});
export const GreaterEq = createToken({
  name: "GreaterEq",
  pattern: ">=",
  label: "'>='",
  categories: [BinaryOperator],
});
export const Less = createToken({
  name: "Less",
  pattern: "<",
  label: "'<'",
  categories: [BinaryOperator],
});
export const Greater = createToken({
  name: "Greater",
  pattern: ">",
  label: "'>'",
  categories: [BinaryOperator],
});
export const Equals = createToken({ name: "Equals", pattern: "=", label: "'='" });
export const Plus = createToken({
  name: "Plus",
  pattern: "+",
  label: "'+'",
  categories: [BinaryOperator],
});
export const Minus = createToken({
  name: "Minus",
  pattern: "-",
  label: "'-'",
  categories: [BinaryOperator],
});
export const Star = createToken({
  name: "Star",
  pattern: "*",
  label: "'*'",
  categories: [BinaryOperator],
});
export const SlashSlash = createToken({
  name: "SlashSlash",
  pattern: "//",
  label: "'//'",
  categories: [BinaryOperator],
});
export const Slash = createToken({
  name: "Slash",
  pattern: "/",
  label: "'/'",
  categories: [BinaryOperator],
});
export const Percent = createToken({
  name: "Percent",
  pattern: "%",
  label: "'%'",
  categories: [BinaryOperator],
});

export const Comment = createToken({
  name: "Comment",
  start_chars_hint: ["#"],
  line_breaks: false,
  pattern: /#[^\n\r]*/,
  group: "comments",
});
// Newlines separate statements; the lexer pass in lexer.ts drops the ones that do not.
export const Newline = createToken({
  name: "Newline",
  start_chars_hint: ["\r", "\n"],
  pattern: /\r?\n|\r/,
  line_breaks: true,
  label: "a line break",
});
export const Whitespace = createToken({
  name: "Whitespace",
  start_chars_hint: [" ", "\t", "\f"],
  line_breaks: false,
  pattern: /[ \t\f]+/,
  group: Lexer.SKIPPED,
});

export const allTokens: TokenType[] = [
  BinaryOperator,
  Whitespace,
  Comment,
  Newline,
  Arrow,
  SizeLiteral,
  DotDot,
  TimeLiteral,
  NumberLiteral,
  StringLiteral,
  Import,
  Block,
  Network,
  Train,
  Experiment,
  Expect,
  Concat,
  Add,
  Mul,
  Branch,
  Residual,
  Shortcut,
  Repeat,
  As,
  If,
  Else,
  Let,
  True,
  False,
  And,
  Or,
  Not,
  Unit,
  Step,
  Identifier,
  LBrace,
  RBrace,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
  Semicolon,
  Question,
  Colon,
  EqEq,
  NotEq,
  LessEq,
  GreaterEq,
  Less,
  Greater,
  Equals,
  Plus,
  Minus,
  Star,
  SlashSlash,
  Slash,
  Percent,
];
