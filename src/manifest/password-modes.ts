import { stat } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { warning, type RawIssue } from "./issues.ts";
import type { Manifest } from "./schema.ts";

// A password file other users can read (a demo secret checked out 0644) hands the password to
// every account on the machine: validate and apply warn, at the user's `file:`, with the chmod.

/** The warning for a password file with these mode bits, or undefined when only its owner can read or write it. Pure. */
export function passwordModeWarning(user: string, path: string, mode: number): RawIssue | undefined {
  if ((mode & 0o077) === 0) return undefined;
  const octal = (mode & 0o7777).toString(8).padStart(4, "0");
  return warning(["users", user, "password", "file"], `the password file ${path} of user "${user}" can be read by users other than its owner (mode ${octal}): chmod 600 ${path}`);
}

/** Warnings for the manifest's password files that group or others may read; a file that cannot be stat'ed is apply's error, not this. Only observes. */
export async function readPasswordModeWarnings(m: Manifest, manifestFile: string): Promise<RawIssue[]> {
  const found = await Promise.all(
    Object.entries(m.users).map(async ([user, { password: ref }]) => {
      if (!("file" in ref)) return undefined;
      const path = isAbsolute(ref.file) ? ref.file : join(dirname(manifestFile), ref.file);
      const mode = await stat(path).then((s) => s.mode, () => undefined);
      return mode === undefined ? undefined : passwordModeWarning(user, path, mode);
    }),
  );
  return found.filter((w) => w !== undefined);
}
