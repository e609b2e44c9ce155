// The essay's long-term dependency ("I grew up in France… I speak fluent
// *French*") as a task: a sequence opens with one of TARGETS symbols, then
// `gap` distractor symbols drawn at random, then a query symbol; at the query
// the network must name the opening symbol. Chance is 1/TARGETS.
import { oneHotTimeMajor } from "../../src/train/batch.ts";
import { randomInt } from "../../src/train/random.ts";
import type { ReadoutBatch } from "../../src/train/readout-model.ts";

export const TARGETS = 4;
export const DISTRACTORS = 4;
/** Symbols: targets 0–3, distractors 4–7, the query 8. */
export const QUERY = TARGETS + DISTRACTORS;
export const VOCAB = QUERY + 1;

/** `size` sequences of gap + 2 symbols, one-hot in rows of `width` (≥ VOCAB: a cell's input may be wider). */
export function longGapBatch(random: () => number, gap: number, size: number, width: number): ReadoutBatch {
  const sequences = Array.from({ length: size }, () => [randomInt(random, TARGETS), ...Array.from({ length: gap }, () => TARGETS + randomInt(random, DISTRACTORS)), QUERY]);
  const packed = oneHotTimeMajor(sequences, VOCAB, width);
  return { inputs: packed.data, steps: packed.steps, batch: size, targets: Int32Array.from(sequences, (s) => s[0]!) };
}
