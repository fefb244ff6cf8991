import { expect, test } from "vitest";
import { escapeTerminal } from "./terminal-escape.ts";

test("control characters are escaped, so a file name cannot start a line of its own or move the cursor", () => {
  expect(escapeTerminal("a\nwatcher push: running\r\x1b[2Kok\t\x7f")).toBe("a\\nwatcher push: running\\r\\x1b[2Kok\\t\\x7f");
  expect(escapeTerminal("x\u009by\u2028z\u202eevil\u2066")).toBe("x\\x9by\\u2028z\\u202eevil\\u2066");
  expect(escapeTerminal("plain/ünïcode 名前.txt")).toBe("plain/ünïcode 名前.txt");
});

test("rtsync's own colours survive when asked; any other escape sequence does not", () => {
  expect(escapeTerminal("\x1b[32mhealthy\x1b[39m", true)).toBe("\x1b[32mhealthy\x1b[39m");
  expect(escapeTerminal("\x1b[32mfile\n\x1b[1A\x1b[39m", true)).toBe("\x1b[32mfile\\n\\x1b[1A\x1b[39m");
  expect(escapeTerminal("\x1b[32mx", false)).toBe("\\x1b[32mx");
});
