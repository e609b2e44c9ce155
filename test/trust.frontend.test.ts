// Front-end inputs of a size no hand-written cell has, but a generator or a
// hostile user can write: the checker must answer, not overflow its stack.
import { describe, expect, it } from "vitest";
import { parseSpecText } from "../src/parse/load.ts";
import { buildCell } from "../src/ir/build.ts";
import { MAX_NESTING, treeDepth } from "../src/parse/depth.ts";

function check(text: string, file: string) {
  const parsed = parseSpecText(text, file);
  return parsed.value ? { ...buildCell(parsed.value), parsed } : { ir: null, diagnostics: parsed.diagnostics, parsed };
}

function chainSpec(length: number, order: "reads earlier" | "reads later"): string {
  const equations = Array.from({ length }, (_, i) => {
    if (order === "reads earlier") return i === 0 ? "  a0 = x" : `  a${i} = a${i - 1}`;
    return i === length - 1 ? `  a${i} = x` : `  a${i} = a${i + 1}`;
  });
  const last = order === "reads earlier" ? `a${length - 1}` : "a0";
  return ["cell c {", "  size H = 2", "  input x[H]", "  state h[H]", ...equations, `  h' = tanh(${last})`, "  output h = h'", "}"].join("\n");
}

describe("long chains of equations", () => {
  it.each(["reads earlier", "reads later"] as const)("orders 50,000 intermediates when each %s", (order) => {
    const { ir, diagnostics } = check(chainSpec(50_000, order), "chain.lstm");
    expect(diagnostics).toEqual([]);
    expect(ir!.equations).toHaveLength(50_000 + 2); // and h', and the output
    // Dependencies first: a0 is computed before the equation that reads it.
    const position = new Map(ir!.equations.map((e, i) => [e.target, i]));
    expect(position.get("a0")! < position.get("a1")!).toBe(order === "reads earlier");
  });

  it("still reports a cycle through a long chain once, at its first equation", () => {
    const text = chainSpec(10_000, "reads later").replace("a9999 = x", "a9999 = a0");
    const { diagnostics } = check(text, "cycle.lstm");
    expect(diagnostics.filter((d) => d.severity === "error").map((d) => [d.code, d.span.line])).toEqual([["E303", 5]]);
  });
});

describe("the nesting limit", () => {
  const spec = (value: string) => `cell c {\n  size H = 2\n  input x[H]\n  state h[H]\n  h' = ${value}\n  output h = h'\n}\n`;

  it("accepts an expression exactly at the limit and refuses one level more", () => {
    // tanh(…(x + h)…): one level per call, one for '+', one for the leaves.
    const nested = (calls: number) => `${"tanh(".repeat(calls)}x + h${")".repeat(calls)}`;
    const atLimit = check(spec(nested(MAX_NESTING - 2)), "limit.lstm");
    expect(treeDepth(atLimit.parsed.value!.equations[0]!.value)).toBe(MAX_NESTING);
    expect(atLimit.diagnostics).toEqual([]);
    expect(check(spec(nested(MAX_NESTING - 1)), "limit.lstm").diagnostics.map((d) => d.code)).toEqual(["E007"]);
  });

  it("counts each operator of a chain as a level", () => {
    const sum = (terms: number) => Array.from({ length: terms }, () => "x").join(" + ");
    expect(check(spec(sum(MAX_NESTING)), "sum.lstm").diagnostics).toEqual([]);
    expect(check(spec(sum(MAX_NESTING + 1)), "sum.lstm").diagnostics.map((d) => d.code)).toEqual(["E007"]);
  });
});
