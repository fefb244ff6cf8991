import { describe, expect, test } from "vitest";
import { judgeRsyncVersion, parseRsyncVersion, type RsyncVersion } from "./rsync-version.ts";

const v = (text: string): RsyncVersion => {
  const parsed = parseRsyncVersion(`rsync  version ${text}  protocol version 31\nCopyright (C) 1996-2024 by Andrew Tridgell`);
  if (!parsed) throw new Error(`unparsed ${text}`);
  return parsed;
};

describe("rsync version", () => {
  test("parses rsync --version's first line", () => {
    expect(parseRsyncVersion("rsync  version 3.5.0  protocol version 32")).toEqual({ major: 3, minor: 5, patch: 0, text: "3.5.0" });
    expect(parseRsyncVersion("rsync  version v3.2.7  protocol version 31")?.text).toBe("3.2.7");
    expect(parseRsyncVersion("openrsync: protocol version 29")).toBeUndefined();
  });

  test("older than 3.4.1 is refused, older than 3.5.0 warned, 3.5.0 and later fine", () => {
    expect(judgeRsyncVersion(v("3.2.7")).level).toBe("refuse");
    expect(judgeRsyncVersion(v("3.4.0")).level).toBe("refuse");
    expect(judgeRsyncVersion(v("2.6.9")).level).toBe("refuse");
    expect(judgeRsyncVersion(v("3.4.1")).level).toBe("warn");
    expect(judgeRsyncVersion(v("3.4.9")).level).toBe("warn");
    expect(judgeRsyncVersion(v("3.5.0")).level).toBe("ok");
    expect(judgeRsyncVersion(v("3.10.0")).level).toBe("ok");
    expect(judgeRsyncVersion(v("4.0.0")).level).toBe("ok");
  });

  test("the policy's acceptVersion acknowledges exactly that version", () => {
    expect(judgeRsyncVersion(v("3.2.7"), "3.2.7")).toEqual({ level: "ok" });
    expect(judgeRsyncVersion(v("3.2.6"), "3.2.7").level).toBe("refuse");
    expect(judgeRsyncVersion(v("3.4.1"), "3.4.1")).toEqual({ level: "ok" });
  });

  test("the refusal says why and how to acknowledge a patched build", () => {
    expect(judgeRsyncVersion(v("3.2.7"))).toEqual({
      level: "refuse",
      message:
        'rsync 3.2.7 is older than 3.4.1 and open to CVE-2024-12084..12088; rtsync runs no daemon with it: upgrade rsync, or if this build backports the fixes, acknowledge it in the node policy (rsync: { acceptVersion: "3.2.7" })',
    });
  });
});
