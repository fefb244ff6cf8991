import { error, warning, type RawIssue } from "../issues.ts";
import type { Manifest } from "../schema.ts";
import { ENV_NAME, passwordProblem } from "../secrets.ts";

// users: where each password comes from, and what a password may contain (secrets.ts).

export function checkUsers(out: RawIssue[], users: Manifest["users"]): void {
  for (const [name, u] of Object.entries(users)) {
    if ("env" in u.password && !ENV_NAME.test(u.password.env)) {
      // Never echo it: a password pasted where the variable's name belongs is a common slip.
      out.push(error(["users", name, "password", "env"], "password env is not a valid environment variable name (letters, digits and _, not starting with a digit)"));
    }
    if ("value" in u.password) {
      const why = passwordProblem(name, u.password.value);
      if (why) out.push(error(["users", name, "password", "value"], why));
      out.push(warning(["users", name, "password"], `user "${name}" has an inline password; keep it out of git with { env: VARIABLE } or { file: PATH }`));
    }
  }
}
