// npx tsx examples/train-in-browser/build.ts
// Compiles the LSTM for the page (TS for the CPU, WGSL + host module for
// WebGPU) and bundles the page's script: everything lands in dist/, which any
// static server can serve (npx vite examples/train-in-browser/dist, say).
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { execFileSync } from "node:child_process";
import { build, transform } from "esbuild";
import { VOCAB } from "../../experiments/long-gap/task.ts";

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, "../..");
export const DIST = join(HERE, "dist");

export async function buildExample(): Promise<string> {
  const cells = join(DIST, "cells");
  mkdirSync(cells, { recursive: true });
  for (const target of ["ts", "wgsl"]) execFileSync(process.execPath, [join(ROOT, "bin/lstmc.js"), "compile", join(ROOT, "specs/lstm.lstm"), "--target", target, "--dims", `I=${VOCAB},H=16`, "--out", cells], { stdio: ["ignore", "ignore", "inherit"] });
  // The generated modules are TypeScript: strip the types, as a user's bundler would.
  for (const file of readdirSync(cells).filter((f) => f.endsWith(".ts"))) {
    const { code } = await transform(readFileSync(join(cells, file), "utf8"), { loader: "ts", format: "esm" });
    writeFileSync(join(cells, file.replace(/\.ts$/, ".js")), code);
  }
  await build({ entryPoints: [join(HERE, "main.ts")], bundle: true, format: "esm", platform: "browser", outfile: join(DIST, "main.js"), logLevel: "warning" });
  copyFileSync(join(HERE, "index.html"), join(DIST, "index.html"));
  return DIST;
}

if (process.argv[1] === import.meta.filename) console.log(`built ${await buildExample()}`);
