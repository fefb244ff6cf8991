import { expect, test } from "vitest";
import { writerOutput } from "./output.ts";

test("a line of output cannot become two, nor move the cursor; JSON and rtsync's own blocks keep their lines", () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = writerOutput((t) => out.push(t), (t) => err.push(t), false, false);
  io.out("not on the target: 1 path(s): x\nwatcher push: running\x1b[2K\r");
  io.err("rtsync: cannot read /src/a\u001b]0;title\u0007");
  io.json({ path: "x\ny\x1b" });
  io.block("Usage: rtsync [options]\n\nCommands:");
  expect(out).toEqual([
    "not on the target: 1 path(s): x\\nwatcher push: running\\x1b[2K\\r\n",
    '{\n  "path": "x\\ny\\u001b"\n}\n',
    "Usage: rtsync [options]\n\nCommands:\n",
  ]);
  expect(err).toEqual(["rtsync: cannot read /src/a\\x1b]0;title\\x07\n"]);
});

test("on a terminal, rtsync's colours survive the escaping", () => {
  const out: string[] = [];
  const io = writerOutput((t) => out.push(t), () => undefined, true, true);
  io.out("\x1b[32mwatcher push: running\x1b[39m a\x1b[1Ab");
  expect(out).toEqual(["\x1b[32mwatcher push: running\x1b[39m a\\x1b[1Ab\n"]);
});
