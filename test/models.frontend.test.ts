// The model language's mistakes: each is a located diagnostic (file, line,
// column) with its catalogue code, never an exception or a silent default.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../src/diagnostics/diagnostic.ts";
import { buildModel } from "../src/ir/build-model.ts";
import { loadModelFile, loadModelText } from "../src/parse/load-model.ts";
import { isModelText } from "../src/parse/model.ts";

// A model file beside specs/, so `lstm.lstm` names specs/lstm.lstm.
const FILE = join(import.meta.dirname, "..", "specs", "test-model.lstm");

function diagnosticsOf(body: string, after = ""): Diagnostic[] {
  const loaded = loadModelText(`model m {\n  size I = 3, H = 2\n  input x[I]\n${body}\n}\n${after}`, FILE);
  if (!loaded.model) return [...loaded.diagnostics];
  return [...loaded.diagnostics, ...buildModel(loaded.model, loaded.cells).diagnostics];
}

/** "code line:column message" of each diagnostic, lines counted in the model text above. */
function described(body: string, after = ""): string[] {
  return diagnosticsOf(body, after).map((d) => `${d.code} ${d.span.line}:${d.span.column} ${d.message}`);
}

describe("a model with a mistake is refused at the place of the mistake", () => {
  it.each([
    ["an unknown layer", "  layer a = lstm.lstm(x)\n  output h = b.h", "E101 5:14 unknown layer 'b' (the model's layers: a)"],
    ["an unknown output of a layer", "  layer a = lstm.lstm(x)\n  output h = a.y", "E101 5:14 layer 'a' (cell 'lstm') has no output 'y' (its outputs: h)"],
    ["an unknown model input", "  layer a = lstm.lstm(z)\n  output h = a.h", "E101 4:23 unknown input 'z' (the model's inputs: x)"],
    ["a missing cell file", "  layer a = nope.lstm(x)\n  output h = a.h", "E005 4:13 cannot read"],
    ["an unknown inline cell", "  layer a = nope(x)\n  output h = a.h", "E101 4:13 no cell 'nope' in this file (its cells: none); name a spec file such as lstm.lstm"],
    ["a cycle between layers", "  layer a = lstm.lstm(b.h)\n  layer b = lstm.lstm(a.h)\n  output h = b.h", "E303 4:9 cycle among layers: a -> b -> a"],
    // A model's values are per step: wiring one to a static input would read T·B rows as B.
    ["a static cell input", "  layer a = attention_lstm.lstm(x = x, annotations = x) { A = 1, K = H }\n  output h = a.h", "E201 4:40 layer 'a': its cell's input 'annotations' is static (one value per sequence), but a model wires values of every step"],
    ["a width mismatch", "  layer a = lstm.lstm(x)\n  layer b = lstm.lstm(x = [a.h, x]) { I = H }\n  output h = b.h", "E201 5:23 layer 'b': its cell's input 'x' is H wide, but what is wired to it is H + I wide"],
    ["a duplicate layer", "  layer a = lstm.lstm(x)\n  layer a = lstm.lstm(x)\n  output h = a.h", "E102 5:9 'a' is already declared as a layer at 4:9"],
    ["an unknown cell input", "  layer a = lstm.lstm(y = x)\n  output h = a.h", "E101 4:23 cell 'lstm' has no input 'y' (its inputs: x)"],
    ["a size the cell lacks", "  layer a = lstm.lstm(x) { K = H }\n  output h = a.h", "E105 4:28 cell 'lstm' has no size 'K' (its sizes: I, H)"],
    ["a loss on no head", "  layer a = lstm.lstm(x)\n  output h = a.h\n  loss mse(y)", "E101 6:3 the loss reads 'y', but the model's head is not declared"],
    ["an unknown loss", "  layer a = lstm.lstm(x)\n  head y[H] = linear(a.h)\n  loss hinge(y)", "E002 6:8 unknown loss 'hinge' (known: softmax_cross_entropy, bce_with_logits, mse)"],
    ["no output", "  layer a = lstm.lstm(x)", "E305 1:7 the model declares no output and no head (add e.g. output h = L2.h)"],
    ["a syntax error", "  layer a = lstm.lstm(x\n  output h = a.h", "E002 5:3 expected ',', found \"output\""],
    ["an unknown state read after the step", "  layer a = lstm.lstm(x)\n  output h = a.q'", "E101 5:14 layer 'a' (cell 'lstm') has no output 'q''"],
  ])("%s", (_what, body, expected) => {
    const [first] = described(body);
    expect(first?.startsWith(expected), `${first} should start with ${expected}`).toBe(true);
    expect(diagnosticsOf(body).every((d) => d.span.file === FILE || d.span.file.endsWith(".lstm"))).toBe(true);
  });

  it("reports a mistake inside an inline cell at its own line in the model's file", () => {
    const [first] = described("  layer a = mine(x)\n  output h = a.h", "cell mine {\n  input x[3]\n  state h[2]\n  h' = tanh(W @ x)\n  output h = h'\n}\n");
    expect(first).toMatch(/^E101 10:13 unknown name 'W'/);
  });
});

describe("a cell whose sizes follow from a formula (clockwork_rnn: size H = G * K)", () => {
  const clockwork = (layer: string, output = "a.h") => described(`  layer a = ${layer}\n  output h = ${output}`);

  it("is refused, at the layer, when the formula multiplies two of the model's sizes, saying what to give", () => {
    expect(clockwork("clockwork_rnn.lstm(x) { G = H, K = I }")).toEqual([
      "E204 4:9 layer 'a': its cell's size 'H' = G * K is a product of two of the model's sizes, which a width cannot be; give one of them to the layer as a number, e.g. '{ G = 4 }' after the layer's inputs",
    ]);
  });

  it("binds the formula's size when the product is linear, and the layer's outputs are as wide as it says", () => {
    const loaded = loadModelText("model m {\n  size I = 3, G = 2\n  input x[I]\n  layer a = clockwork_rnn.lstm(x) { K = 4 }\n  output h = a.h\n}\n", FILE);
    const { ir, diagnostics } = buildModel(loaded.model!, loaded.cells);
    expect(diagnostics).toEqual([]);
    expect(ir!.layers[0]!.outputWidths["h"]).toEqual({ constant: 0, terms: [["G", 4]] });
  });

  it("reports a layer that did not build once: its readers add no 'unknown layer'", () => {
    const reports = described("  layer a = clockwork_rnn.lstm(x) { G = H, K = I }\n  layer b = lstm.lstm(a.h)\n  output h = b.h");
    expect(reports.map((r) => r.split(" ")[0])).toEqual(["E204"]);
  });
});

describe("what a model file is", () => {
  it("starts with `model` after any comments; a cell file does not", () => {
    expect(isModelText("# comment\n// another\n\nmodel m {")).toBe(true);
    expect(isModelText("cell lstm {\n}")).toBe(false);
    expect(isModelText("# a model of a cell\ncell m {}")).toBe(false);
  });

  it("reads a layer's state after the step (L1.c') as an output of the layer's cell", () => {
    const loaded = loadModelText("model m {\n  size I = 3, H = 2\n  input x[I]\n  layer a = peephole.lstm(x)\n  output c = a.c'\n}", FILE);
    const { ir } = buildModel(loaded.model!, loaded.cells);
    expect(ir!.layers[0]!.cell.outputs.map((o) => o.name)).toEqual(["h", "c'"]);
    expect(ir!.outputs[0]!.parts).toEqual([{ kind: "layer", layer: "a", output: "c'" }]);
  });
});

describe("the JSON form of a model", () => {
  const JSON_BILSTM = JSON.stringify(
    {
      model: "bilstm",
      sizes: { I: 8, H: 16 },
      inputs: { x: "I" },
      layers: [
        { name: "fwd", cell: "lstm.lstm", inputs: { x: "x" } },
        { name: "bwd", cell: "lstm.lstm", direction: "reverse", inputs: { x: ["x"] } },
      ],
      outputs: { h: ["fwd.h", "bwd.h"] },
    },
    null,
    2,
  );

  it("builds the same IR as specs/bilstm.lstm", () => {
    const fromJson = loadModelText(JSON_BILSTM, join(import.meta.dirname, "..", "specs", "bilstm.json"));
    const fromDsl = loadModelFile(join(import.meta.dirname, "..", "specs", "bilstm.lstm"));
    const [a, b] = [buildModel(fromJson.model!, fromJson.cells), buildModel(fromDsl.model!, fromDsl.cells)];
    expect(a.diagnostics).toEqual([]);
    const withoutPlaces = (ir: typeof a.ir) => ({ ...ir!, file: "", doc: [], layers: ir!.layers.map(({ span: _span, ...l }) => l) });
    expect(withoutPlaces(a.ir)).toEqual(withoutPlaces(b.ir));
    expect(isModelText(JSON_BILSTM)).toBe(true);
  });

  it("refuses a field the schema does not know, at its key", () => {
    const text = JSON_BILSTM.replace('"outputs"', '"outptus"');
    const [first] = loadModelText(text, "m.json").diagnostics;
    expect(first?.code).toBe("E004");
    expect(first?.message).toContain('unknown property "outptus"');
    expect(first?.span.line).toBe(text.split("\n").findIndex((l) => l.includes("outptus")) + 1);
  });

  it("refuses a wire that is not a name or layer.output, at the string", () => {
    const [first] = loadModelText(JSON_BILSTM.replace('"fwd.h"', '"fwd..h"'), "m.json").diagnostics;
    expect(first?.code).toBe("E004");
    expect(first?.message).toContain("fwd..h: must be a wire");
  });
});
