// How tests start the `lstmc` command: the bundle test/setup/cli-bundle.ts
// builds from the current sources (what the published package runs), or,
// with LSTMC_TEST_CLI=source (e.g. under `vitest --watch`, where the global
// setup does not rebuild), bin/lstmc.js running the sources through tsx.
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
export const CLI_BUNDLE_DIR = join(ROOT, ".test-cli");
export const CLI_BUNDLE_ENTRY = join(CLI_BUNDLE_DIR, "lstmc.mjs");
const SOURCE_ENTRY = join(ROOT, "bin", "lstmc.js");

/** The script `node` runs as `lstmc`. */
export const LSTMC = process.env["LSTMC_TEST_CLI"] === "source" ? SOURCE_ENTRY : CLI_BUNDLE_ENTRY;
