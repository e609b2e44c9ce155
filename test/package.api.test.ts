// The programmatic API (`import { parse, check, compile, run } from "lstmc"`):
// results and diagnostics come back as data, with file, line and column, and
// nothing is printed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { check, compile, parse, run } from "../src/index.ts";

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

describe("the programmatic API", () => {
  const printed: string[] = [];
  beforeEach(() => {
    printed.length = 0;
    for (const stream of [process.stdout, process.stderr]) vi.spyOn(stream, "write").mockImplementation((chunk) => (printed.push(String(chunk)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    expect(printed).toEqual([]);
  });

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
