// The DSL's tokens. Keywords are reserved words: an identifier can never be
// `state`, `param`, … (see src/ir/names.ts for the full reserved list).
import { createToken, Lexer, type TokenType } from "chevrotain";

// Identifiers are lexed loosely (`$`, leading `_`) so that the checker, not the
// lexer, reports a name that breaks the strict pattern, with a clear message.
export const Identifier = createToken({ name: "Identifier", pattern: /[A-Za-z_$][A-Za-z0-9_$]*/ });
/** `σ` as in the essay; the visitor reads it as `sigmoid`. */
export const Sigma = createToken({ name: "Sigma", pattern: /σ/ });

function keyword(word: string): TokenType {
  return createToken({ name: word[0]!.toUpperCase() + word.slice(1), pattern: new RegExp(word), longer_alt: Identifier });
}
export const Cell = keyword("cell");
export const Size = keyword("size");
export const Input = keyword("input");
/** `static input a[L, A]`: fixed for the whole sequence, one per batch row. */
export const Static = keyword("static");
export const State = keyword("state");
export const Param = keyword("param");
export const Output = keyword("output");
/** `const M[i: H, j: H] = …`: a value fixed by a formula over its indices, not trained. */
export const Const = keyword("const");

export const NumberLiteral = createToken({
  name: "NumberLiteral",
  pattern: /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/,
});

export const Prime = createToken({ name: "Prime", pattern: /['′]/ });
/** Comparisons give 1 where they hold and 0 elsewhere; two-character forms come first so `<=` is not `<` then `=`. */
export const LessEqual = createToken({ name: "LessEqual", pattern: /<=|≤/ });
export const GreaterEqual = createToken({ name: "GreaterEqual", pattern: />=|≥/ });
export const EqualEqual = createToken({ name: "EqualEqual", pattern: /==/ });
export const NotEqual = createToken({ name: "NotEqual", pattern: /!=|≠/ });
export const Less = createToken({ name: "Less", pattern: /</ });
export const Greater = createToken({ name: "Greater", pattern: />/ });
export const Equals = createToken({ name: "Equals", pattern: /=/ });
export const Tilde = createToken({ name: "Tilde", pattern: /~/ });
export const Plus = createToken({ name: "Plus", pattern: /\+/ });
export const Minus = createToken({ name: "Minus", pattern: /[-−]/ });
/** Elementwise product: `*`, or the essay's `⊙` / `∗`. */
export const Star = createToken({ name: "Star", pattern: /[*⊙∗]/ });
export const Slash = createToken({ name: "Slash", pattern: /\// });
/** Matrix-vector product: `@`, or the essay's `·`. */
export const At = createToken({ name: "At", pattern: /[@·]/ });
/** Power, as in `2 ^ m`. */
export const Caret = createToken({ name: "Caret", pattern: /\^/ });
/** Between the two bounds of a slice `v[H : 2*H]`, and after an index name in `const M[i: H]`. */
export const Colon = createToken({ name: "Colon", pattern: /:/ });
export const LParen = createToken({ name: "LParen", pattern: /\(/ });
export const RParen = createToken({ name: "RParen", pattern: /\)/ });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/ });
export const RBracket = createToken({ name: "RBracket", pattern: /\]/ });
export const LCurly = createToken({ name: "LCurly", pattern: /\{/ });
export const RCurly = createToken({ name: "RCurly", pattern: /\}/ });
export const Comma = createToken({ name: "Comma", pattern: /,/ });
export const Semicolon = createToken({ name: "Semicolon", pattern: /;/ });

/** `# …` or `// …` to the end of the line; kept in a group so doc comments can be read. */
export const Comment = createToken({ name: "Comment", pattern: /(?:#|\/\/)[^\n\r\u2028\u2029]*/, group: "comments" });
export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /\s+/, group: Lexer.SKIPPED });

export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  Cell,
  Size,
  Input,
  Static,
  State,
  Param,
  Output,
  Const,
  Identifier,
  Sigma,
  NumberLiteral,
  Prime,
  LessEqual,
  GreaterEqual,
  EqualEqual,
  NotEqual,
  Less,
  Greater,
  Equals,
  Tilde,
  Plus,
  Minus,
  Star,
  Slash,
  At,
  Caret,
  Colon,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LCurly,
  RCurly,
  Comma,
  Semicolon,
];

export const KEYWORDS = ["cell", "size", "input", "state", "param", "output", "const", "static"] as const;

/**
 * CR LF, CR, LF, U+2028 and U+2029 each end a line, as in
 * src/diagnostics/diagnostic.ts (LINE_BREAK), so that positions agree with
 * the excerpt printed under a diagnostic.
 */
export const cellLexer = new Lexer(allTokens, {
  positionTracking: "full",
  ensureOptimizations: false,
  lineTerminatorsPattern: /\r\n|\r|\n|\u2028|\u2029/g,
  lineTerminatorCharacters: ["\r", "\n", "\u2028", "\u2029"],
});
