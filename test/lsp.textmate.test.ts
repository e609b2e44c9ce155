// The TextMate grammar (editors/lstm.tmLanguage.json) against the compiler:
// its keyword and function lists are the lexer's, and, tokenized the way a
// TextMate engine does (at each position the pattern whose match starts
// first wins), every character of every library spec gets a scope.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { KEYWORDS } from "../grammar/tokens.ts";
import { KNOWN_FUNCTIONS } from "../src/ir/functions.ts";

const ROOT = join(import.meta.dirname, "..");

interface Rule {
  readonly name?: string;
  readonly match?: string;
  readonly include?: string;
  readonly patterns?: readonly Rule[];
  readonly captures?: Readonly<Record<string, { readonly name: string }>>;
}

const GRAMMAR = JSON.parse(readFileSync(join(ROOT, "editors", "lstm.tmLanguage.json"), "utf8")) as { scopeName: string; patterns: Rule[]; repository: Record<string, Rule> };

/** The grammar's match rules in priority order, includes resolved. */
function flatten(rules: readonly Rule[]): Rule[] {
  return rules.flatMap((r) => (r.include ? flatten([GRAMMAR.repository[r.include.slice(1)]!]) : r.patterns ? flatten(r.patterns) : [r]));
}

interface Token {
  readonly text: string;
  readonly scope: string;
}

/** One line's tokens; text no rule matches gets the scope "none". */
function tokenize(line: string): Token[] {
  const rules = flatten(GRAMMAR.patterns).map((r) => ({ rule: r, regex: new RegExp(r.match!, "g") }));
  const tokens: Token[] = [];
  let position = 0;
  while (position < line.length) {
    let best: { rule: Rule; match: RegExpExecArray } | null = null;
    for (const { rule, regex } of rules) {
      regex.lastIndex = position;
      const match = regex.exec(line);
      if (match && match[0].length > 0 && (!best || match.index < best.match.index)) best = { rule, match };
    }
    const end = best ? best.match.index : line.length;
    if (end > position) tokens.push({ text: line.slice(position, end), scope: "none" });
    if (!best) break;
    tokens.push(...scopesOf(best.rule, best.match));
    position = best.match.index + best.match[0].length;
  }
  return tokens.filter((t) => t.text.trim() !== "");
}

function scopesOf(rule: Rule, match: RegExpExecArray): Token[] {
  if (!rule.captures) return [{ text: match[0], scope: rule.name! }];
  return Object.entries(rule.captures).map(([group, capture]) => ({ text: match[Number(group)]!, scope: capture.name }));
}

function scopeOf(line: string, text: string): string | undefined {
  return tokenize(line).find((t) => t.text === text)?.scope;
}

describe("the TextMate grammar for .lstm", () => {
  it("names the lexer's keywords and every function", () => {
    expect(GRAMMAR.scopeName).toBe("source.lstm");
    expect(GRAMMAR.repository.keyword!.match).toBe(`\\b(?:${KEYWORDS.join("|")})\\b`);
    expect(GRAMMAR.repository.function!.match).toBe(`σ|\\b(?:${KNOWN_FUNCTIONS.join("|")})\\b`);
  });

  it("gives every character of every library spec a scope", () => {
    for (const file of readdirSync(join(ROOT, "specs"))) {
      for (const line of readFileSync(join(ROOT, "specs", file), "utf8").split("\n")) {
        expect(tokenize(line).filter((t) => t.scope === "none"), `${file}: ${line}`).toEqual([]);
      }
    }
  });

  it("scopes the parts of a cell as an editor theme expects", () => {
    expect(scopeOf("cell lstm {", "lstm")).toBe("entity.name.type.cell.lstm");
    expect(scopeOf("  param W_f[H, I] ~ glorot", "param")).toBe("keyword.other.declaration.lstm");
    expect(scopeOf("  param W_f[H, I] ~ glorot", "glorot")).toBe("support.function.initializer.lstm");
    expect(scopeOf("  f = σ(W_f @ x + U_f @ h + b_f)", "σ")).toBe("support.function.lstm");
    expect(scopeOf("  f = σ(W_f @ x + U_f @ h + b_f)", "@")).toBe("keyword.operator.matmul.lstm");
    expect(scopeOf("  c' = f * c + i * g", "c")).toBe("variable.other.next.lstm");
    expect(scopeOf("  c' = f * c + i * g", "'")).toBe("keyword.operator.prime.lstm");
    expect(scopeOf("  h' = (1 - z) * h + z * h_tilde", "1")).toBe("constant.numeric.lstm");
    expect(scopeOf("  h' = (1 - z) * h + z * h_tilde", "h_tilde")).toBe("variable.other.lstm");
    expect(scopeOf("  x = tanh(y) # tanh of y", "# tanh of y")).toBe("comment.line.lstm");
    expect(scopeOf("  s = tanh_like(y)", "tanh_like")).toBe("variable.other.lstm");
  });
});
