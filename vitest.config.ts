import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// luxon's CommonJS copy, the one cron-parser require()s: src/core/cron.ts must configure that one
// (scripts/build.ts maps the import the same way in the bundle).
const luxon = fileURLToPath(new URL("node_modules/luxon/build/node/luxon.js", import.meta.url));

// Two projects: fast unit tests beside the code, and integration tests that spawn the real
// rsync, a real rsync daemon on 127.0.0.1 and real inotify (longer timeouts, run one file at a time).
export default defineConfig({
  resolve: { alias: { luxon } },
  test: {
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["src/**/*.test.ts", "test/unit/**/*.test.ts"], testTimeout: 20_000 },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/integration/**/*.int.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
