// A small seeded generator, so that training runs (data order, sampled
// batches) repeat exactly for a seed. Math.random cannot be seeded.
import { _makeRandom } from "../runtime/init.ts";

/** Returns uniform numbers in [0, 1) from a 32-bit seed: the project's one PRNG (mulberry32, src/runtime/init.ts). */
export function seededRandom(seed: number): () => number {
  return _makeRandom(seed);
}

/** A whole number in [0, n). */
export function randomInt(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

/** A shuffled copy (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
