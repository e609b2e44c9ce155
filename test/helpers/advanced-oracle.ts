// The advanced PyTorch reference files (test/fixtures/oracles/advanced) in
// `lstmc run`'s terms. Per-layer or per-direction tensors carry a prefix
// (`fwd_W_i`, `L2_U_o`) that becomes the model contract's `<layer>.<name>`,
// and states stacked on a leading [layers, B, H] axis are split by layer.
import { readFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./torch-oracle.ts";
import type { RunResponse } from "../../src/run/contract.ts";

export const ADVANCED_ORACLE_DIR = path.join(REPO_ROOT, "test/fixtures/oracles/advanced");

interface OracleTensor {
  readonly shape: readonly number[];
  readonly data: readonly number[];
}

export interface AdvancedOracleFile {
  readonly sizes: { readonly input_size: number; readonly hidden_size: number; readonly batch: number; readonly seq_len: number };
  readonly params: Readonly<Record<string, OracleTensor>>;
  readonly inputs: { readonly x: OracleTensor };
  readonly constants?: { readonly lengths?: OracleTensor };
  readonly initial_state: { readonly h0: OracleTensor; readonly c0: OracleTensor };
  readonly loss_weights: Readonly<Record<string, OracleTensor>>;
  readonly outputs: { readonly h_seq: OracleTensor; readonly h_T: OracleTensor; readonly c_T: OracleTensor };
  readonly grads: { readonly params: Readonly<Record<string, OracleTensor>>; readonly x: OracleTensor; readonly h0: OracleTensor; readonly c0: OracleTensor };
}

export function readAdvancedOracle(name: string): AdvancedOracleFile {
  return JSON.parse(readFileSync(path.join(ADVANCED_ORACLE_DIR, `${name}.json`), "utf8")) as AdvancedOracleFile;
}

/**
 * `layers` names the prefixes of a model's layers in the order of the stacked
 * state axis (["fwd", "bwd"]); [] for a single cell, whose names carry none.
 */
export function advancedOracleCase(oracle: AdvancedOracleFile, layers: readonly string[]) {
  const flat = (t: OracleTensor) => [...t.data];
  const key = (name: string) => {
    const layer = layers.find((l) => name.startsWith(`${l}_`));
    return layer === undefined ? name : `${layer}.${name.slice(layer.length + 1)}`;
  };
  const renamed = (tensors: Readonly<Record<string, OracleTensor>>) => Object.fromEntries(Object.entries(tensors).map(([k, v]) => [key(k), flat(v)]));
  /** { h, c } of one cell, or { "L1.h", …, "L2.c" } split from the stacked leading axis. */
  const states = (tensors: Record<"h" | "c", OracleTensor | undefined>) => {
    const out: Record<string, number[]> = {};
    for (const [state, tensor] of Object.entries(tensors)) {
      if (tensor === undefined) continue;
      if (layers.length === 0) out[state] = flat(tensor);
      const size = tensor.data.length / Math.max(layers.length, 1);
      layers.forEach((layer, i) => (out[`${layer}.${state}`] = flat(tensor).slice(i * size, (i + 1) * size)));
    }
    return out;
  };
  const { sizes, loss_weights: w } = oracle;
  const data = {
    dims: { I: oracle.sizes.input_size, H: sizes.hidden_size },
    batch: sizes.batch,
    steps: sizes.seq_len,
    params: renamed(oracle.params),
    inputs: { x: flat(oracle.inputs.x) },
    initial: states({ h: oracle.initial_state.h0, c: oracle.initial_state.c0 }),
    ...(oracle.constants?.lengths && { lengths: flat(oracle.constants.lengths) }),
    upstream: { outputs: { h: flat(w.Wy!) }, final: states({ h: w.Wh_T, c: w.Wc }) },
  };
  const expected: Required<RunResponse> = {
    outputs: { h: flat(oracle.outputs.h_seq) },
    final: states({ h: oracle.outputs.h_T, c: oracle.outputs.c_T }),
    grads: {
      params: renamed(oracle.grads.params),
      inputs: { x: flat(oracle.grads.x) },
      initial: states({ h: oracle.grads.h0, c: oracle.grads.c0 }),
    },
  };
  return { data, expected };
}
