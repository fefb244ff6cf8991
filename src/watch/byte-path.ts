// Paths inside the watched tree travel through the engine as "byte strings": one JS char per
// byte (latin1), so any name the kernel allows — newlines, leading dashes, glob characters,
// bytes that are not UTF-8 — reaches rsync's stdin unchanged. Never decode them as UTF-8.

/** A path relative to the watched source, one char per byte (latin1); "" is the source itself. */
export type BytePath = string;

/** The byte path of raw bytes from the kernel or inotifywait. */
export function bytePathOf(bytes: Uint8Array): BytePath {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** The byte path of a JS string that Node decoded as UTF-8 (chokidar's paths). */
export function bytePathFromText(text: string): BytePath {
  return Buffer.from(text, "utf8").toString("latin1");
}

/** The raw bytes of a byte path, e.g. for fs calls or rsync's stdin. */
export function bytesOf(path: BytePath): Buffer {
  return Buffer.from(path, "latin1");
}

/** A readable rendering for logs and status: UTF-8 where valid, U+FFFD elsewhere. */
export function displayPath(path: BytePath): string {
  return bytesOf(path).toString("utf8");
}

/** The parent of a relative byte path ("" for a top-level entry). */
export function parentOf(path: BytePath): BytePath {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

/** The proper ancestors of a relative path, outermost first: "a/b/c" -> ["a", "a/b"]. */
export function ancestorsOf(path: BytePath): BytePath[] {
  const out: BytePath[] = [];
  let at = path.indexOf("/");
  while (at >= 0) {
    out.push(path.slice(0, at));
    at = path.indexOf("/", at + 1);
  }
  return out;
}
