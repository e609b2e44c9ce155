// lstmc/threads splits a call's batch rows over worker threads. Rows never meet, so
// everything per row (outputs, final states, input and initial-state gradients) must
// equal the single-threaded module's bit for bit; only parameter gradients, summed
// over row ranges, may differ by summation order.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { compileJsCell } from "../src/codegen/compile.ts";
import { buildCell } from "../src/ir/build.ts";
import type { CellIR } from "../src/ir/types.ts";
import { parseDsl } from "../src/parse/dsl.ts";
import { createThreadPool, type ThreadPool } from "../src/threads/index.ts";
import { CPU_SCHEDULE } from "../src/codegen/lower.ts";
import { MIN_ROWS_PER_RANGE, splitRows } from "../src/threads/shard.ts";
import type { Tensor, Tensors } from "../src/train/tensors.ts";
import { CLI_BUNDLE_DIR } from "./helpers/cli.ts";
import { loadLibraryCell } from "./helpers/torch-oracle.ts";

interface Module {
  forward(params: Tensors, inputs: Tensors, initial?: Tensors, options?: object): { outputs: Tensors; final: Tensors; saved: unknown };
  backward(params: Tensors, saved: unknown, upstream?: object): { params: Tensors; inputs: Tensors; initial: Tensors };
  initParams(seed: number): Tensors;
}

// Two inputs of different widths (3 and 5): the pool must find each width from the module, not guess one.
const TWO_INPUTS = `cell two_inputs {
  size H = 4
  input x[3]
  input y[5]
  state h[H]
  param W[H, 3] ~ glorot
  param V[H, 5] ~ glorot
  param U[H, H] ~ orthogonal
  h' = tanh(W @ x + V @ y + U @ h)
  output h = h'
}`;

function inlineCell(text: string): CellIR {
  const parsed = parseDsl(text, "two_inputs.lstm");
  return buildCell(parsed.value!).ir!;
}

// Each cell's per-step input widths and state widths, as the specs declare them.
const CELLS: { name: string; ir: () => CellIR; inputs: Record<string, number>; states: Record<string, number> & { h: number } }[] = [
  { name: "lstm", ir: () => loadLibraryCell("specs/lstm.lstm"), inputs: { x: 8 }, states: { h: 16, c: 16 } },
  { name: "gru", ir: () => loadLibraryCell("specs/gru.lstm"), inputs: { x: 8 }, states: { h: 16 } },
  { name: "two_inputs", ir: () => inlineCell(TWO_INPUTS), inputs: { x: 3, y: 5 }, states: { h: 4 } },
];
const PRECISIONS = ["f32", "f64"] as const;
const STEPS = 4;

/** Numbers in [-1, 1) from a seed (a small LCG: the test needs variety, not quality). */
function fill(array: Tensor, seed: number): Tensor {
  let s = seed >>> 0;
  for (let i = 0; i < array.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    array[i] = s / 2 ** 31 - 1;
  }
  return array;
}

/** One tensor per name with `count · width` numbers, filled from the seed. */
function random(widths: Readonly<Record<string, number>>, count: number, precision: "f32" | "f64", seed: number): Tensors {
  const ctor = precision === "f32" ? Float32Array : Float64Array;
  return Object.fromEntries(Object.entries(widths).map(([name, width], k) => [name, fill(new ctor(count * width), seed + 17 * k)]));
}

function maxRelativeError(got: Tensor, want: Tensor): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / scale;
}

let dir = "";
const modules = new Map<string, { url: string; module: Module }>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lstmc-threads-"));
  for (const cell of CELLS)
    for (const precision of PRECISIONS) {
      const { js } = await compileJsCell(cell.ir(), { precision });
      const file = join(dir, `${cell.name}-${precision}.mjs`);
      writeFileSync(file, js.text);
      const url = pathToFileURL(file).href;
      modules.set(`${cell.name} ${precision}`, { url, module: (await import(url)) as Module });
    }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("splitRows", () => {
  test("even contiguous ranges, the first ones a row longer", () => {
    expect(splitRows(9, 2)).toEqual([{ start: 0, end: 5 }, { start: 5, end: 9 }]);
    expect(splitRows(13, 3)).toEqual([{ start: 0, end: 5 }, { start: 5, end: 9 }, { start: 9, end: 13 }]);
    expect(splitRows(12, 3)).toEqual([{ start: 0, end: 4 }, { start: 4, end: 8 }, { start: 8, end: 12 }]);
  });
  test("no range under 4 rows, so a batch under 8 is not split", () => {
    expect(splitRows(7, 2)).toEqual([{ start: 0, end: 7 }]);
    expect(splitRows(9, 3)).toEqual([{ start: 0, end: 5 }, { start: 5, end: 9 }]);
    expect(splitRows(1, 4)).toEqual([{ start: 0, end: 1 }]);
  });
  // A range under the schedule's one-row threshold would run its products one row at a time: other sums.
  test("the fewest rows per range is the CPU schedule's threshold for one-row products", () => {
    expect(MIN_ROWS_PER_RANGE).toBe(CPU_SCHEDULE.rowProductsBelowBatch);
  });
});

// Rows ending at the first step, in the middle and at the last, beside full ones.
const lengthsOf = (batch: number) => Array.from({ length: batch }, (_, b) => 1 + ((3 * b) % STEPS));

describe.each(CELLS.flatMap((c) => PRECISIONS.map((p) => [c, p] as const)))("%s %s over threads", (cell, precision) => {
  describe.each([1, 2, 3])("%i threads", (threads) => {
    let pool: ThreadPool;
    beforeAll(async () => {
      pool = await createThreadPool(modules.get(`${cell.name} ${precision}`)!.url, { threads });
    });
    afterAll(() => pool.close());

    // With replay, each shard keeps only its inputs and initial states and backward runs its steps again: the same numbers.
    test.each([
      [1, false, false],
      [9, false, false],
      [13, false, false],
      [9, true, false],
      [13, true, false],
      [9, true, true],
    ])("batch %i (lengths: %s, replay: %s): rows exactly as one thread, parameter gradients within 1e-6", async (batch, withLengths, replay) => {
      const { module } = modules.get(`${cell.name} ${precision}`)!;
      const params = module.initParams(7);
      const inputs = random(cell.inputs, STEPS * batch, precision, 1);
      const initial = random(cell.states, batch, precision, 2);
      const options = { batch, ...(withLengths ? { lengths: lengthsOf(batch) } : {}) };
      const upstream = { outputs: random({ h: cell.states.h }, STEPS * batch, precision, 3), final: random(cell.states, batch, precision, 4) };
      const want = module.forward(params, inputs, initial, options);
      const wantGrads = module.backward(params, want.saved, upstream);
      const got = await pool.forward(params, inputs, initial, replay ? { ...options, replay } : options);
      const gotGrads = await pool.backward(params, got.saved, upstream);
      expect(got.saved.ranges).toEqual(splitRows(batch, threads));
      expect(got.outputs).toEqual(want.outputs);
      expect(got.final).toEqual(want.final);
      expect(gotGrads.inputs).toEqual(wantGrads.inputs);
      expect(gotGrads.initial).toEqual(wantGrads.initial);
      expect(Object.keys(gotGrads.params)).toEqual(Object.keys(wantGrads.params));
      for (const [name, values] of Object.entries(wantGrads.params)) {
        expect(gotGrads.params[name]!.constructor).toBe(values.constructor);
        expect(maxRelativeError(gotGrads.params[name]!, values), name).toBeLessThanOrEqual(1e-6);
      }
    });
  });
});

describe("a pool's errors", () => {
  const key = "lstm f32";
  const batch = 9;
  const call = () => {
    const { module } = modules.get(key)!;
    return { module, params: module.initParams(1), inputs: random({ x: 8 }, STEPS * batch, "f32", 1), options: { batch } };
  };
  const moduleMessage = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("the module accepted the call");
  };

  test("an input of the wrong size rejects with the module's own message", async () => {
    const { module, params, options } = call();
    const inputs = { x: new Float32Array(STEPS * batch * 8 + 1) };
    const pool = await createThreadPool(modules.get(key)!.url, { threads: 2 });
    try {
      await expect(pool.forward(params, inputs, {}, options)).rejects.toThrow(moduleMessage(() => module.forward(params, inputs, {}, options)));
    } finally {
      await pool.close();
    }
  });

  // Whole rows of the wrong width pass the split and fail in the workers; the message is the whole call's, not a range's.
  test("an initial state of the wrong width rejects with the module's message for the whole batch", async () => {
    const { module, params, inputs, options } = call();
    const initial = { h: new Float32Array(batch * 15) };
    const pool = await createThreadPool(modules.get(key)!.url, { threads: 2 });
    try {
      const message = moduleMessage(() => module.forward(params, inputs, initial, options));
      expect(message).toContain(`${batch * 15} numbers`);
      await expect(pool.forward(params, inputs, initial, options)).rejects.toThrow(message);
    } finally {
      await pool.close();
    }
  });

  test("a saved handle is taken by backward once", async () => {
    const { params, inputs, options } = call();
    const pool = await createThreadPool(modules.get(key)!.url, { threads: 2 });
    try {
      const { saved } = await pool.forward(params, inputs, {}, options);
      await pool.backward(params, saved);
      await expect(pool.backward(params, saved)).rejects.toThrow("lstmc/threads: saved must be the saved object this pool's forward() returned, not yet given to backward()");
    } finally {
      await pool.close();
    }
  });

  test("backward with wrong parameters rejects with the module's message and keeps the saved values for another try", async () => {
    const { module, params, inputs, options } = call();
    const pool = await createThreadPool(modules.get(key)!.url, { threads: 2 });
    try {
      const wrong = { ...params, b_i: new Float32Array(3) };
      const want = module.forward(params, inputs, {}, options);
      const message = moduleMessage(() => module.backward(wrong, want.saved));
      const { saved } = await pool.forward(params, inputs, {}, options);
      await expect(pool.backward(wrong, saved)).rejects.toThrow(message);
      expect((await pool.backward(params, saved)).inputs).toEqual(module.backward(params, want.saved).inputs);
    } finally {
      await pool.close();
    }
  });

  test("a closed pool refuses calls", async () => {
    const { params, inputs, options } = call();
    const pool = await createThreadPool(modules.get(key)!.url, { threads: 2 });
    const { saved } = await pool.forward(params, inputs, {}, options);
    await pool.close();
    await expect(pool.forward(params, inputs, {}, options)).rejects.toThrow("lstmc/threads: the pool is closed");
    await expect(pool.backward(params, saved)).rejects.toThrow("lstmc/threads: the pool is closed");
  });

  test("a module the workers cannot import rejects the pool", async () => {
    await expect(createThreadPool(pathToFileURL(join(dir, "missing.mjs")).href, { threads: 1 })).rejects.toThrow(/missing\.mjs/);
  });
});

// A worker runs threadMain's text: the published bundle (built by the global setup as `npm run build` builds
// dist/) must give it text that runs on its own.
test("the bundled lstmc/threads splits rows like the sources", async () => {
  const bundled = (await import(pathToFileURL(join(CLI_BUNDLE_DIR, "threads", "index.js")).href)) as { createThreadPool: typeof createThreadPool };
  const { url, module } = modules.get("gru f64")!;
  const params = module.initParams(3);
  const inputs = random({ x: 8 }, STEPS * 8, "f64", 5);
  const pool = await bundled.createThreadPool(url, { threads: 2 });
  try {
    const got = await pool.forward(params, inputs, {}, { batch: 8 });
    expect(got.saved.ranges).toHaveLength(2);
    expect(got.outputs).toEqual(module.forward(params, inputs, {}, { batch: 8 }).outputs);
  } finally {
    await pool.close();
  }
});
