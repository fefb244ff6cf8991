import { readFile } from "node:fs/promises";
import { RtsyncError } from "../core/errors.ts";
import { parseManifest, type ParseResult } from "./parse.ts";

// Reads a manifest file and parses it. A missing or unreadable file is one clear sentence.
export async function loadManifest(file: string): Promise<ParseResult & { readonly file: string; readonly text: string }> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file (pass the manifest path, or run in a directory with rtsync.yaml)"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "it is a directory"
            : (e as Error).message;
    throw new RtsyncError("E_MANIFEST", "user", `cannot read manifest ${file}: ${why}`, { cause: e });
  }
  return { ...parseManifest(text, file), file, text };
}
