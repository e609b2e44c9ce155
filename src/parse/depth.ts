// One nesting limit for the whole front end. Every later pass (the IR
// builder, the printers, autodiff, the code generators, the diagram) walks
// expressions recursively, and so does the chevrotain parser; bounding the
// depth here keeps all of them far from the JavaScript stack's end.
//
// Measured with Node 20's default stack (984 KiB), the parser itself
// overflows at 284 nested parentheses, 302 nested calls, 513 nested brackets
// or 2,375 unary minuses. 128 leaves more than twice that headroom, and no
// cell written by hand comes near it.
import type { IToken } from "chevrotain";
import type { DimAst, ExprAst, SpecAst } from "./ast.ts";
import type { Span } from "../diagnostics/diagnostic.ts";

export const MAX_NESTING = 128;

const OPENS = new Set(["LParen", "LBracket"]);
const CLOSES = new Set(["RParen", "RBracket"]);
/** Tokens after which a '-' is binary (a - b), not unary (-b). */
const ENDS_OPERAND = new Set(["Identifier", "Sigma", "NumberLiteral", "RParen", "RBracket", "Prime"]);

/**
 * The first token at which the parser's recursion would pass MAX_NESTING:
 * each open bracket or call, and each unary minus still waiting for its
 * operand, is one level. Checked on the tokens, before parsing, so that the
 * parser is never started on input that could overflow its stack.
 */
export function tooDeepToken(tokens: readonly IToken[]): IToken | null {
  let depth = 0;
  // Unary minuses waiting for their operand, per open bracket.
  const pending: number[] = [0];
  // Powers in the chain a ^ b ^ c … being read, per open bracket: each nests the rest (it is right-associative).
  const powers: number[] = [0];
  let previous: string | null = null;
  const endChain = () => {
    depth -= powers[powers.length - 1]!;
    powers[powers.length - 1] = 0;
  };
  for (const token of tokens) {
    const kind = token.tokenType.name;
    if (kind === "Minus" && (previous === null || !ENDS_OPERAND.has(previous))) {
      pending[pending.length - 1]!++;
      depth++;
    } else if (kind === "Caret") {
      powers[powers.length - 1]!++;
      depth++;
    } else if (OPENS.has(kind)) {
      pending.push(0);
      powers.push(0);
      depth++;
    } else if (CLOSES.has(kind) && pending.length > 1) {
      endChain();
      powers.pop();
      depth -= 1 + pending.pop()!;
      // The bracketed group is the operand the minuses before it waited for.
      depth -= pending[pending.length - 1]!;
      pending[pending.length - 1] = 0;
    } else if (ENDS_OPERAND.has(kind)) {
      depth -= pending[pending.length - 1]!;
      pending[pending.length - 1] = 0;
    } else {
      endChain();
    }
    if (depth > MAX_NESTING) return token;
    previous = kind;
  }
  return null;
}

type Tree = ExprAst | DimAst;

function childrenOf(node: Tree): readonly Tree[] {
  switch (node.kind) {
    case "neg":
      return [node.operand];
    case "binary":
      return [node.left, node.right];
    case "concat":
      return node.items;
    case "call":
      return node.args;
    case "slice":
      return [node.operand, node.start, node.end];
    default:
      return [];
  }
}

/** The depth of a tree, a leaf counting 1, without recursion: a 10,000-term sum is 10,000 deep. */
export function treeDepth(root: Tree): number {
  let deepest = 0;
  const work: [Tree, number][] = [[root, 1]];
  while (work.length > 0) {
    const [node, depth] = work.pop()!;
    deepest = Math.max(deepest, depth);
    for (const child of childrenOf(node)) work.push([child, depth + 1]);
  }
  return deepest;
}

/** The span of the first expression or dimension in the spec deeper than MAX_NESTING, or null. */
export function tooDeepTree(spec: SpecAst): Span | null {
  const trees: Tree[] = [
    ...[...spec.inputs, ...spec.states, ...spec.params].flatMap((d) => d.shape),
    ...spec.sizes.flatMap((s) => (s.formula ? [s.formula] : [])),
    ...spec.consts.flatMap((c) => [c.value, ...c.indices.map((i) => i.dim)]),
    ...spec.equations.map((e) => e.value),
    ...spec.outputs.map((o) => o.value),
  ];
  return trees.find((t) => treeDepth(t) > MAX_NESTING)?.span ?? null;
}
