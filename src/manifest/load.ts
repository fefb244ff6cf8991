import { open } from "node:fs/promises";
import { RtsyncError } from "../core/errors.ts";
import { MAX_MANIFEST_BYTES, MAX_MANIFEST_TEXT } from "./limits.ts";
import { parseManifest, type ParseContext, type ParseResult } from "./parse.ts";
import { pathIdentifier } from "./path-identity.ts";

// Reads a manifest file and parses it. A missing, unreadable or oversized file is one clear
// sentence.

// A manifest over the limit: `size` is "5242895 bytes" for a file, "more than N bytes" for a pipe.
class TooLarge extends Error {
  readonly size: string;
  constructor(size: string) {
    super(size);
    this.size = size;
  }
}

// Reads at most MAX_MANIFEST_BYTES: a regular file's size is known up front; a pipe or a device
// is read until it passes the limit, never further.
async function readBounded(file: string): Promise<string> {
  const handle = await open(file, "r");
  try {
    const stat = await handle.stat();
    if (stat.isFile() && stat.size > MAX_MANIFEST_BYTES) throw new TooLarge(`${stat.size} bytes`);
    const buffer = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_MANIFEST_BYTES) throw new TooLarge(`more than ${MAX_MANIFEST_BYTES} bytes`);
    return buffer.toString("utf8", 0, length);
  } finally {
    await handle.close();
  }
}

/** Reads and parses `file`; paths are compared by their identity on this machine, and against `policy` when given. */
export async function loadManifest(file: string, context: ParseContext = { identify: pathIdentifier() }): Promise<ParseResult & { readonly file: string; readonly text: string }> {
  let text: string;
  try {
    text = await readBounded(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      e instanceof TooLarge
        ? `it is ${e.size}, over the limit of ${MAX_MANIFEST_TEXT}`
        : code === "ENOENT"
          ? "no such file (pass the manifest path, or run in a directory with rtsync.yaml)"
          : code === "EACCES"
            ? "permission denied"
            : code === "EISDIR"
              ? "it is a directory"
              : (e as Error).message;
    throw new RtsyncError("E_MANIFEST", "user", `cannot read manifest ${file}: ${why}`, { cause: e });
  }
  return { ...parseManifest(text, file, context), file, text };
}
