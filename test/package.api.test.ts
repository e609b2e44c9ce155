// The programmatic API (`import { parse, check, compile, run } from "lstmc"`):
// results and diagnostics come back as data, with file, line and column, and
// nothing is printed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { check, compile, parse, run } from "../src/index.ts";
import { LSTMC } from "./helpers/cli.ts";
import { cliModelOutputs, maxDifference } from "./helpers/cli-model-run.ts";

const ROOT = join(import.meta.dirname, "..");
const GRU = readFileSync(join(ROOT, "specs", "gru.lstm"), "utf8");
const RNN_JSON = JSON.stringify({
  cell: "rnn",
  sizes: { I: 2, H: 3 },
  inputs: { x: ["I"] },
  states: { h: { shape: ["H"] } },
  params: { W: { shape: ["H", "I"], init: "glorot" }, U: { shape: ["H", "H"], init: "orthogonal" }, b: { shape: ["H"], init: "zeros" } },
  equations: ["h' = tanh(W @ x + U @ h + b)"],
  outputs: { h: "h'" },
});

// Nothing the API does prints.
const printed: string[] = [];
beforeEach(() => {
  printed.length = 0;
  for (const stream of [process.stdout, process.stderr]) vi.spyOn(stream, "write").mockImplementation((chunk) => (printed.push(String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  expect(printed).toEqual([]);
});

describe("the programmatic API", () => {
  it("parse returns a syntax error located at line and column, under the given file name", () => {
    const { spec, diagnostics } = parse("cell c {\n  input x[\n}", { file: "bad.lstm" });
    expect(spec).toBeNull();
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ code: "E002", severity: "error", span: { file: "bad.lstm", line: 3, column: 1 } });
  });

  it("check gives the IR of a good spec and no diagnostics", () => {
    const { ir, diagnostics } = check(GRU, { file: "gru.lstm" });
    expect(diagnostics).toEqual([]);
    expect(ir?.name).toBe("gru");
    expect(ir?.states.map((s) => s.name)).toEqual(["h"]);
  });

  it("check reports an unknown name where it is used, and no IR", () => {
    const { ir, diagnostics } = check(GRU.replace("U_z @ h", "U_z @ hh"));
    expect(ir).toBeNull();
    expect(diagnostics.map((d) => [d.code, d.span.line])).toEqual([["E101", 23]]);
  });

  it("check reads the JSON form when the file name or format says so", () => {
    expect(check(RNN_JSON, { format: "json" }).ir?.name).toBe("rnn");
    expect(check(RNN_JSON, { file: "rnn.json" }).ir?.name).toBe("rnn");
    expect(check(RNN_JSON).diagnostics[0]?.code).toBe("E001");
  });

  it("compile returns the TypeScript module for the given sizes", async () => {
    const { files, diagnostics } = await compile(GRU, { dims: { I: 3, H: 5 } });
    expect(diagnostics).toEqual([]);
    expect(files.map((f) => f.fileName)).toEqual(["gru.ts"]);
    expect(files[0]!.text).toMatch(/export const H = 5;/);
  });

  it("compile to wgsl returns the shaders and the host module", async () => {
    const { files } = await compile(GRU, { target: "wgsl", dims: { I: 3, H: 5 } });
    expect(files.map((f) => f.fileName).sort()).toEqual(["gru.backward.wgsl", "gru.forward.wgsl", "gru.webgpu.ts"]);
  });

  it("compile turns an unknown size binding into an E401 diagnostic at the cell's name", async () => {
    const { files, diagnostics } = await compile(GRU, { file: "gru.lstm", dims: { Z: 2 } });
    expect(files).toEqual([]);
    expect(diagnostics).toMatchObject([{ code: "E401", span: { file: "gru.lstm", line: 9, column: 6 } }]);
  });

  it("compile of a spec with errors returns its diagnostics and no files", async () => {
    const { files, diagnostics } = await compile("cell c { }");
    expect(files).toEqual([]);
    expect(diagnostics.length).toBeGreaterThan(0);
  });

  it("run on an example gives outputs of length steps × batch × H", async () => {
    const { response, diagnostics } = await run(GRU, { example: { dims: { I: 2, H: 3 }, steps: 4, batch: 2 } });
    expect(diagnostics).toEqual([]);
    expect(response!.outputs.h).toHaveLength(4 * 2 * 3);
    expect(response!.grads).toBeUndefined();
  });

  it("run with gradients on data in the run contract", async () => {
    const data = { dims: { I: 1, H: 1 }, batch: 1, steps: 1, params: { W: [0.5], U: [0.25], b: [0] }, inputs: { x: [2] }, upstream: { outputs: { h: [1] } } };
    const { response } = await run(RNN_JSON, { format: "json", data, grad: true });
    expect(response!.outputs.h![0]).toBeCloseTo(Math.tanh(1), 12);
    expect(response!.grads!.params.W![0]).toBeCloseTo(2 * (1 - Math.tanh(1) ** 2), 12);
  });

  it("run reports bad data as an E402 diagnostic instead of throwing", async () => {
    const { response, diagnostics } = await run(GRU, { data: { dims: {}, batch: 0 } });
    expect(response).toBeNull();
    expect(diagnostics.map((d) => d.code)).toEqual(["E402"]);
  });
});

// A model's text goes through the same four functions; its layers' cell files
// are read relative to `file`, from the file system or through `readFile`.
describe("the programmatic API on models", () => {
  const BILSTM_FILE = join(ROOT, "specs", "bilstm.lstm");
  const BILSTM = readFileSync(BILSTM_FILE, "utf8");
  const CLASSIFIER_FILE = join(ROOT, "specs", "classifier.lstm");
  const CLASSIFIER = readFileSync(CLASSIFIER_FILE, "utf8");
  const LSTM = readFileSync(join(ROOT, "specs", "lstm.lstm"), "utf8");
  const MODEL_NAME = { line: 5, column: 7 };
  const CELL_REF = { line: 8, column: BILSTM.split("\n")[7]!.indexOf("lstm.lstm") + 1 };
  const virtualFiles = (files: Record<string, string>) => (path: string) => {
    if (!Object.hasOwn(files, path)) throw new Error("no such file");
    return files[path]!;
  };

  it("parse gives a model's syntax tree without reading its cell files", () => {
    const { spec, model, diagnostics } = parse(BILSTM, { readFile: () => expect.unreachable("parse read a cell file") });
    expect(diagnostics).toEqual([]);
    expect(spec).toBeNull();
    expect(model?.layers.map((l) => [l.name, l.direction])).toEqual([["fwd", "forward"], ["bwd", "reverse"]]);
  });

  it("check reads a model's cell files relative to `file` and gives its IR", () => {
    const { ir, modelIr, cellFiles, diagnostics } = check(BILSTM, { file: BILSTM_FILE });
    expect(diagnostics).toEqual([]);
    expect(ir).toBeNull();
    expect(modelIr?.layers.map((l) => [l.name, l.cell.name])).toEqual([["fwd", "lstm"], ["bwd", "lstm"]]);
    expect(cellFiles).toEqual([join(ROOT, "specs", "lstm.lstm")]);
  });

  it("check reads cell files through readFile, given their resolved paths", () => {
    const asked: string[] = [];
    const readFile = (path: string) => (asked.push(path), virtualFiles({ "/virtual/models/lstm.lstm": LSTM })(path));
    const { modelIr, diagnostics } = check(BILSTM, { file: "/virtual/models/bilstm.lstm", readFile });
    expect(diagnostics).toEqual([]);
    expect(modelIr?.name).toBe("bilstm");
    expect(asked).toEqual(["/virtual/models/lstm.lstm"]);
  });

  it("check reads a model's JSON form to the same IR, its cells relative to `file` as well", () => {
    const json = JSON.stringify({ model: "bilstm", sizes: { I: 8, H: 16 }, inputs: { x: "I" }, layers: [{ name: "fwd", cell: "lstm.lstm", inputs: { x: "x" } }, { name: "bwd", cell: "lstm.lstm", direction: "reverse", inputs: { x: "x" } }], outputs: { h: ["fwd.h", "bwd.h"] } });
    const fromJson = check(json, { file: join(ROOT, "specs", "bilstm.json") });
    expect(fromJson.diagnostics).toEqual([]);
    const withoutPlaces = (ir: typeof fromJson.modelIr) => ({ ...ir!, file: "", doc: [], layers: ir!.layers.map(({ span: _span, ...l }) => l) });
    expect(withoutPlaces(fromJson.modelIr)).toEqual(withoutPlaces(check(BILSTM, { file: BILSTM_FILE }).modelIr));
  });

  it("a cell file readFile cannot give is one E005 at the layer's cell, not a throw", () => {
    const { modelIr, cellFiles, diagnostics } = check(BILSTM, { file: "/virtual/bilstm.lstm", readFile: virtualFiles({}) });
    expect(modelIr).toBeNull();
    expect(cellFiles).toEqual(["/virtual/lstm.lstm"]);
    expect(diagnostics.filter((d) => d.code === "E005")).toMatchObject([{ severity: "error", span: { file: "/virtual/bilstm.lstm", ...CELL_REF } }]);
    expect(diagnostics[0]!.message).toContain("no such file");
  });

  it("an error in a cell file is located in that file, once however many layers use it", () => {
    const broken = LSTM.replace("U_f @ h", "U_f @ hh");
    const { modelIr, diagnostics } = check(BILSTM, { file: "/virtual/bilstm.lstm", readFile: virtualFiles({ "/virtual/lstm.lstm": broken }) });
    expect(modelIr).toBeNull();
    const line = broken.split("\n").findIndex((l) => l.includes("U_f @ hh")) + 1;
    // Once, though both layers use the cell.
    expect(diagnostics.map((d) => [d.code, d.span.file, d.span.line])).toEqual([["E101", "/virtual/lstm.lstm", line]]);
  });

  it("compile of a model to wgsl gives the WebGPU module lstmc compile writes", async () => {
    const { files, diagnostics } = await compile(BILSTM, { file: BILSTM_FILE, target: "wgsl", dims: { I: 3, H: 4 } });
    expect(diagnostics).toEqual([]);
    expect(files.map((f) => f.fileName)).toEqual(["bilstm.webgpu.ts"]);
    const dir = mkdtempSync(join(tmpdir(), "lstmc-api-wgsl-model-"));
    const cli = lstmc("compile", "specs/bilstm.lstm", "--target", "wgsl", "--dims", "I=3,H=4", "--out", dir);
    expect(cli.status).toBe(0);
    expect(files[0]!.text).toBe(readFileSync(join(dir, "bilstm.webgpu.ts"), "utf8"));
    expect(files[0]!.text).toContain("export function createModel(");
  });

  it("compile of a model with an unknown size binding is E401 at the model's name", async () => {
    const { files, diagnostics } = await compile(BILSTM, { file: BILSTM_FILE, dims: { Z: 2 } });
    expect(files).toEqual([]);
    expect(diagnostics).toMatchObject([{ code: "E401", span: { file: BILSTM_FILE, ...MODEL_NAME } }]);
  });

  it("compile of a model writes the CLI's module, and it gives the CLI's numbers", async () => {
    const dims = { I: 3, H: 4 };
    const { files, diagnostics } = await compile(BILSTM, { file: BILSTM_FILE, target: "js", precision: "f64", dims });
    expect(diagnostics).toEqual([]);
    expect(files.map((f) => f.fileName)).toEqual(["bilstm.js", "bilstm.d.ts"]);
    const dir = mkdtempSync(join(tmpdir(), "lstmc-api-model-"));
    const cli = lstmc("compile", "specs/bilstm.lstm", "--target", "js", "--precision", "f64", "--dims", "I=3,H=4", "--out", dir);
    expect(cli.status).toBe(0);
    expect(files[0]!.text).toBe(readFileSync(join(dir, "bilstm.js"), "utf8"));
    writeFileSync(join(dir, "api.mjs"), files[0]!.text);
    const module = (await import(join(dir, "api.mjs"))) as GeneratedModel;
    const [batch, steps] = [2, 3];
    const params = module.initParams(7);
    const x = Float64Array.from({ length: steps * batch * dims.I }, (_, i) => Math.sin(i + 1));
    const { outputs } = module.forward(params, { x }, {}, { batch });
    const expected = cliModelOutputs("specs/bilstm.lstm", { dims, batch, steps, params, inputs: { x } });
    expect(outputs["h"]).toHaveLength(steps * batch * 2 * dims.H);
    expect(maxDifference(outputs["h"]!, expected["h"]!)).toBeLessThan(1e-9);
  });

  it("run of a model with a loss gives the CLI's loss, outputs and gradients", async () => {
    const { response, diagnostics } = await run(CLASSIFIER, { file: CLASSIFIER_FILE, example: { dims: { I: 2, H: 3, K: 4 }, steps: 3, batch: 2, seed: 5 }, grad: true });
    expect(diagnostics).toEqual([]);
    const cli = lstmc("run", "specs/classifier.lstm", "--example", "--grad", "--dims", "I=2,H=3,K=4", "--steps", "3", "--batch", "2", "--seed", "5");
    expect(cli.status).toBe(0);
    expect(response).toEqual(JSON.parse(cli.stdout));
    expect(response!.loss).toBeGreaterThan(0);
    expect(response!.grads!.params["f1.W_i"]).toHaveLength(3 * 2);
  });

  it("run of a model on bad data is E402 at the model's name", async () => {
    const { response, diagnostics } = await run(BILSTM, { file: BILSTM_FILE, data: { dims: {}, batch: 1, steps: 1, params: {}, inputs: {} } });
    expect(response).toBeNull();
    expect(diagnostics).toMatchObject([{ code: "E402", span: { file: BILSTM_FILE, ...MODEL_NAME } }]);
  });
});

interface GeneratedModel {
  initParams(seed: number): Record<string, Float64Array>;
  forward(params: Record<string, Float64Array>, inputs: Record<string, Float64Array>, initial: object, options: { batch: number }): { outputs: Record<string, Float64Array> };
}

function lstmc(...args: string[]) {
  return spawnSync(process.execPath, [LSTMC, ...args], { cwd: ROOT, encoding: "utf8" });
}
