import { createHash } from "node:crypto";

/** A short stable hash of a JSON-serialisable value: the first 16 hex digits of sha256 of its JSON. */
export function hashOf(value: unknown): string {
  return hashText(JSON.stringify(value));
}

/** The first 16 hex digits of sha256 of `text`. */
export function hashText(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}
