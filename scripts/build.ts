// `npm run build`: dist/ as published. tsc writes the declarations
// (dist/types/, from tsconfig.build.json); esbuild writes the JavaScript
// (scripts/bundle.ts says why a bundle). test/package.consumer.test.ts checks
// the version of an installed copy.
import { rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { bundleSources } from "./bundle.ts";

rmSync("dist", { recursive: true, force: true });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
await bundleSources("dist");
