import { error, warning, type RawIssue } from "../issues.ts";
import type { Manifest } from "../schema.ts";
import { unsafeConfValue } from "./values.ts";

// users: where each password comes from, and what a password may contain.

export function checkUsers(out: RawIssue[], users: Manifest["users"]): void {
  for (const [name, u] of Object.entries(users)) {
    if ("value" in u.password) {
      const why = unsafeConfValue(u.password.value);
      if (why) out.push(error(["users", name, "password", "value"], `password ${why.replace("rsyncd.conf line", "secrets file line")}`));
      out.push(warning(["users", name, "password"], `user "${name}" has an inline password; keep it out of git with { env: VARIABLE } or { file: PATH }`));
    }
  }
}
