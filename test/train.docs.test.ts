// The training example of docs/training.md runs as written: its imports point
// at the source of lstmc/train and at generated/lstm.ts (the module the
// example compiles), and it trains, validates and writes its checkpoint.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "lstmc-train-docs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("docs/training.md", () => {
  it("its example trains the LSTM with a readout and saves a checkpoint", () => {
    const doc = readFileSync("docs/training.md", "utf8");
    const example = /```ts\n([\s\S]*?)```/.exec(doc)![1]!;
    expect(example).toContain('from "lstmc/train"');
    const runnable = example.replace('"lstmc/train"', JSON.stringify(resolve("src/train/index.ts"))).replace('"./cells/lstm.ts"', JSON.stringify(resolve("generated/lstm.ts")));
    writeFileSync(join(dir, "example.ts"), runnable);
    execFileSync(process.execPath, [resolve("node_modules/tsx/dist/cli.mjs"), "example.ts"], { cwd: dir, stdio: "pipe" });
    expect(existsSync(join(dir, "model.safetensors"))).toBe(true);
  });
});
