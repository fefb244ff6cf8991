import { defineConfig } from "vitest/config";

// Two projects: fast unit tests beside the code, and integration tests that spawn the real
// rsync, a real rsync daemon on 127.0.0.1 and real inotify (longer timeouts, run one file at a time).
export default defineConfig({
  test: {
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    projects: [
      {
        test: { name: "unit", include: ["src/**/*.test.ts", "test/unit/**/*.test.ts"], testTimeout: 20_000 },
      },
      {
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
