// The JavaScript half of `npm run build`, shared with the test suite (which
// runs its CLI cases against the same bundle: see test/setup/cli-bundle.ts).
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
// Every output sits two folders below the output folder's parent (cli/main.js,
// chunks/*.js) or in the output folder itself, and the code that reads
// `../../package.json` (the version) lands in the former: so the output folder
// must sit directly in the package root, as dist/ does.
import { existsSync } from "node:fs";
import { build, type Plugin } from "esbuild";

/** Packages compiled into the bundle (with their own dependencies), so they need not be installed. */
const BUNDLED = new Set(["chevrotain", "ajv", "jsonc-parser"]);

const ENTRY_POINTS = [
  "src/index.ts",
  "src/cli/main.ts",
  "src/plugins/vite.ts",
  "src/plugins/esbuild.ts",
  "src/train/index.ts",
  "src/threads/index.ts",
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

/** Write the package's JavaScript (one file per public entry point plus shared chunks) into `outdir`, a folder of the package root. */
export async function bundleSources(outdir: string): Promise<void> {
  await build({
    entryPoints: ENTRY_POINTS,
    outbase: "src",
    outdir,
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
}
