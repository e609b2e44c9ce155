// The interpreter's backward pass agrees with central finite differences for
// every spec in specs/, at several sizes including H=1, T=1 and B=1.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDsl } from "../src/parse/dsl.ts";
import { buildCell } from "../src/ir/build.ts";
import { bindSizes, freeSizes } from "../src/ir/bind.ts";
import { gradcheck } from "../src/run/gradcheck.ts";
import { randomRequest } from "../src/run/random-data.ts";
import { isModelFile } from "../src/parse/load-model.ts";

const SPECS = join(import.meta.dirname, "..", "specs");
// Cells only: the library's models are gradchecked through every layer in test/models.gradcheck.test.ts.
const specFiles = readdirSync(SPECS).filter((f) => f.endsWith(".lstm") && !isModelFile(join(SPECS, f)));

const SETTINGS = [
  { dims: { I: 1, H: 1 }, steps: 1, batch: 1 },
  { dims: { I: 3, H: 1 }, steps: 4, batch: 2 },
  { dims: { I: 2, H: 4 }, steps: 3, batch: 1 },
  { dims: { I: 5, H: 3 }, steps: 1, batch: 3 },
];

const TOLERANCE = 1e-6;

/** A setting's sizes in the terms of a spec whose free sizes are not I and H. */
const SIZES_OF: Readonly<Record<string, (d: { I: number; H: number }) => Record<string, number>>> = {
  // H = G * K: G modules of K units.
  "clockwork_rnn.lstm": ({ I, H }) => ({ I, G: H, K: H === 1 ? 1 : 2 }),
  // Annotations of size I, as many as H, scored in H dimensions: every size down to 1 with the settings.
  "attention_lstm.lstm": ({ I, H }) => ({ I, H, A: I, L: H, K: H }),
};

describe.each(specFiles)("gradcheck %s", (file) => {
  const ir = buildCell(parseDsl(readFileSync(join(SPECS, file), "utf8"), file).value!).ir!;
  it.each(SETTINGS)("I=$dims.I H=$dims.H T=$steps B=$batch: every tensor within 1e-6", ({ dims, steps, batch }) => {
    // Sizes a spec defines (the constraint I = H of MUT1 and MUT2) follow from the others.
    const sizes = bindSizes(ir, freeSizes(ir, SIZES_OF[file]?.(dims) ?? dims));
    const request = randomRequest(ir, { sizes, steps, batch, seed: 7, uniformParams: true });
    const checks = gradcheck(ir, request);
    expect(checks.map((c) => c.tensor)).toEqual([
      ...ir.params.map((p) => `params.${p.name}`),
      ...ir.inputs.map((i) => `inputs.${i.name}`),
      ...ir.states.map((s) => `initial.${s.name}`),
    ]);
    for (const c of checks) expect(c.worstRelativeError, c.tensor).toBeLessThan(TOLERANCE);
  });
});

describe("gradcheck catches a wrong derivative", () => {
  it("flags every tensor upstream of a cell whose backward is deliberately broken", async () => {
    // Swap tanh's derivative for the wrong one and check gradcheck notices:
    // a gradcheck that cannot fail would prove nothing.
    const { FUNCTIONS } = await import("../src/interp/functions.ts");
    const original = FUNCTIONS.tanh.derivative;
    FUNCTIONS.tanh.derivative = (x: number) => 1 - Math.tanh(x);
    try {
      const ir = buildCell(parseDsl(readFileSync(join(SPECS, "rnn.lstm"), "utf8"), "rnn.lstm").value!).ir!;
      const request = randomRequest(ir, { sizes: bindSizes(ir, { I: 2, H: 3 }), steps: 2, batch: 1, seed: 3, uniformParams: true });
      const worst = Math.max(...gradcheck(ir, request).map((c) => c.worstRelativeError));
      expect(worst).toBeGreaterThan(1e-3);
    } finally {
      FUNCTIONS.tanh.derivative = original;
    }
  });
});
