import { expect, test } from "vitest";
import { redactUrl } from "./redact-url.ts";

test("a password in a URL's userinfo is replaced, the user name kept", () => {
  expect(redactUrl("rsync://u1:Hunter2@127.0.0.1:873/m")).toBe("rsync://u1:***@127.0.0.1:873/m");
  expect(redactUrl("target rsync://u1:a:b@h/m failed; rsync://u2:x@h2/n")).toBe("target rsync://u1:***@h/m failed; rsync://u2:***@h2/n");
  expect(redactUrl("ssh://git:pw@example.com/r.git")).toBe("ssh://git:***@example.com/r.git");
});

test("an https token without a colon is replaced whole; rsync and ssh user names are kept", () => {
  expect(redactUrl("https://ghp_TOKEN123@github.com/o/r.git")).toBe("https://***@github.com/o/r.git");
  expect(redactUrl("rsync://demo@127.0.0.1:873/data")).toBe("rsync://demo@127.0.0.1:873/data");
  expect(redactUrl("ssh://git@example.com/r.git")).toBe("ssh://git@example.com/r.git");
});

test("text without a URL, or an '@' after the host, is left alone", () => {
  expect(redactUrl("user@host::module and a@b")).toBe("user@host::module and a@b");
  expect(redactUrl("rsync://host/path@2026")).toBe("rsync://host/path@2026");
});
