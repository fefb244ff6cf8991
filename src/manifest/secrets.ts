// What a password, a variable name and an account name may be. Pure; the apply side can use
// passwordProblem for passwords read from { env } and { file } too.
//
// rsync's authenticate.c (3.x): the daemon reads its secrets file with fgets() into a 1024-byte
// buffer and cuts each line at the first CR or LF (strtok "\n\r"); a line is `name:password`, the
// password being everything after the first ':' — spaces, '#' and '\' included. The client
// reads at most 511 bytes of --password-file and cuts them the same way. '#' makes a comment
// only at the start of a line, and the line starts with the user name. So a password may hold
// anything but CR, LF and NUL, and must fit both buffers.

/** Longest password the rsync client reads from a password file. */
export const MAX_PASSWORD_BYTES = 511;
/** Longest `name:password` line rsyncd reads in one piece (fgets into 1024 bytes, with the LF). */
export const MAX_SECRETS_LINE_BYTES = 1022;

/** Why `password` of `user` cannot go into a secrets file and a password file, or undefined. */
export function passwordProblem(user: string, password: string): string | undefined {
  if (/[\r\n\0]/.test(password)) return "password must not contain a line break or NUL (it would start a new secrets file line)";
  // rsync keeps surrounding whitespace, but it is invisible in YAML and in files: refused, as
  // the contract says, rather than kept by surprise.
  if (password !== password.trim()) return "password must not start or end with whitespace (rsync would keep it as part of the password)";
  const bytes = Buffer.byteLength(password, "utf8");
  if (bytes > MAX_PASSWORD_BYTES) return `password is ${bytes} bytes; rsync reads at most ${MAX_PASSWORD_BYTES} bytes of a password file, so it could never log in`;
  const line = Buffer.byteLength(`${user}:${password}`, "utf8");
  if (line > MAX_SECRETS_LINE_BYTES) {
    return `the secrets line of user "${user}" is ${line} bytes; rsyncd reads ${MAX_SECRETS_LINE_BYTES} bytes of a line and would read the rest as a line of its own`;
  }
  return undefined;
}

/** A name `{ env: NAME }` may give: what a POSIX shell accepts as a variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Debian's NAME_REGEX for system accounts (adduser.conf), which useradd and groupadd accept. */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_-]*\$?$/;
export const MAX_ACCOUNT_NAME = 32;

/** Why `name` cannot be created by useradd/groupadd, or undefined. */
export function accountNameProblem(name: string): string | undefined {
  return ACCOUNT_NAME.test(name) && name.length <= MAX_ACCOUNT_NAME
    ? undefined
    : "lower-case letters, digits, _ and -, starting with a letter or _, at most 32 characters";
}
