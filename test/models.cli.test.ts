// The commands on model files: check, run and compile --target ts|js|wgsl
// accept them (test/codegen.models.wgsl.test.ts runs models on the wgsl
// engine, lengths included); diagram
// draws the layers; gradcheck checks every layer.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { advancedOracleCase, readAdvancedOracle } from "./helpers/advanced-oracle.ts";
import { compareRunResponse, REPO_ROOT } from "./helpers/torch-oracle.ts";
import type { RunResponse } from "../src/run/contract.ts";
import { LSTMC } from "./helpers/cli.ts";

function lstmc(...args: string[]) {
  return spawnSync(process.execPath, [LSTMC, ...args], { cwd: REPO_ROOT, encoding: "utf8" });
}

describe("lstmc on model files", () => {
  test("check accepts every library model", () => {
    const child = lstmc("check", "specs/bilstm.lstm", "specs/lstm2.lstm", "specs/depth_gated_lstm.lstm", "specs/classifier.lstm");
    expect(child.stderr).toBe("specs/bilstm.lstm: ok\nspecs/lstm2.lstm: ok\nspecs/depth_gated_lstm.lstm: ok\nspecs/classifier.lstm: ok\n");
    expect(child.status).toBe(0);
  });

  test("check --target ts, js and wgsl accept a model", () => {
    for (const target of ["ts", "js", "wgsl"]) {
      const child = lstmc("check", "specs/lstm2.lstm", "--target", target);
      expect(child.stderr).toBe("specs/lstm2.lstm: ok\n");
      expect(child.status).toBe(0);
    }
  });

  test("compile --target js writes one module and its declarations for a model", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lstmc-model-js-"));
    try {
      const child = lstmc("compile", "specs/lstm2.lstm", "--target", "js", "--dims", "I=2,H=3", "--out", dir);
      expect(child.stderr).toBe(`specs/lstm2.lstm: wrote ${path.join(dir, "lstm2.js")}\nspecs/lstm2.lstm: wrote ${path.join(dir, "lstm2.d.ts")}\n`);
      expect(child.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("compile --target wgsl writes one WebGPU module for a model", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lstmc-model-wgsl-"));
    try {
      const child = lstmc("compile", "specs/lstm2.lstm", "--target", "wgsl", "--dims", "I=2,H=3", "--out", dir);
      expect(child.stderr).toBe(`specs/lstm2.lstm: wrote ${path.join(dir, "lstm2.webgpu.ts")}\n`);
      expect(child.status).toBe(0);
      const text = readFileSync(path.join(dir, "lstm2.webgpu.ts"), "utf8");
      expect(text).toContain("export function createModel(device: GPUDevice): Model");
      expect(text).toContain('"L2.U_o"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("run --data --grad answers the bidirectional reference file as PyTorch does", () => {
    const { data, expected } = advancedOracleCase(readAdvancedOracle("bidirectional_lstm_2"), ["fwd", "bwd"]);
    const dir = mkdtempSync(path.join(tmpdir(), "lstmc-model-"));
    try {
      const dataFile = path.join(dir, "data.json");
      writeFileSync(dataFile, JSON.stringify(data));
      const child = lstmc("run", "specs/bilstm.lstm", "--data", dataFile, "--grad");
      expect(child.stderr).toBe("");
      expect(child.status).toBe(0);
      expect(compareRunResponse(JSON.parse(child.stdout) as RunResponse, expected, 1e-9).failures).toEqual([]);
      const compiled = lstmc("run", "specs/bilstm.lstm", "--data", dataFile, "--grad", "--engine", "ts");
      expect(compiled.stderr).toBe("");
      expect(compiled.status).toBe(0);
      expect(compareRunResponse(JSON.parse(compiled.stdout) as RunResponse, expected, 1e-9).failures).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("run --example on the classifier reports its loss and the head's logits at the last step", () => {
    const child = lstmc("run", "specs/classifier.lstm", "--example", "--dims", "I=3,H=2,K=4", "--batch", "2", "--grad");
    expect(child.status).toBe(0);
    const response = JSON.parse(child.stdout) as RunResponse & { loss: number };
    expect(response.outputs["logits"]).toHaveLength(2 * 4);
    expect(response.loss).toBeGreaterThan(0);
    expect(Object.keys(response.grads!.params)).toContain("logits.W");
    expect(Object.keys(response.grads!.initial)).toEqual(["f1.h", "f1.c", "b1.h", "b1.c", "f2.h", "f2.c", "b2.h", "b2.c"]);
  });

  test("gradcheck checks every layer's tensors", () => {
    const child = lstmc("gradcheck", "specs/depth_gated_lstm.lstm", "--dims", "I=2,H=2", "--steps", "2");
    expect(child.stdout).toContain("params.L2.w_ld");
    expect(child.stdout).toContain("initial.L1.c");
    expect(child.stdout.trimEnd().endsWith("ok")).toBe(true);
    expect(child.status).toBe(0);
  });

  test("diagram draws the layers, their cells and directions, and the head", () => {
    const child = lstmc("diagram", "specs/classifier.lstm");
    expect(child.status).toBe(0);
    for (const text of [">model classifier<", ">f2<", ">lstm, reverse<", ">logits<", "at last step, softmax_cross_entropy"]) expect(child.stdout).toContain(text);
  });

  // A converted model is the same model: it runs to the same numbers, and converting again changes nothing.
  test.each(["bilstm", "lstm2", "classifier"])("convert writes %s as JSON and back as the same model", (name) => {
    const dir = mkdtempSync(path.join(tmpdir(), "lstmc-convert-model-"));
    try {
      copyFileSync(path.join(REPO_ROOT, "specs", "lstm.lstm"), path.join(dir, "lstm.lstm"));
      const [json, dsl, again] = [path.join(dir, "m.json"), path.join(dir, "m.lstm"), path.join(dir, "again.json")];
      for (const [from, to, out] of [[`specs/${name}.lstm`, "json", json], [json, "lstm", dsl], [dsl, "json", again]] as const) {
        const child = lstmc("convert", from, "--to", to, "--out", out);
        expect(child.stderr).toBe("");
        expect(child.status).toBe(0);
      }
      expect(readFileSync(again, "utf8")).toBe(readFileSync(json, "utf8"));
      const example = ["--example", "--grad", "--dims", "I=2,H=3", "--steps", "3", "--batch", "2"];
      const runs = [`specs/${name}.lstm`, json, dsl].map((spec) => lstmc("run", spec, ...example));
      expect(runs.map((r) => r.status)).toEqual([0, 0, 0]);
      expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
      expect(runs[2]!.stdout).toBe(runs[0]!.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("convert --to lstm keeps a model's own cells, and the model runs the same", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "lstmc-convert-model-"));
    try {
      copyFileSync(path.join(REPO_ROOT, "specs", "peephole.lstm"), path.join(dir, "peephole.lstm"));
      const out = path.join(dir, "m.lstm");
      expect(lstmc("convert", "specs/depth_gated_lstm.lstm", "--to", "lstm", "--out", out).status).toBe(0);
      expect(readFileSync(out, "utf8")).toMatch(/\ncell depth_gated \{\n/);
      const runs = ["specs/depth_gated_lstm.lstm", out].map((spec) => lstmc("run", spec, "--example", "--dims", "I=2,H=3", "--steps", "2"));
      expect(runs[0]!.status).toBe(0);
      expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("convert --to json refuses a model's own cell with E602 at its name, exit 1", () => {
    const child = lstmc("convert", "specs/depth_gated_lstm.lstm", "--to", "json");
    expect(child.stderr).toContain("specs/depth_gated_lstm.lstm:11:14: error E602: the JSON form names each layer's cell by file, and 'depth_gated' is declared in this model's file");
    expect(child.stdout).toBe("");
    expect(child.status).toBe(1);
  });
});
