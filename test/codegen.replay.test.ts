// Replay: at batch 1 (or when options.replay says so) forward() keeps only its
// inputs and initial states, and backward() runs the steps again from them.
// Forward gets faster and its saved object smaller; the gradients must be the
// very bits a forward that kept everything gives, for every library spec, with
// and without lengths, however other calls interleave.
import { describe, expect, it } from "vitest";
import { bindSizes, freeSizes } from "../src/ir/bind.ts";
import type { CellIR } from "../src/ir/types.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { loadGeneratedModule, type GeneratedModule } from "../src/run/ts-engine.ts";
import { loadSpec, specFiles } from "../scripts/generate.ts";

type Tensors = Record<string, ArrayLike<number>>;
type Options = { batch: number; lengths?: readonly number[]; replay?: boolean };
interface Saved {
  readonly hist: Tensors;
  readonly tape: readonly unknown[];
}

/** Names of the elements that differ in bits, through nested records. */
function bitDifferences(got: unknown, want: unknown, path = ""): string[] {
  if (ArrayBuffer.isView(want)) {
    const w = want as unknown as ArrayLike<number>;
    const g = got as ArrayLike<number> | undefined;
    if (!g || g.length !== w.length) return [`${path}: length`];
    for (let i = 0; i < w.length; i++) if (!Object.is(g[i], w[i])) return [`${path}[${i}]: ${g[i]} vs ${w[i]}`];
    return [];
  }
  return Object.entries(want as Record<string, unknown>).flatMap(([k, v]) => bitDifferences((got as Record<string, unknown>)[k], v, `${path}.${k}`));
}

function problem(ir: CellIR, batch: number, steps: number, seed: number) {
  const sizes = bindSizes(ir, freeSizes(ir, { I: 5, H: 6 }));
  const request = randomRequest(ir, { sizes, batch, steps, seed, uniformParams: true });
  return { sizes, ...request.sequence, upstream: request.upstream };
}

/** forward then backward, with another forward in between when `interleave` is given. */
function gradients(m: GeneratedModule, p: ReturnType<typeof problem>, options: Options, interleave?: Tensors) {
  const forward = m.forward(p.params, p.inputs, p.initial, options as never);
  if (interleave) m.forward(p.params, interleave as never, p.initial, options as never);
  const grads = m.backward(p.params, forward.saved, p.upstream);
  return { outputs: forward.outputs, final: forward.final, grads, saved: forward.saved as Saved };
}

const scaled = (inputs: Tensors): Tensors => Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, Float64Array.from(v, (x) => 0.5 - x)]));

describe.each(specFiles())("replay in the module of %s", (file) => {
  const ir = loadSpec(file);
  for (const precision of ["f32", "f64"] as const) {
    it(`gives backward the bits of a forward that kept everything, at batch 1 (${precision}), with and without lengths`, async () => {
      const p = problem(ir, 1, 5, 7);
      const m = await loadGeneratedModule(ir, p.sizes, precision);
      const kept = gradients(m, p, { batch: 1, replay: false });
      for (const lengths of [undefined, [3]]) {
        const options: Options = lengths ? { batch: 1, lengths } : { batch: 1 };
        const replayed = gradients(m, p, options, scaled(p.inputs));
        const reference = lengths ? gradients(m, p, { ...options, replay: false }) : kept;
        expect(bitDifferences(replayed, { outputs: reference.outputs, final: reference.final, grads: reference.grads })).toEqual([]);
        // What it kept: no tapes, and each state's initial value only.
        expect(replayed.saved.tape).toEqual([]);
        for (const [name, value] of Object.entries(replayed.saved.hist)) expect(value.length, name).toBe(p.initial[name]!.length);
      }
    });
  }
});

describe("options.replay", () => {
  const ir = loadSpec("specs/lstm.lstm");

  it("replays at any batch when asked, with the same bits, and keeps everything at batch 1 when told not to", async () => {
    const p = problem(ir, 3, 4, 5);
    const m = await loadGeneratedModule(ir, p.sizes, "f32");
    const kept = gradients(m, p, { batch: 3 });
    const replayed = gradients(m, p, { batch: 3, replay: true }, scaled(p.inputs));
    expect(kept.saved.tape.length).toBeGreaterThan(0);
    expect(replayed.saved.tape).toEqual([]);
    expect(bitDifferences(replayed, { outputs: kept.outputs, final: kept.final, grads: kept.grads })).toEqual([]);
    const one = problem(ir, 1, 4, 5);
    expect(gradients(m, one, { batch: 1, replay: false }).saved.tape.length).toBeGreaterThan(0);
  });

  it("replays with the parameters backward is given", async () => {
    const p = problem(ir, 1, 4, 5);
    const q = problem(ir, 1, 4, 6);
    const m = await loadGeneratedModule(ir, p.sizes, "f64");
    const forward = m.forward(p.params, p.inputs, p.initial, { batch: 1 });
    const mixed = m.backward(q.params, forward.saved, p.upstream);
    const atQ = gradients(m, { ...p, params: q.params }, { batch: 1, replay: false });
    expect(bitDifferences(mixed, atQ.grads)).toEqual([]);
  });

  it("must be true or false", async () => {
    const p = problem(ir, 1, 2, 5);
    const m = await loadGeneratedModule(ir, p.sizes, "f32");
    expect(() => m.forward(p.params, p.inputs, p.initial, { batch: 1, replay: "yes" } as never)).toThrow("options.replay must be true or false, not yes");
  });
});
