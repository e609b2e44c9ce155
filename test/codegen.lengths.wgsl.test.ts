// Variable-length batches in generated WebGPU modules (issue 9 §2): a cell's
// `forward(..., { lengths })` with pack_padded_sequence semantics and the
// backward that follows it, on both kernel paths (one dispatch for the whole
// sequence, one per phase per step), against the interpreter (the reference)
// and PyTorch's packed sequences (lstm_seq_lens_*), within 1e-4 relative.
// Needs a WebGPU adapter (Dawn on lavapipe on a CPU-only machine): without one
// the tests are skipped, unless CI is set, where they fail.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { KernelPath } from "../src/codegen/wgsl/kernels.ts";
import { forwardBackward, type ForwardResult, type Gradients } from "../src/interp/interpret.ts";
import { bindSizes } from "../src/ir/bind.ts";
import { buildCell } from "../src/ir/build.ts";
import type { CellIR } from "../src/ir/types.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { readRunRequest, writeRunResponse, type RunRequest, type RunResponse } from "../src/run/contract.ts";
import { webgpuEngine } from "../src/run/engines.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadWebGpuModule } from "../src/run/wgsl-engine.ts";
import { advancedOracleCase, readAdvancedOracle } from "./helpers/advanced-oracle.ts";
import { compareRunResponse, loadLibraryCell, REPO_ROOT } from "./helpers/torch-oracle.ts";
import { LSTMC } from "./helpers/cli.ts";
import { withGpu } from "./helpers/webgpu.ts";
import { LENGTHS_REFUSALS } from "./helpers/lengths.ts";

const TOLERANCE = 1e-4;
const STEPS = 5;
// Rows ending at the first step, in the middle and at the last, beside each other; one row alone, short and full.
const LENGTHS = [[1, 4, 2, 5], [3], [STEPS]];

// A cell whose output is not its state: what backward receives for it must stop at each row's end, too.
const READOUT = `
cell readout {
  size I = 2, H = 3
  input x[I]
  state h[H]
  param W[H, I] ~ glorot
  param U[H, H] ~ orthogonal
  param V[H, H] ~ glorot
  h' = tanh(W @ x + U @ h)
  output y = sigmoid(V @ h') * h
}`;

function readoutCell(): CellIR {
  const ir = buildCell(parseDsl(READOUT, "readout.lstm").value!).ir;
  if (!ir) throw new Error("the readout cell does not build");
  return ir;
}

const CELLS: readonly [string, () => CellIR][] = [
  ["lstm", () => loadLibraryCell("specs/lstm.lstm")],
  ["gru", () => loadLibraryCell("specs/gru.lstm")],
  // Reads the step index t: each backward run's layout must start at its own first step.
  ["clockwork_rnn", () => loadLibraryCell("specs/clockwork_rnn.lstm")],
  ["readout (output y, not a state)", readoutCell],
  // A static input: one row per batch row, never zeroed past an end; its gradient stops at each row's end.
  ["attention_lstm (a static input)", () => loadLibraryCell("specs/attention_lstm.lstm")],
];

const f64 = (tensors: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, Float64Array.from(v)]));

/** A request run on the cell's WebGPU module compiled for one kernel path, forward and backward. */
async function runOnPath(ir: CellIR, request: RunRequest, path: KernelPath, device: GPUDevice): Promise<RunResponse> {
  const cell = (await loadWebGpuModule(ir, request.sizes, { path })).createCell(device);
  try {
    const { params, inputs, initial, batch, lengths } = request.sequence;
    const result = await cell.forward(params, inputs, initial, { batch, ...(lengths && { lengths }) });
    const grads = await cell.backward(params, result.saved, request.upstream);
    return writeRunResponse({ outputs: f64(result.outputs), final: f64(result.final) } as ForwardResult, { params: f64(grads.params), inputs: f64(grads.inputs), initial: f64(grads.initial) } as Gradients);
  } finally {
    cell.destroy();
  }
}

await withGpu((gpu) => {
  describe.each(["sequence", "step"] as const)("WebGPU cells with lengths on the %s path agree with the interpreter", (path) => {
    test.each(CELLS)(`%s: outputs, final states and every gradient within 1e-4 relative, lengths ${LENGTHS.map((l) => `[${l}]`).join(", ")}`, async (_name, cell) => {
      const ir = cell();
      const sizes = bindSizes(ir, {});
      for (const lengths of LENGTHS) {
        const request = randomRequest(ir, { sizes, batch: lengths.length, steps: STEPS, seed: 3, uniformParams: true });
        const withLengths = { ...request, sequence: { ...request.sequence, lengths } };
        const want = forwardBackward(ir, sizes, withLengths.sequence, withLengths.upstream);
        const got = await runOnPath(ir, withLengths, path, gpu.device);
        const { failures, worstByField } = compareRunResponse(got, writeRunResponse(want, want.grads), TOLERANCE, "relative");
        expect(failures, `lengths [${lengths}]`).toEqual([]);
        expect(Object.keys(worstByField)).toContain(`grads.initial.${ir.states[0]!.name}`);
      }
    });
  });

  describe("the wgsl engine with lengths matches PyTorch's packed sequences", () => {
    test("the reference data has rows that end early", () => {
      const short = [1, 2].map((seed) => advancedOracleCase(readAdvancedOracle(`lstm_seq_lens_${seed}`), []).data).map((d) => d.lengths!.some((l: number) => l < d.steps));
      expect(short).toEqual([true, true]);
    });
    test.each([0, 1, 2])("lstm_seq_lens_%i through specs/lstm.lstm within 1e-4 relative", async (seed) => {
      const { data, expected } = advancedOracleCase(readAdvancedOracle(`lstm_seq_lens_${seed}`), []);
      const ir = loadLibraryCell("specs/lstm.lstm");
      const request = readRunRequest(ir, data);
      expect(request.sequence.lengths).toBeDefined();
      const result = await webgpuEngine.run(ir, request, true);
      expect(compareRunResponse(writeRunResponse(result, result.grads), expected, TOLERANCE, "relative").failures).toEqual([]);
    });
  });

  test("lstmc run --engine wgsl --grad on lstm_seq_lens_1 answers as PyTorch does, within 1e-4 relative", () => {
    const { data, expected } = advancedOracleCase(readAdvancedOracle("lstm_seq_lens_1"), []);
    const dir = mkdtempSync(join(tmpdir(), "lstmc-lengths-wgsl-"));
    try {
      const dataFile = join(dir, "data.json");
      writeFileSync(dataFile, JSON.stringify(data));
      const child = spawnSync(process.execPath, [LSTMC, "run", "specs/lstm.lstm", "--data", dataFile, "--grad", "--engine", "wgsl"], { cwd: REPO_ROOT, encoding: "utf8" });
      expect(child.status, child.stderr).toBe(0);
      expect(compareRunResponse(JSON.parse(child.stdout) as RunResponse, expected, TOLERANCE, "relative").failures).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("a WebGPU cell checks lengths as the TypeScript module does", () => {
    const ir = loadLibraryCell("specs/lstm.lstm");
    const sizes = bindSizes(ir, { I: 2, H: 3 });
    const { params, inputs } = randomRequest(ir, { sizes, batch: 3, steps: 4, seed: 1 }).sequence;
    test.each(LENGTHS_REFUSALS)("lengths = %j is refused", async (lengths, message) => {
      const cell = (await loadWebGpuModule(ir, sizes)).createCell(gpu.device);
      try {
        await expect(cell.forward(params, inputs, {}, { batch: 3, lengths: lengths as never })).rejects.toThrow(message);
      } finally {
        cell.destroy();
      }
    });

    test("full lengths give exactly the results of no lengths", async () => {
      const cell = (await loadWebGpuModule(ir, sizes)).createCell(gpu.device);
      try {
        const plain = await cell.forward(params, inputs, {}, { batch: 3 });
        const plainGrads = await cell.backward(params, plain.saved);
        const full = await cell.forward(params, inputs, {}, { batch: 3, lengths: [4, 4, 4] });
        expect(full.outputs).toEqual(plain.outputs);
        expect(full.final).toEqual(plain.final);
        expect(await cell.backward(params, full.saved)).toEqual(plainGrads);
      } finally {
        cell.destroy();
      }
    });

    test("a forward without lengths after one with them runs every row for every step", async () => {
      const cell = (await loadWebGpuModule(ir, sizes)).createCell(gpu.device);
      try {
        const plain = await cell.forward(params, inputs, {}, { batch: 3 });
        const plainGrads = await cell.backward(params, plain.saved);
        const short = await cell.forward(params, inputs, {}, { batch: 3, lengths: [1, 2, 3] });
        await cell.backward(params, short.saved);
        const again = await cell.forward(params, inputs, {}, { batch: 3 });
        expect(again.final).toEqual(plain.final);
        expect(await cell.backward(params, again.saved)).toEqual(plainGrads);
      } finally {
        cell.destroy();
      }
    });
  });
});
