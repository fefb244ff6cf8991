import type { Reporter, TestModule } from "vitest/node";

// Prints the plain closing line `tests: N passed, N failed, N skipped` after vitest's own summary,
// so CI (which reads that line) and humans see the same totals; before it, each test skipped with
// a reason (`ctx.skip(reason)`: the inotify addon not built here) as `skipped: NAME: REASON`.
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    const reasons: string[] = [];
    for (const mod of testModules) {
      if (mod.state() === "failed" && [...mod.children.allTests()].length === 0) failed++;
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else {
          skipped++;
          const result = test.result();
          if (result.state === "skipped" && result.note) reasons.push(`skipped: ${test.name}: ${result.note}`);
        }
      }
    }
    if (reasons.length > 0) process.stdout.write(`\n${reasons.join("\n")}\n`);
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
