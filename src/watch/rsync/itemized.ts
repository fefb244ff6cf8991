import type { BytePath } from "../byte-path.ts";

// Reads one line of a full sync's `--out-format=%i %n` output as a path it changed on the target.
// Pure. What counts:
//
//   "*deleting   old/x"      deleted on the target                          -> deleted
//   "<f+++++++++ new.txt"    created (a directory: "cd+++++++++ d/")         -> created
//   "<f.st...... a.txt"      content, size or time of a file differs         -> updated
//   "cLc.T...... link"        a symlink (or device, special) changed          -> updated
//
// Not counted: the root ("./"), a directory that already existed and only differs in its time or
// permissions (its mtime moves with every file created or deleted in it), rsync's progress and
// statistics lines. rsync escapes unprintable bytes of names as \#ooo (octal); they are decoded
// back to bytes, so the path compares with the engine's byte paths (one char per byte).

export type ItemizedOp = "created" | "updated" | "deleted";

export interface ItemizedChange {
  readonly op: ItemizedOp;
  readonly path: BytePath;
}

const ITEM = /^([<>ch.])([fdLDS])([.+ a-zA-Z?]{9}) (.+)$/;

// rsync's escape of a byte it will not print: \#ooo.
function unescapeName(name: string): BytePath {
  return name.replace(/\\#([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

function relative(name: string): BytePath | undefined {
  const path = unescapeName(name.endsWith("/") ? name.slice(0, -1) : name);
  return path === "" || path === "." ? undefined : path;
}

/** The change one output line reports, or undefined when it reports none worth counting. */
export function parseItemizedChange(line: string): ItemizedChange | undefined {
  if (line.startsWith("*deleting ")) {
    const path = relative(line.slice(12));
    return path === undefined ? undefined : { op: "deleted", path };
  }
  const m = ITEM.exec(line);
  if (!m) return undefined;
  const [, update, type, flags, name] = m as unknown as [string, string, string, string, string];
  const path = relative(name);
  if (path === undefined) return undefined;
  if (flags === "+++++++++") return { op: "created", path };
  if (type === "d") return undefined;
  if (update === "." && /^[. ]*$/.test(flags)) return undefined;
  return { op: "updated", path };
}
