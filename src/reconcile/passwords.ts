import { readFile } from "node:fs/promises";
import { isAbsolute, join, relative } from "node:path";
import { describeErrno, InternalError } from "../core/errors.ts";
import { BeneathError, readBeneath } from "../core/open-beneath.ts";
import type { Password } from "../manifest/schema.ts";
import { passwordProblem } from "../manifest/secrets.ts";
import type { PasswordResult } from "../resources/types.ts";

// Resolves users' passwords from the environment or from files. Errors name the user and where
// the password should have come from, never the password itself.

export async function readPassword(
  user: string,
  ref: Password,
  manifestDir: string,
  env: Readonly<Record<string, string | undefined>>,
  confinedTo?: string,
): Promise<PasswordResult> {
  let pw: string;
  let from: string;
  if ("env" in ref) {
    from = `environment variable ${ref.env}`;
    const value = env[ref.env];
    if (value === undefined) return { ok: false, message: `the password of user "${user}" comes from ${from}, which is not set` };
    pw = value;
  } else if ("file" in ref) {
    const path = isAbsolute(ref.file) ? ref.file : join(manifestDir, ref.file);
    from = `password file ${path}`;
    try {
      pw = (await readPasswordFile(path, isAbsolute(ref.file) ? undefined : confinedTo)).replace(/\r?\n$/, "");
    } catch (e) {
      const why = e instanceof BeneathError ? `${e.message}; rtsync reads a file a manifest in a checkout names relatively only as a regular file inside the checkout` : describeErrno(e);
      return { ok: false, message: `cannot read the password of user "${user}" from ${from}: ${why}` };
    }
  } else {
    from = "the manifest";
    pw = ref.value;
  }
  if (pw.length === 0) return { ok: false, message: `the password of user "${user}" from ${from} is empty` };
  // The same rule validate applies to inline passwords: what rsync can read back from a line.
  const problem = passwordProblem(user, pw);
  return problem ? { ok: false, message: `the password of user "${user}" from ${from} cannot be used: ${problem}` } : { ok: true, password: pw };
}

// A relative password file of a manifest in a git checkout is opened beneath the checkout (no
// symlink, no way out); any other is the operator's own file and is read as named.
function readPasswordFile(path: string, confinedTo: string | undefined): Promise<string> {
  return confinedTo === undefined ? readFile(path, "utf8") : readBeneath(confinedTo, relative(confinedTo, path), 64 * 1024);
}

/** Resolves every named user; failures are kept per user so one bad user does not hide the rest. */
export async function readPasswords(
  users: Readonly<Record<string, Password>>,
  names: Iterable<string>,
  manifestDir: string,
  env: Readonly<Record<string, string | undefined>>,
  confinedTo?: string,
): Promise<Map<string, PasswordResult>> {
  const out = new Map<string, PasswordResult>();
  for (const name of names) {
    const ref = users[name];
    if (!ref) throw new InternalError(`user ${name} is not in the manifest (validation should have refused it)`);
    out.set(name, await readPassword(name, ref, manifestDir, env, confinedTo));
  }
  return out;
}
