// Chrono initialisation (Tallec & Ollivier 2018, "Can recurrent neural networks
// warp time?"): the gate that keeps the state starts with a bias of
// log(u), u ~ U[1, maxLag − 1], so units start with memory time scales spread
// up to the longest lag, instead of σ(1) = 0.73 per step (0.73^100 ≈ 2e-14:
// no gradient reaches the first symbol at gap 100). The input gate gets the
// opposite bias. This changes only the initial values, never the task.
import { seededRandom } from "../../src/train/random.ts";
import type { Tensors } from "../../src/train/tensors.ts";
import type { InitOverride } from "./train-one.ts";

/** For each cell: the bias of the gate that keeps the state, its sign (−1 where the gate weighs the new value), and an input-gate bias set to the opposite. */
const RETENTION: Readonly<Record<string, { readonly keep: string; readonly sign: 1 | -1; readonly input?: string }>> = {
  lstm: { keep: "cell.b_f", sign: 1, input: "cell.b_i" },
  peephole: { keep: "cell.b_f", sign: 1, input: "cell.b_i" },
  cifg: { keep: "cell.b_f", sign: 1 },
  // The essay's GRU: h' = (1 − z)·h + z·h̃, so keeping means z → 0.
  gru: { keep: "cell.b_z", sign: -1 },
  // MUT1: h' = … ⊙ z + h ⊙ (1 − z), likewise.
  mut1: { keep: "cell.b_z", sign: -1 },
};

export function hasRetentionGate(cell: string): boolean {
  return cell in RETENTION;
}

export function chronoInit(cell: string, maxLag: number): InitOverride {
  const gate = RETENTION[cell];
  if (gate === undefined) throw new Error(`chrono init: cell '${cell}' has no gate that keeps its state`);
  return (params: Tensors, seed: number) => {
    const random = seededRandom((seed ^ 0xc4c0) >>> 0);
    const keep = params[gate.keep]!;
    for (let k = 0; k < keep.length; k++) keep[k] = gate.sign * Math.log(1 + random() * (maxLag - 2));
    if (gate.input !== undefined) {
      const input = params[gate.input]!;
      for (let k = 0; k < input.length; k++) input[k] = -gate.sign * keep[k]!;
    }
  };
}
