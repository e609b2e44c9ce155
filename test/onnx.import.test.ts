// `lstmc import`: an .onnx model becomes specs, safetensors weights and a
// README that reproduce onnxruntime's outputs; a safetensors file is renamed
// onto a spec's parameters (exact or PyTorch names) or refused naming the
// tensor that does not fit.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { loadOnnxModel } from "../src/cli/onnx.ts";
import { importOnnxModel } from "../src/onnx/import.ts";
import { mapWeights } from "../src/onnx/weights.ts";
import { decodeSafetensors, encodeSafetensors, stored, type StoredTensor } from "../src/runtime/safetensors.ts";
import { lstmParamsFromTorch } from "../src/adapters/torch.ts";
import { parseSpecText } from "../src/parse/load.ts";
import { buildCell } from "../src/ir/build.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { forward } from "../src/interp/interpret.ts";
import { loadLibraryCell, REPO_ROOT } from "./helpers/torch-oracle.ts";
import { LSTMC } from "./helpers/cli.ts";

const CASES_DIR = path.join(REPO_ROOT, "test/fixtures/onnx-cases");

function importCase(name: string): Record<string, string | Uint8Array> {
  return importOnnxModel(loadOnnxModel(path.join(CASES_DIR, `${name}.onnx`)), `${name}.onnx`);
}

describe("lstmc import MODEL.onnx", () => {
  test("the imported spec with its safetensors weights reproduces onnxruntime's Y and Y_c", () => {
    const files = importCase("lstm_peepholes");
    expect(Object.keys(files).sort()).toEqual(["README.md", "onnx_lstm_node.lstm", "onnx_lstm_node.safetensors"]);
    const built = buildCell(parseSpecText(files["onnx_lstm_node.lstm"] as string, "onnx_lstm_node.lstm", "lstm").value!);
    expect(built.diagnostics).toEqual([]);
    const params = Object.fromEntries(Object.entries(decodeSafetensors(files["onnx_lstm_node.safetensors"] as Uint8Array).tensors).map(([k, t]) => [k, Float64Array.from(t.data)]));
    const feeds = JSON.parse(readFileSync(path.join(CASES_DIR, "lstm_peepholes.feeds.json"), "utf8")) as { X: number[] };
    const expected = JSON.parse(readFileSync(path.join(CASES_DIR, "lstm_peepholes.expected.json"), "utf8")) as Record<string, { data: number[] }>;
    const [steps, batch] = [5, 3];
    const ir = built.ir!;
    const result = forward(ir, bindSizes(ir, {}), { batch, steps, params, inputs: { x: Float64Array.from(feeds.X) }, initial: { h: new Float64Array(batch * 4), c: new Float64Array(batch * 4) } });
    // One direction: Y [T, 1, B, H] holds the same numbers as the time-major [T, B, H] output.
    expect(Math.max(...expected["Y"]!.data.map((y, k) => Math.abs(y - result.outputs["h"]![k]!)))).toBeLessThan(1e-5);
    expect(Math.max(...expected["Y_c"]!.data.map((y, k) => Math.abs(y - result.final["c"]![k]!)))).toBeLessThan(1e-5);
  });

  test("a bidirectional node gives one spec per direction, and the README says which is which", () => {
    const files = importCase("gru_linear_before_reset_bidirectional");
    expect(Object.keys(files).sort()).toEqual(["README.md", "onnx_gru_node_bwd.lstm", "onnx_gru_node_bwd.safetensors", "onnx_gru_node_fwd.lstm", "onnx_gru_node_fwd.safetensors"]);
    expect(files["README.md"]).toContain("- reverse: `onnx_gru_node_bwd.lstm` with `onnx_gru_node_bwd.safetensors`");
    expect(files["onnx_gru_node_fwd.lstm"]).toContain("n = tanh(a_n)");
    expect(files["onnx_gru_node_fwd.lstm"]).toContain("a_n = W_h @ x + r * (U_h @ h + b_hn) + b_h");
  });

  test("ThresholdedRelu is written with where()", () => {
    const files = importCase("rnn_act_thresholdedrelu");
    expect(files["onnx_rnn_node.lstm"]).toContain("h_new = where(a_h_new > 0.10000000149011612, a_h_new, 0)");
  });
});

function randomTensor(shape: number[], seed: number): StoredTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return stored(Float32Array.from({ length: count }, (_, k) => Math.sin(seed * 97 + k * 1.3)), shape);
}

describe("mapping safetensors weights onto a spec (--like)", () => {
  const ir = loadLibraryCell("specs/lstm.lstm");
  const sizes = bindSizes(ir, { I: 3, H: 4 });
  const exact = Object.fromEntries(ir.params.map((p, k) => [p.name, randomTensor(p.name.startsWith("W") ? [4, 3] : p.name.startsWith("U") ? [4, 4] : [4], k)]));

  test("matches by exact name", () => {
    expect(mapWeights(ir, sizes, exact).tensors).toEqual(exact);
  });

  test("maps a single-layer PyTorch state_dict through the torch adapter", () => {
    const state = { weight_ih_l0: randomTensor([16, 3], 1), weight_hh_l0: randomTensor([16, 4], 2), bias_ih_l0: randomTensor([16], 3), bias_hh_l0: randomTensor([16], 4) };
    const mapped = mapWeights(ir, sizes, state).tensors;
    const want = lstmParamsFromTorch({ weight_ih_l0: state.weight_ih_l0.data, weight_hh_l0: state.weight_hh_l0.data, bias_ih_l0: state.bias_ih_l0.data, bias_hh_l0: state.bias_hh_l0.data }, 4);
    for (const [name, data] of Object.entries(want)) expect(Array.from(mapped[name]!.data), name).toEqual(Array.from(data));
    expect(mapped["W_i"]!.shape).toEqual([4, 3]);
  });

  test("missing, extra and misshapen tensors are errors naming them", () => {
    const { b_o: _dropped, ...missing } = exact;
    expect(() => mapWeights(ir, sizes, missing)).toThrow("no tensor for parameter b_o of cell lstm");
    expect(() => mapWeights(ir, sizes, { ...exact, W_x: exact["W_i"]! })).toThrow("'W_x' is not a parameter of cell lstm");
    expect(() => mapWeights(ir, sizes, { ...exact, U_g: randomTensor([4, 3], 9) })).toThrow("'U_g' has shape [4, 3], but cell lstm needs [4, 4]");
    expect(() => mapWeights(ir, sizes, { weight_ih_l1: exact["W_i"]!, weight_ih_l0: exact["W_i"]! })).toThrow(/'weight_ih_l1': only single-layer, single-direction state_dicts/);
  });

  test("lstmc import WEIGHTS.safetensors --like SPEC writes run data, or E702 and exit 1", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lstmc-weights-"));
    try {
      const good = path.join(dir, "good.safetensors");
      writeFileSync(good, encodeSafetensors({ tensors: exact, metadata: {} }));
      const bad = path.join(dir, "bad.safetensors");
      const { U_f: _gone, ...partial } = exact;
      writeFileSync(bad, encodeSafetensors({ tensors: partial, metadata: {} }));
      const run = (file: string) => spawnSync(process.execPath, [LSTMC, "import", file, "--like", "specs/lstm.lstm", "--dims", "I=3,H=4", "--out", "-"], { encoding: "utf8", cwd: REPO_ROOT });
      const ok = run(good);
      expect(ok.status).toBe(0);
      const data = JSON.parse(ok.stdout) as { dims: Record<string, number>; params: Record<string, number[]> };
      expect(data.dims).toEqual({ I: 3, H: 4 });
      expect(data.params["U_o"]).toEqual(Array.from(exact["U_o"]!.data));
      const refused = run(bad);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/lstmc import: error E702: .*bad\.safetensors: no tensor for parameter U_f of cell lstm/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
