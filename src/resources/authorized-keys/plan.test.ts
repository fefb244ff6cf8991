import { expect, test } from "vitest";
import { planAuthorizedKeys, renderAuthorizedKeyLine } from "./index.ts";

const r = { name: "www-in", path: "/srv/replica/www" };
const K1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1 web-1";
const K2 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey2 web-2";

test("a line restricts the key to writing into the path through rrsync, and is marked", () => {
  expect(renderAuthorizedKeyLine(r, K1)).toBe(`restrict,command="/usr/bin/rrsync -wo -absolute /srv/replica/www" ${K1} # rtsync:www-in`);
});

test("only the receiver's marked lines are replaced, in place; other lines (the operator's, another receiver's) stay", () => {
  const other = "ssh-rsa AAAAB3Nza operator@laptop";
  const another = `restrict,command="x" ssh-ed25519 AAAAother # rtsync:db-in`;
  const before = `${other}\n${renderAuthorizedKeyLine(r, K1)}\n${another}\n`;
  expect(planAuthorizedKeys(before, "www-in", [renderAuthorizedKeyLine(r, K2)])).toBe(`${other}\n${renderAuthorizedKeyLine(r, K2)}\n${another}\n`);
  expect(planAuthorizedKeys(before, "www-in", [])).toBe(`${other}\n${another}\n`);
  expect(planAuthorizedKeys(`${other}\n`, "www-in", [renderAuthorizedKeyLine(r, K1)])).toBe(`${other}\n${renderAuthorizedKeyLine(r, K1)}\n`);
  expect(planAuthorizedKeys("", "www-in", [])).toBe("");
});

test("converged: planning again changes nothing", () => {
  const once = planAuthorizedKeys("ssh-rsa AAAA x\n", "www-in", [renderAuthorizedKeyLine(r, K1), renderAuthorizedKeyLine(r, K2)]);
  expect(planAuthorizedKeys(once, "www-in", [renderAuthorizedKeyLine(r, K1), renderAuthorizedKeyLine(r, K2)])).toBe(once);
});
