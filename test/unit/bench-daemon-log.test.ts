import { describe, expect, test } from "vitest";
import { openSessions, parseDaemonSessions } from "../../bench/daemon-log.ts";

// Runs and bytes come from the rsync daemon's log: which lines are sessions, and which sessions
// have started but not yet logged their totals (rsyncd logs them just after the client hangs up).

describe("daemon log", () => {
  const log = [
    "2026/11/24 19:40:04 [100] rsyncd version 3.5.0 starting, listening on port 39007",
    "2026/11/24 19:40:04 [101] connect from localhost (127.0.0.1)",
    "2026/11/24 19:40:08 [102] connect from localhost (127.0.0.1)",
    "2026/11/24 19:40:08 [102] rsync to replica/big-renamed/ from bench@localhost (127.0.0.1)",
    "2026/11/24 19:40:08 [102] sent 24 bytes  received 1859 bytes  total size 16626",
    "2026/11/24 19:40:08 [103] rsync to replica/ from bench@localhost (127.0.0.1)",
    "2026/11/24 19:40:12 [100] sent 0 bytes  received 0 bytes  total size 0",
  ].join("\n");

  test("the listener's own exit line is no session; a bare connect (a port probe) is none either", () => {
    expect(parseDaemonSessions(log)).toEqual([{ pid: 102, sent: 24, received: 1859 }]);
  });

  test("a session that started but has not logged its totals is open", () => {
    expect(openSessions(log)).toEqual([103]);
    expect(openSessions(`${log}\n2026/11/24 19:40:08 [103] sent 6438 bytes  received 8560 bytes  total size 0`)).toEqual([]);
  });
});
