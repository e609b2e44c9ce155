import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // CLI tests start node processes and GPU tests start software adapters:
    // on a loaded 2-core machine a single case can take several seconds.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    include: ["test/**/*.test.ts"],
    // One test file per core. Measured: on this 2-core machine vitest 4 ran the
    // files one at a time by default (four files of a 4 s wait took 18 s; with 2
    // workers, 9 s), which made the suite twice as long as the machine allows.
    maxWorkers: Math.max(2, availableParallelism()),
    // Bundles the CLI once, so CLI cases start in a quarter of a second (test/setup/cli-bundle.ts).
    globalSetup: ["test/setup/cli-bundle.ts"],
  },
});
