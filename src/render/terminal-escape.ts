// Text that reaches a terminal is escaped: a name from the file system (a file a user could create
// in a watched tree, an rsync error quoting it) must not move the cursor, erase a line, or start a
// new line that looks like rtsync's own ("watcher push: running ... healthy"). Pure.
//
// Escaped: C0 controls (\n, \r, \t, \x1b …), DEL, C1 controls, the line and paragraph separators,
// and the bidirectional overrides and isolates (which reorder what is shown). Kept: the colour
// sequences rtsync itself paints with (SGR, ESC [ … m), and only those, when `keepColor`.

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const SGR = /\u001b\[[0-9;]*m/gu;

function escapeChar(c: string): string {
  switch (c) {
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    default: {
      const code = c.codePointAt(0) ?? 0;
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
    }
  }
}

/** `text` as one line a terminal shows as written: every control character escaped (`\n`, `\x1b`). */
export function escapeTerminal(text: string, keepColor = false): string {
  if (!keepColor) return text.replace(UNSAFE, escapeChar);
  let out = "";
  let last = 0;
  for (const m of text.matchAll(SGR)) {
    out += text.slice(last, m.index).replace(UNSAFE, escapeChar) + m[0];
    last = m.index + m[0].length;
  }
  return out + text.slice(last).replace(UNSAFE, escapeChar);
}
