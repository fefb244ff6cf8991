import { expect, test } from "vitest";
import type { VerifyReport } from "../resources/verify-report.ts";
import { renderVerify } from "./verify-text.ts";

const none = { count: 0, sample: [] };

test("verify as text: a verdict per watch, then what differs with a sample", () => {
  const report: VerifyReport = {
    manifest: "/etc/rtsync.yaml",
    node: "web1",
    checksum: false,
    result: "error",
    watches: [
      { name: "www", source: "/srv/www", target: "rsync://u@10.0.0.2/www", key: "rsync://10.0.0.2:873/www", result: "equal", missing: none, extra: none, different: none, durationMs: 5 },
      {
        name: "logs",
        source: "/srv/logs",
        target: "/backup/logs",
        key: "/backup/logs",
        result: "different",
        missing: { count: 12, sample: Array.from({ length: 12 }, (_, i) => `f${i}`) },
        extra: { count: 1, sample: ["stray.txt"] },
        different: none,
        durationMs: 5,
      },
      { name: "db", source: "/srv/db", target: "rsync://u@10.0.0.3/db", key: "rsync://10.0.0.3:873/db", result: "error", missing: none, extra: none, different: none, error: "authentication failed: ...", durationMs: 0 },
    ],
  };
  expect(renderVerify(report, false)).toEqual([
    "rtsync verify: /etc/rtsync.yaml on node web1, comparing sizes and modification times (--checksum compares contents)",
    "watch www: /srv/www -> rsync://u@10.0.0.2/www: equal",
    "watch logs: /srv/logs -> /backup/logs: 13 differences",
    "  missing on the target (12): f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, ... (2 more)",
    "  extra on the target (1): stray.txt",
    "watch db: /srv/db -> rsync://u@10.0.0.3/db: ERROR",
    "  error: authentication failed: ...",
    "ERROR",
  ]);
});
