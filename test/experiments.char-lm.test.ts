// The char-LM experiment's pieces on a tiny size: the unigram baseline by
// hand, the split, and a 2-layer LSTM that trains, validates and samples.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileCells } from "../experiments/shared/compile-cell.ts";
import { loadCorpus, unigramBitsPerChar } from "../experiments/char-lm/corpus.ts";
import { sampleText, trainLm } from "../experiments/char-lm/lm.ts";

const dir = mkdtempSync(join(tmpdir(), "lstmc-char-lm-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("char-LM corpus", () => {
  it("splits off the last 10% for validation over one sorted vocabulary", () => {
    const file = join(dir, "text.txt");
    writeFileSync(file, "abcabcabca");
    const corpus = loadCorpus(file);
    expect(corpus.vocab).toEqual(["a", "b", "c"]);
    expect(Array.from(corpus.train)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(Array.from(corpus.validation)).toEqual([0]);
  });

  it("scores text under add-one smoothed training frequencies", () => {
    // counts a: 2+1, b: 1+1 over 3 + 2 = 5: "a" costs −log2(3/5) bits.
    expect(unigramBitsPerChar(Int32Array.from([0, 0, 1]), Int32Array.from([0]), 2)).toBeCloseTo(-Math.log2(3 / 5), 12);
  });
});

describe("char-LM training", () => {
  it("trains a 2-layer LSTM on the essay, records a curve, keeps the best validation and samples from the vocabulary", async () => {
    const corpus = loadCorpus();
    const { lstm2 } = await compileCells({ specs: ["experiments/char-lm/cells/lstm2.lstm"], dims: { I: corpus.vocab.length, H: 4 }, precision: "f32" });
    const outcome = trainLm(lstm2!, corpus, { window: 8, batch: 2, maxSteps: 6, evalEvery: 3, lr: 0.01, clipNorm: 5, patience: 4, seed: 1 });
    expect(outcome.curve.map((p) => p.step)).toEqual([3, 6]);
    expect(outcome.bestValidationBpc).toBe(Math.min(...outcome.curve.map((p) => p.validationBpc)));
    expect(Number.isFinite(outcome.bestValidationBpc)).toBe(true);
    const text = sampleText(lstm2!, outcome.params, corpus.vocab, "LSTM", 20, 0.8, 1);
    expect(Array.from(text)).toHaveLength(20);
    for (const c of text) expect(corpus.vocab).toContain(c);
  });
});
