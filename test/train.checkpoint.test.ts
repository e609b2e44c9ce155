// Checkpoints in the safetensors format: the encoder and decoder against a file
// built byte by byte from the format's description, and round trips.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeSafetensors, encodeSafetensors, stored } from "../src/train/safetensors.ts";
import { loadCheckpoint, saveCheckpoint } from "../src/train/checkpoint.ts";
import { initOptimizerState, optimizerStep } from "../src/train/optim.ts";

/** A file as the format describes it: u64 LE header size, the JSON header, then raw LE data. */
function handBuilt(): Uint8Array {
  const header = '{"__metadata__":{"note":"hi"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F64","shape":[1,1],"data_offsets":[8,16]}}';
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(header.length));
  // 1.5f = 0x3fc00000, -2f = 0xc0000000, 0.25 (f64) = 0x3fd0000000000000, each little-endian.
  const data = Buffer.from([0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0, 0, 0, 0, 0, 0, 0xd0, 0x3f]);
  return new Uint8Array(Buffer.concat([size, Buffer.from(header), data]));
}

describe("safetensors", () => {
  it("reads a hand-built file", () => {
    const file = decodeSafetensors(handBuilt());
    expect(file.metadata).toEqual({ note: "hi" });
    expect(file.tensors.a).toEqual({ dtype: "F32", shape: [2], data: Float32Array.from([1.5, -2]) });
    expect(file.tensors.b).toEqual({ dtype: "F64", shape: [1, 1], data: Float64Array.from([0.25]) });
  });

  it("writes the same bytes a hand-built file holds, with the header padded to 8 bytes", () => {
    const bytes = encodeSafetensors({ tensors: { a: stored(Float32Array.from([1.5, -2])) }, metadata: {} });
    const headerLength = Number(Buffer.from(bytes).readBigUInt64LE(0));
    expect(headerLength % 8).toBe(0);
    expect(JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString())).toEqual({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } });
    expect(Array.from(bytes.subarray(8 + headerLength))).toEqual([0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
  });

  it("round-trips every dtype, shapes and metadata", () => {
    const tensors = {
      w: stored(Float32Array.from([0.1, -3e38, 7]), [3, 1]),
      d: stored(Float64Array.from([Math.PI, -0])),
      n: stored(Int32Array.from([-5, 2 ** 31 - 1])),
    };
    const back = decodeSafetensors(encodeSafetensors({ tensors, metadata: { step: "12" } }));
    expect(back.tensors).toEqual(tensors);
    expect(back.metadata).toEqual({ step: "12" });
  });

  it("rejects files whose offsets do not fit the shapes or the data", () => {
    const bytes = handBuilt();
    expect(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4))).toThrow(/tensor 'b' has data_offsets \[8, 16\]/);
    expect(() => decodeSafetensors(bytes.subarray(0, 6))).toThrow(/too short/);
    expect(() => stored(new Float32Array(3), [2, 2])).toThrow(/shape \[2, 2\] does not hold 3 numbers/);
  });
});

describe("checkpoints", () => {
  const dir = mkdtempSync(join(tmpdir(), "lstmc-ckpt-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("save and load parameters and the optimiser's state unchanged", () => {
    const params = { W: Float32Array.from([1, 2, 3, 4]), b: Float32Array.from([0.5, -0.5]) };
    const optimizer = initOptimizerState({ kind: "adam" }, params);
    optimizerStep({ kind: "adam" }, optimizer, params, { W: Float32Array.from([1, -1, 1, -1]), b: Float32Array.from([2, 2]) });
    const path = join(dir, "model.safetensors");
    saveCheckpoint(path, { params, optimizer, metadata: { cell: "lstm" } }, { W: [2, 2] });
    const back = loadCheckpoint(path);
    expect(back.params).toEqual(params);
    expect(back.optimizer).toEqual(optimizer);
    expect(back.metadata).toEqual({ cell: "lstm" });
  });
});
