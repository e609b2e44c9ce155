// The README's recipe for a WebGPU device in Node runs as written on this
// GPU-less machine: the lavapipe driver through VK_DRIVER_FILES, the
// adapter's limits requested, the module compiled as the README's command does.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LSTMC } from "./helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "lstmc-readme-webgpu-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("README: a WebGPU device in Node", () => {
  it("compiles lstm.lstm to WGSL and runs forward through the snippet", () => {
    const readme = readFileSync("README.md", "utf8");
    const snippet = /```ts\n(import \{ create, globals \} from "webgpu";[\s\S]*?)```/.exec(readme)![1]!;
    execFileSync(process.execPath, [LSTMC, "compile", "specs/lstm.lstm", "--target", "wgsl", "--dims", "I=128,H=256", "--out", join(dir, "cells")], { stdio: "pipe" });
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    writeFileSync(join(dir, "snippet.ts"), snippet.replace('from "webgpu"', `from ${JSON.stringify(resolve("node_modules/webgpu/index.js"))}`));
    const env = { ...process.env, VK_DRIVER_FILES: resolve(".cache/webgpu-cpu/lvp_icd.json") };
    const printed = execFileSync(process.execPath, [resolve("node_modules/tsx/dist/cli.mjs"), "snippet.ts"], { cwd: dir, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(printed.trim().split("\n").at(-1)).toBe(String(3 * 256));
  });
});
