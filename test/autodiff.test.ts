// The backward IR: its simplifications and its shape, independent of any renderer.
import { describe, expect, it } from "vitest";
import { differentiate, productsOf, type BackwardIR } from "../src/autodiff/index.ts";
import { hoistMatrixExpressions } from "../src/codegen/derived.ts";
import { loadSpec, specFiles } from "../scripts/generate.ts";

const constValue = (bir: BackwardIR, id: number) => {
  const n = bir.nodes[id]!;
  return n.op === "const" ? n.value : null;
};

describe.each(specFiles())("backward IR of %s", (file) => {
  // As the code generators differentiate it: matrix expressions and consts hoisted into internal parameters.
  const { ir } = hoistMatrixExpressions(loadSpec(file));
  const bir = differentiate(ir);

  it("never multiplies or divides by a known 0 or ±1, nor adds a known 0", () => {
    for (const n of bir.nodes) {
      if (n.op === "mul" || n.op === "div") for (const a of n.op === "mul" ? n.args : [n.args[1]]) expect([0, 1, -1]).not.toContain(constValue(bir, a));
      if (n.op === "add" || n.op === "sub") for (const a of n.args) expect(constValue(bir, a)).not.toBe(0);
    }
  });

  it("computes σ' and tanh' from the saved forward output, never from the pre-activation", () => {
    for (const n of bir.nodes) {
      if (n.op !== "derivative" || (n.fn !== "sigmoid" && n.fn !== "tanh")) continue;
      const source = bir.nodes[n.args[0]]!;
      expect(n.of).toBe("output");
      expect(source.op).toBe("saved");
      expect(source.op === "saved" && ir.nodes[source.node]!.op).toBe("apply");
    }
  });

  it("is in dependency order and every node is used by another node or a gradient", () => {
    const used = new Set<number>([...bir.params.flatMap((p) => [p.elementwise, ...p.outer.map((o) => o.grad)]), ...bir.inputs.map((i) => i.node), ...bir.states.map((s) => s.node)].filter((x): x is number => x !== null));
    for (const n of bir.nodes) {
      expect(n.id).toBe(bir.nodes.indexOf(n));
      const args = "args" in n ? n.args : n.op === "matvecT" ? n.terms.map((t) => t.grad) : [];
      for (const a of args) {
        expect(a).toBeLessThan(n.id);
        used.add(a);
      }
    }
    for (const n of bir.nodes) expect(used.has(n.id), `node ${n.id} (${n.op})`).toBe(true);
  });

  it("accumulates each parameter once per step: one elementwise sum, one outer product per use", () => {
    for (const p of bir.params) {
      const uses = ir.nodes.filter((n) => n.op === "matvec" && ir.nodes[n.args[0]]!.op === "param" && (ir.nodes[n.args[0]] as { name: string }).name === p.param).length;
      expect(p.outer.length).toBeGreaterThanOrEqual(uses);
      expect(p.elementwise === null || p.outer.length === 0).toBe(true);
    }
  });

  it("fuses the transposed products that reach one vector into a single node", () => {
    const vectors = bir.nodes.filter((n) => n.op === "matvecT").map((n) => (n.op === "matvecT" ? n.vector : -1));
    expect(new Set(vectors).size).toBe(vectors.length);
    expect(vectors.length).toBe(new Set(productsOf(ir).map((p) => p.vector)).size);
  });
});

describe("specific adjoints", () => {
  it("the LSTM's cell-state gradient flows through f without recomputing anything", () => {
    const bir = differentiate(loadSpec("specs/lstm.lstm"));
    const c = bir.states.find((s) => s.state === "c")!;
    const node = bir.nodes[c.node!]!;
    // dc_prev = dc' · f: a product with the saved f.
    expect(node.op).toBe("mul");
    expect(bir.nodes.filter((n) => n.op === "derivative").map((n) => (n.op === "derivative" ? n.fn : "")).sort()).toEqual(["sigmoid", "sigmoid", "sigmoid", "tanh", "tanh"]);
  });

  it("the constant in (1 - f) gets no gradient and the sign flips without a multiply by -1", () => {
    const bir = differentiate(loadSpec("specs/cifg.lstm"));
    expect(bir.nodes.some((n) => n.op === "const")).toBe(false);
    expect(bir.nodes.some((n) => n.op === "neg")).toBe(true);
  });
});
