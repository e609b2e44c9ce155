// Reading .onnx files (src/onnx/model.ts) and running their nodes' cells
// (src/onnx/cell.ts, run.ts): what is read from which encoding, and what is
// refused with which message. Models are built here with the same protobufjs
// schema lstmc reads them with.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { onnxDescriptorSource } from "../scripts/onnx-descriptor.ts";
import { encodeModelProto, TENSOR_TYPES, ATTRIBUTE_TYPES } from "../src/onnx/proto.ts";
import { OnnxError, readOnnxModel, type ExternalDataReader } from "../src/onnx/model.ts";
import { cellParams, cellSpecText, nodeConfig } from "../src/onnx/cell.ts";
import { readFeeds, runOnnxModel, type CellRunner } from "../src/onnx/run.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { forward } from "../src/interp/interpret.ts";
import { parseSpecText } from "../src/parse/load.ts";
import { buildCell } from "../src/ir/build.ts";
import { REPO_ROOT } from "./helpers/torch-oracle.ts";
import { LSTMC } from "./helpers/cli.ts";

const noExternalData: ExternalDataReader = () => {
  throw new Error("no external data expected");
};

function floatBytes(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  values.forEach((v, k) => new DataView(out.buffer).setFloat32(k * 4, v, true));
  return out;
}

function valueInfo(name: string, dims: (number | string)[]) {
  return { name, type: { tensor_type: { elem_type: TENSOR_TYPES.FLOAT, shape: { dim: dims.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) } } } };
}

/** A one-node RNN graph (I = 2, H = 1) with extra nodes, initializers and attributes as given. */
function rnnModel(options: { nodes?: object[]; initializers?: object[]; attributes?: object[]; nodeName?: string } = {}): Uint8Array {
  const weights = [
    { name: "W", dims: [1, 1, 2], data_type: TENSOR_TYPES.FLOAT, raw_data: floatBytes([0.5, -0.25]) },
    { name: "R", dims: [1, 1, 1], data_type: TENSOR_TYPES.FLOAT, float_data: [0.75] },
  ];
  const rnn = {
    name: options.nodeName ?? "rnn",
    op_type: "RNN",
    input: ["X", "W", "R"],
    output: ["Y", "Y_h"],
    attribute: [{ name: "hidden_size", type: ATTRIBUTE_TYPES.INT, i: 1 }, ...(options.attributes ?? [])],
  };
  return encodeModelProto({
    ir_version: 8,
    opset_import: [{ domain: "", version: 14 }],
    graph: {
      name: "g",
      node: [rnn, ...(options.nodes ?? [])],
      initializer: [...weights, ...(options.initializers ?? [])],
      input: [valueInfo("X", ["T", 1, 2])],
      output: [valueInfo("Y", ["T", 1, 1, 1]), valueInfo("Y_h", [1, 1, 1])],
    },
  });
}

test("the committed descriptor is generated from grammar/onnx.proto (run scripts/onnx-descriptor.ts after changing it)", () => {
  const proto = readFileSync(path.join(REPO_ROOT, "grammar/onnx.proto"), "utf8");
  expect(readFileSync(path.join(REPO_ROOT, "src/onnx/onnx-descriptor.ts"), "utf8")).toBe(onnxDescriptorSource(proto));
});

describe("readOnnxModel", () => {
  test("reads raw_data and every typed field (float, double, int32, int64) into numbers", () => {
    const model = readOnnxModel(
      rnnModel({
        initializers: [
          { name: "d", dims: [2], data_type: TENSOR_TYPES.DOUBLE, double_data: [0.1, -2.5] },
          { name: "draw", dims: [1], data_type: TENSOR_TYPES.DOUBLE, raw_data: new Uint8Array(new Float64Array([1 / 3]).buffer) },
          { name: "i64", dims: [2], data_type: TENSOR_TYPES.INT64, int64_data: [7, -3] },
          { name: "i32", dims: [1], data_type: TENSOR_TYPES.INT32, int32_data: [42] },
        ],
      }),
      noExternalData,
    );
    expect(Array.from(model.initializers["W"]!.data)).toEqual([0.5, -0.25]);
    expect(Array.from(model.initializers["R"]!.data)).toEqual([0.75]);
    expect(Array.from(model.initializers["d"]!.data)).toEqual([0.1, -2.5]);
    expect(model.initializers["draw"]!.data[0]).toBe(1 / 3);
    expect(Array.from(model.initializers["i64"]!.data)).toEqual([7, -3]);
    expect(Array.from(model.initializers["i32"]!.data)).toEqual([42]);
    expect(model.inputs).toEqual([{ name: "X", elemType: TENSOR_TYPES.FLOAT, shape: ["T", 1, 2] }]);
    expect(model.nodes[0]).toMatchObject({ name: "rnn", op: "RNN", attributes: { hidden_size: 1 }, inputs: { X: "X", W: "W", R: "R" }, outputs: { Y: "Y", Y_h: "Y_h" } });
  });

  test("reads external data at its offset and length, relative to the model", () => {
    const requests: unknown[] = [];
    const reader: ExternalDataReader = (location, offset, length) => {
      requests.push([location, offset, length]);
      return floatBytes([1.5, 2.5]);
    };
    const external = { name: "E", dims: [2], data_type: TENSOR_TYPES.FLOAT, data_location: 1, external_data: [{ key: "location", value: "w.bin" }, { key: "offset", value: "16" }, { key: "length", value: "8" }] };
    const model = readOnnxModel(rnnModel({ initializers: [external] }), reader);
    expect(Array.from(model.initializers["E"]!.data)).toEqual([1.5, 2.5]);
    expect(requests).toEqual([["w.bin", 16, 8]]);
  });

  test("refuses external data outside the model's folder", () => {
    const escape = { name: "E", dims: [1], data_type: TENSOR_TYPES.FLOAT, data_location: 1, external_data: [{ key: "location", value: "../secret.bin" }] };
    expect(() => readOnnxModel(rnnModel({ initializers: [escape] }), noExternalData)).toThrow(/tensor 'E': external data location '..\/secret.bin' is outside the model's folder/);
  });

  test("refuses any op other than LSTM, GRU and RNN, naming the node and the op", () => {
    const relu = { name: "act", op_type: "Relu", input: ["Y"], output: ["Z"] };
    expect(() => readOnnxModel(rnnModel({ nodes: [relu] }), noExternalData)).toThrow(new OnnxError("node 'act' is a Relu node; lstmc imports only LSTM, GRU and RNN nodes"));
  });

  test("refuses a recurrent node fed by another node", () => {
    const second = { name: "rnn2", op_type: "RNN", input: ["Y", "W", "R"], output: ["Y2"], attribute: [{ name: "hidden_size", type: ATTRIBUTE_TYPES.INT, i: 1 }] };
    expect(() => readOnnxModel(rnnModel({ nodes: [second] }), noExternalData)).toThrow(/node 'rnn2' reads 'Y', which node 'rnn' \(RNN\) computes/);
  });

  test("refuses bytes that are not a ModelProto, and data that does not fill a tensor's shape", () => {
    expect(() => readOnnxModel(new Uint8Array([0xff, 0xff, 0xff, 0x0f]), noExternalData)).toThrow(/not a readable ONNX model/);
    const short = { name: "S", dims: [3], data_type: TENSOR_TYPES.FLOAT, raw_data: floatBytes([1, 2]) };
    expect(() => readOnnxModel(rnnModel({ initializers: [short] }), noExternalData)).toThrow("tensor 'S' has 8 bytes of data, but its shape [3] needs 12");
  });
});

describe("node cells", () => {
  test("a node name cannot inject text into the spec: it is reduced to an identifier", () => {
    const model = readOnnxModel(rnnModel({ nodeName: "x }\ncell evil { output h = exp(1000) #" }), noExternalData);
    const config = nodeConfig(model.nodes[0]!, "g_0");
    expect(config.cells[0]!.specName).toBe("onnx_x_cell_evil_output_h_exp_1000");
    const text = cellSpecText(config.cells[0]!, 2, 1, "model\ncell evil {\u2028.onnx");
    expect(text.match(/^cell /gm)).toHaveLength(1);
    const built = buildCell(parseSpecText(text, "t.lstm", "lstm").value!);
    expect(built.diagnostics).toEqual([]);
  });

  test("refuses an unknown activation, a wrong number of activations and an attribute the op lacks", () => {
    const config = (attributes: object[]) => nodeConfig(readOnnxModel(rnnModel({ attributes }), noExternalData).nodes[0]!, "g_0");
    const strings = (name: string, values: string[]) => ({ name, type: ATTRIBUTE_TYPES.STRINGS, strings: values.map((v) => new TextEncoder().encode(v)) });
    expect(() => config([strings("activations", ["Gelu"])])).toThrow(/activation 'gelu' is not one of/);
    expect(() => config([strings("activations", ["Tanh", "Tanh"])])).toThrow("node 'rnn': RNN with 1 direction(s) needs 1 activations, got 2");
    expect(() => config([{ name: "input_forget", type: ATTRIBUTE_TYPES.INT, i: 1 }])).toThrow("node 'rnn': RNN has no attribute 'input_forget'");
    expect(() => config([{ name: "clip", type: ATTRIBUTE_TYPES.FLOAT, f: -1 }])).toThrow("node 'rnn': clip -1 must be positive");
  });
});

const interpreterRunner: CellRunner = async (text, sizes, sequence) => {
  const ir = buildCell(parseSpecText(text, "t.lstm", "lstm").value!).ir!;
  return forward(ir, bindSizes(ir, sizes), sequence);
};

describe("running a graph", () => {
  test("an RNN node computes ONNX's equation, Y as [T, 1, B, H] and Y_h as [1, B, H]", async () => {
    const model = readOnnxModel(rnnModel(), noExternalData);
    const outputs = await runOnnxModel(model, readFeeds(model, { X: [2, 1, 0, 4] }), interpreterRunner);
    const h1 = Math.tanh(0.5 * 2 - 0.25 * 1);
    const h2 = Math.tanh(0.5 * 0 - 0.25 * 4 + 0.75 * h1);
    expect(outputs["Y"]!.shape).toEqual([2, 1, 1, 1]);
    expect(Array.from(outputs["Y"]!.data)).toEqual([h1, h2]);
    expect(outputs["Y_h"]).toEqual({ shape: [1, 1, 1], data: Float64Array.of(h2) });
  });

  test("weights of the wrong shape are refused naming the tensor and the shape it needs", () => {
    const config = nodeConfig(readOnnxModel(rnnModel(), noExternalData).nodes[0]!, "g_0");
    const tensor = (shape: number[]) => ({ shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) });
    expect(() => cellParams(config.cells[0]!, { W: tensor([1, 1, 2]), R: tensor([1, 2, 1]) }, 0, 1, 1)).toThrow("R has shape [1, 2, 1]; RNN with 1 direction(s) and hidden_size 1 needs [1, 1, 1]");
    expect(() => cellParams(config.cells[0]!, { W: tensor([1, 1, 2]), R: tensor([1, 1, 1]), B: tensor([1, 1]) }, 0, 1, 1)).toThrow("B has shape [1, 1]; RNN with 1 direction(s) and hidden_size 1 needs [1, 2]");
  });
});

describe("feeds", () => {
  const model = readOnnxModel(rnnModel(), noExternalData);

  test("a flat array takes the declared shape, its one symbolic dimension from the count; nested arrays give the same tensor", () => {
    const flat = readFeeds(model, { X: [1, 2, 3, 4, 5, 6] })["X"]!;
    expect(flat.shape).toEqual([3, 1, 2]);
    expect(readFeeds(model, { X: [[[1, 2]], [[3, 4]], [[5, 6]]] })["X"]).toEqual(flat);
  });

  test("unknown, missing, ragged and misshapen feeds are errors naming the feed", () => {
    expect(() => readFeeds(model, { X: [1, 2], Z: [1] })).toThrow("feed 'Z' is not an input of the graph (its inputs: X)");
    expect(() => readFeeds(model, {})).toThrow("the feeds have no 'X', an input of the graph");
    expect(() => readFeeds(model, { X: [1, 2, 3] })).toThrow("feed 'X' has 3 numbers, which do not fill its declared shape [T, 1, 2]");
    expect(() => readFeeds(model, { X: [[[1, 2]], [[3]]] })).toThrow("feed X[1][0] must be an array of 2 (the arrays are ragged)");
    expect(() => readFeeds(model, { X: [[[1, 2, 3]]] })).toThrow("feed 'X' has shape [1, 1, 3], but the graph declares [T, 1, 2]");
  });
});

test("lstmc reports a corrupt .onnx file and an unsupported op as E701 with exit 1, never a stack trace", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "lstmc-onnx-"));
  try {
    const corrupt = path.join(dir, "corrupt.onnx");
    writeFileSync(corrupt, new Uint8Array([0x0a, 0xff, 0xff, 0xff]));
    const other = path.join(dir, "relu.onnx");
    writeFileSync(other, rnnModel({ nodes: [{ name: "act", op_type: "Relu", input: ["Y"], output: ["Z"] }] }));
    const feeds = path.join(dir, "feeds.json");
    writeFileSync(feeds, "{}");
    for (const [file, message] of [
      [corrupt, /lstmc run: error E701: .*corrupt\.onnx: not a readable ONNX model/],
      [other, /lstmc run: error E701: .*relu\.onnx: node 'act' is a Relu node; lstmc imports only LSTM, GRU and RNN nodes/],
    ] as const) {
      const child = spawnSync(process.execPath, [LSTMC, "run", file, "--data", feeds], { encoding: "utf8" });
      expect(child.status).toBe(1);
      expect(child.stderr).toMatch(message);
      expect(child.stderr).not.toMatch(/\n\s+at /);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
