// `npm run build`: dist/ as published. tsc writes the declarations
// (dist/types/, from tsconfig.build.json); esbuild writes the JavaScript, one
// file per public entry point plus shared chunks.
//
// Why a bundler and not tsc's own JavaScript: chevrotain imports lodash-es's
// index, about 650 ES modules, and loading them costs Node close to a second
// of CPU on every start (measured: `import("chevrotain")` 0.9 s of CPU against
// 0.04 s for chevrotain's own single-file build). Bundling the front end's
// dependencies keeps only the lodash functions chevrotain uses and makes
// `lstmc check` one file read. The heavy, rarely needed dependencies (ts-morph,
// prettier: only when compiling; the language server library) stay external
// and are imported on use.
//
// Every output sits two folders below the package root (dist/cli/main.js,
// dist/chunks/*.js) or in dist/ itself, and the code that reads
// `../../package.json` (the version) lands in the former: test/package.consumer.test.ts
// checks the version of an installed copy.
import { existsSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { build, type Plugin } from "esbuild";

/** Packages compiled into dist/ (with their own dependencies), so they need not be installed. */
const BUNDLED = new Set(["chevrotain", "ajv", "jsonc-parser"]);

const ENTRY_POINTS = [
  "src/index.ts",
  "src/cli/main.ts",
  "src/plugins/vite.ts",
  "src/plugins/esbuild.ts",
  // Built on another branch; exported as lstmc/train once it is merged.
  "src/train/index.ts",
].filter((entry) => existsSync(entry));

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

/** Bare imports from our sources stay imports unless the package is in BUNDLED; a bundled package's own imports are bundled. */
const externals: Plugin = {
  name: "lstmc-externals",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:") || args.importer.includes("/node_modules/")) return undefined;
      return BUNDLED.has(packageName(args.path)) ? undefined : { path: args.path, external: true };
    });
  },
};

rmSync("dist", { recursive: true, force: true });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
await build({
  entryPoints: ENTRY_POINTS,
  outbase: "src",
  outdir: "dist",
  entryNames: "[dir]/[name]",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  // jsonc-parser's default entry is UMD, whose internal require() calls a bundle cannot follow.
  mainFields: ["module", "main"],
  target: "node20",
  plugins: [externals],
  // Whitespace and syntax only: identifiers keep their names, so stack traces stay readable.
  // Together with the bundled dependencies this keeps the package under 1 MB unpacked.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: "warning",
});
