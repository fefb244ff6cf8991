import { expect, test } from "vitest";
import { addsSetId } from "./setid.ts";

test("chmod strings that add setuid or setgid", () => {
  for (const s of ["u+s", "g+s", "Du+s", "Fug=rwxs", "+s", "a+s", "F4755", "2775", "D6755", "Du=rwx,Fu+s"]) expect([s, addsSetId(s)]).toEqual([s, true]);
  for (const s of ["Du+rwx,Fu+rw", "F755", "0644", "o+s", "u-s", "D+t", "1777", "ug=rwx"]) expect([s, addsSetId(s)]).toEqual([s, false]);
});
