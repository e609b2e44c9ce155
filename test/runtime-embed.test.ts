// The runtime helpers generated modules carry are real TypeScript in
// src/codegen/runtime/, embedded as text. These tests pin down that the
// embedded text is the sources' (not a stale copy), that a malformed marker is
// a located error rather than a silently missing helper, and that the helpers
// themselves compute what their comments say.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { EMBEDDED_FILE, RUNTIME_DIR, extractEmbeds, renderEmbedded, templateLiteral } from "../src/codegen/runtime/embed.ts";
import { _expf } from "../src/codegen/runtime/expf.ts";
import { _gemmNT } from "../src/codegen/runtime/gemm.ts";
import { _grow } from "../src/codegen/runtime/grow-js.ts";
import { _checkLength, _transpose } from "../src/codegen/runtime/helpers.ts";
import { gemmNT } from "../src/codegen/ts/runtime.ts";
import { embeddedText } from "../scripts/embed-runtime.ts";

describe("embedding", () => {
  test("embedded.ts is what scripts/embed-runtime.ts writes from the sources (run it after changing one)", () => {
    expect(readFileSync(join(RUNTIME_DIR, EMBEDDED_FILE), "utf8")).toBe(embeddedText());
  });

  test("a part is the lines between its markers, and only those", () => {
    const source = "type FloatArray = Float32Array;\n// BEGIN EMBED ONE\nconst a = 1;\n\nconst b = `${a}\\\\`;\n// END EMBED ONE\nexport {};\n  // BEGIN EMBED TWO\nlet c;\n  // END EMBED TWO\n";
    expect(extractEmbeds("x.ts", source)).toEqual([
      { name: "ONE", file: "x.ts", text: "const a = 1;\n\nconst b = `${a}\\\\`;\n" },
      { name: "TWO", file: "x.ts", text: "let c;\n" },
    ]);
  });

  test.each([
    ["// BEGIN EMBED A\n// BEGIN EMBED B\n// END EMBED B\n// END EMBED A\n", "x.ts:2:1: BEGIN EMBED B inside A (opened on line 1); parts do not nest"],
    ["code\n// END EMBED A\n", "x.ts:2:1: END EMBED A without a BEGIN EMBED A"],
    ["// BEGIN EMBED A\n// END EMBED B\n", "x.ts:2:1: END EMBED B closes BEGIN EMBED A (line 1)"],
    ["\n// BEGIN EMBED A\ncode\n", "x.ts:2:1: BEGIN EMBED A is never closed"],
    ["// BEGIN EMBED a\n// END EMBED a\n", "x.ts:1:1: malformed embed marker"],
    ["x(); // BEGIN EMBED A\n", "x.ts:1:1: malformed embed marker"],
  ])("a malformed source is refused with a located error: %j", (source, message) => {
    expect(() => extractEmbeds("x.ts", source)).toThrow(message);
  });

  test("two parts of one name are refused, naming both files", () => {
    const part = (file: string) => ({ name: "A", file, text: "" });
    expect(() => renderEmbedded([part("a.ts"), part("b.ts")])).toThrow("b.ts: EMBED A is also in a.ts");
  });

  test("a template literal reads back as the text, whatever backslashes, backticks and ${ it holds", () => {
    const text = "a `b` \\n \\` ${c} $ {d} \\${e}\n\u2028end";
    expect(new Function(`return ${templateLiteral(text)};`)()).toBe(text);
  });

  test("gemmNT renames the kernel's declaration and nothing else", () => {
    const text = gemmNT("_gemmNTjs");
    expect(text).toContain("function _gemmNTjs(a: FloatArray,");
    expect(text).not.toContain("_gemmNT(");
  });
});

describe("the runtime helpers, run as source", () => {
  const values = (length: number, seed: number) => Float64Array.from({ length }, (_, i) => Math.sin(seed * 7919 + i * 12.9898));

  test.each([
    [1, 1, 1],
    [5, 7, 3],
    [4, 4, 9],
    [70, 9, 5],
    [131, 13, 17],
  ])("_gemmNT gives Σ_p a[i, p]·w[j, p] for m=%i n=%i k=%i, at offsets and strides", (m, n, k) => {
    const [lda, ldc, aOff, cOff] = [k + 2, n + 3, 5, 7];
    const a = values(aOff + m * lda, 1);
    const w = values(n * k, 2);
    const c = new Float64Array(cOff + m * ldc).fill(-99);
    _gemmNT(a, aOff, lda, w, c, cOff, ldc, m, n, k);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let want = 0;
        for (let p = 0; p < k; p++) want += a[aOff + i * lda + p]! * w[j * k + p]!;
        expect(c[cOff + i * ldc + j]).toBeCloseTo(want, 12);
      }
      // Between rows (the stride's padding) nothing is written.
      for (let j = n; j < ldc && cOff + i * ldc + j < c.length; j++) expect(c[cOff + i * ldc + j]).toBe(-99);
    }
  });

  test("_transpose writes a [rows, cols] block transposed, past 32 rows too", () => {
    const [rows, cols, off] = [37, 5, 3];
    const src = values(off + rows * cols, 3);
    const dst = new Float64Array(rows * cols);
    _transpose(src, off, rows, cols, dst);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expect(dst[c * rows + r]).toBe(src[off + r * cols + c]);
  });

  test("_checkLength names the argument when it is missing or the wrong length", () => {
    const array = new Float64Array(3);
    expect(_checkLength(array, 3, "params.W")).toBe(array);
    expect(() => _checkLength(undefined, 3, "params.W")).toThrow("params.W is missing");
    expect(() => _checkLength(array, 4, "params.W")).toThrow("params.W has 3 numbers, expected 4");
  });

  test("_grow keeps an array that is long enough and makes a new one otherwise", () => {
    const array = new Float64Array(8);
    expect(_grow(array, 8)).toBe(array);
    expect(_grow(array, 9)).toHaveLength(9);
  });

  test("_expf is within 1e-8 relative of e^x on [-87, 88] and clamps outside", () => {
    let worst = 0;
    for (let x = -87; x <= 88; x += 0.01337) worst = Math.max(worst, Math.abs(_expf(x) / Math.exp(x) - 1));
    expect(worst).toBeLessThan(1e-8);
    expect(_expf(-1000)).toBe(_expf(-87));
    expect(_expf(1000)).toBe(_expf(88));
  });
});
