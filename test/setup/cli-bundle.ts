// Global setup: bundle the CLI once per test run, as `npm run build` does for
// the published package, into `.test-cli/` (a folder of the package root, as
// dist/ is, so its `../../package.json` and `.cache/` paths resolve the same).
//
// Why: the CLI cases start a process each. Through bin/lstmc.js a git checkout
// runs the TypeScript source via tsx, which costs about 1.5 s of CPU per start
// (chevrotain's 650 lodash-es modules, transpiled on load); the bundle starts
// in about 0.25 s. Hundreds of cases on two cores made that minutes of CI.
// The bundle is built from the current sources on every run, so an edit is
// never shadowed by an older build; the cases of bin/lstmc.js itself
// (test/cli.test.ts) still start it the way a checkout does.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleSources } from "../../scripts/bundle.ts";
import { CLI_BUNDLE_DIR, CLI_BUNDLE_ENTRY } from "../helpers/cli.ts";

export default async function buildCliBundle(): Promise<void> {
  // Built beside the final folder and renamed into place, so a concurrent run never reads half a bundle.
  const staging = `${CLI_BUNDLE_DIR}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  await bundleSources(staging);
  // The same two lines as bin/lstmc.js's published branch.
  writeFileSync(join(staging, "lstmc.mjs"), 'const { main } = await import("./cli/main.js");\nprocess.exitCode = await main(process.argv.slice(2));\n');
  rmSync(CLI_BUNDLE_DIR, { recursive: true, force: true });
  renameSync(staging, CLI_BUNDLE_DIR);
  if (!CLI_BUNDLE_ENTRY.startsWith(CLI_BUNDLE_DIR)) throw new Error("the CLI bundle's entry lies outside its folder");
}
