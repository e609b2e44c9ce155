// The essay as a character corpus: vocabulary, encoding, the 90/10 split, and
// the unigram baseline's bits per character.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Corpus {
  /** Every distinct character of the whole text, sorted (the validation text's included, as usual for char-LMs). */
  readonly vocab: readonly string[];
  readonly train: Int32Array;
  readonly validation: Int32Array;
}

export const ESSAY = join(import.meta.dirname, "data", "understanding-lstm-networks.txt");

export function loadCorpus(file = ESSAY, validationShare = 0.1): Corpus {
  const chars = Array.from(readFileSync(file, "utf8"));
  const vocab = [...new Set(chars)].sort();
  const index = new Map(vocab.map((c, i) => [c, i]));
  const codes = Int32Array.from(chars, (c) => index.get(c)!);
  const split = Math.round(codes.length * (1 - validationShare));
  return { vocab, train: codes.subarray(0, split), validation: codes.subarray(split) };
}

/** Bits per character of `text` under the training text's character frequencies, add-one smoothed over the vocabulary. */
export function unigramBitsPerChar(train: Int32Array, text: Int32Array, vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1);
  for (const c of train) counts[c]! += 1;
  const total = train.length + vocabSize;
  let bits = 0;
  for (const c of text) bits -= Math.log2(counts[c]! / total);
  return bits / text.length;
}
