// The daemon's secrets file (`user:password` per line) and its masked comparison. Pure. Nothing
// here returns a password in a form meant for output: callers print only user names.

export function renderSecretsFile(passwords: ReadonlyMap<string, string>): string {
  return [...passwords.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([user, pw]) => `${user}:${pw}\n`)
    .join("");
}

/** user -> password of an existing secrets file (comments and malformed lines ignored). */
export function parseSecretsFile(content: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of content.split("\n")) {
    if (line.startsWith("#") || !line.includes(":")) continue;
    const at = line.indexOf(":");
    out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

export interface SecretsDelta {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
}

/** Which users were added, removed or got another password: names only. */
export function compareSecrets(have: ReadonlyMap<string, string>, want: ReadonlyMap<string, string>): SecretsDelta {
  const sorted = (xs: string[]) => xs.sort((a, b) => a.localeCompare(b));
  return {
    added: sorted([...want.keys()].filter((u) => !have.has(u))),
    removed: sorted([...have.keys()].filter((u) => !want.has(u))),
    changed: sorted([...want.keys()].filter((u) => have.has(u) && have.get(u) !== want.get(u))),
  };
}
