#!/usr/bin/env node
// The lstmc command. The published package runs the compiled JavaScript in
// dist/. A git checkout (src/ present) runs the TypeScript source through
// tsx's loader instead, so an edit is never shadowed by an older build.
import { existsSync, readFileSync } from "node:fs";

const args = process.argv.slice(2);
const source = new URL("../src/cli/main.ts", import.meta.url);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  // Answered here: src/cli/main.ts imports the front end statically, and
  // loading it would triple the time `lstmc --version` takes.
  console.log(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
} else if (existsSync(source)) {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import(source.href);
  process.exitCode = await main(args);
} else {
  const { main } = await import("../dist/cli/main.js");
  process.exitCode = await main(args);
}
