import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // CLI tests start node processes and GPU tests start software adapters:
    // on a loaded 2-core machine a single case can take several seconds.
    testTimeout: 600_000,
    hookTimeout: 600_000,
    include: ["test/**/*.test.ts"],
    // Bundles the CLI once, so CLI cases start in a quarter of a second (test/setup/cli-bundle.ts).
    globalSetup: ["test/setup/cli-bundle.ts"],
  },
});
