import { expect, test } from "vitest";
import { placeInText } from "./place.ts";
import { parseManifest } from "./parse.ts";
import { checkNodeMatch, matchNode } from "./node-match.ts";

const TEXT = `version: 1
daemons:
  store:
    nodes: [inotify-slave]
    modules:
      data: { path: /srv/data }
watches:
  push:
    nodes: [inotify-master, web2]
    source: /srv/data
    target: /tmp/copy
`;

function manifest(text = TEXT) {
  const r = parseManifest(text, "/etc/rtsync.yaml");
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.manifest;
}

test("a node named in a nodes: list matches; a typo or an FQDN matches nothing", () => {
  expect(matchNode(manifest(), "web2")).toEqual({ matched: true, known: ["inotify-master", "inotify-slave", "web2"] });
  expect(matchNode(manifest(), "inotify-mastre").matched).toBe(false);
  expect(matchNode(manifest(), "inotify-master.example.com").matched).toBe(false);
});

test("a daemon or watch without nodes: runs everywhere, so every node matches; so does a manifest without any", () => {
  expect(matchNode(manifest(TEXT.replace("    nodes: [inotify-slave]\n", "")), "anything").matched).toBe(true);
  expect(matchNode(manifest("version: 1\n"), "anything").matched).toBe(true);
});

test("the warning names the known nodes, guesses the intended one, and sits at the first nodes: list", () => {
  const m = manifest();
  const raw = checkNodeMatch(m, "inotify-master.example.com");
  expect(raw).toBeDefined();
  const [issue] = placeInText(TEXT, "/etc/rtsync.yaml", raw ? [raw] : []);
  expect(issue).toMatchObject({ severity: "warning", line: 4, col: 5 });
  expect(issue?.message).toBe(
    'node "inotify-master.example.com" matches none of the manifest\'s nodes: lists (it knows "inotify-master", "inotify-slave", "web2"), so nothing runs here; did you mean "inotify-master"? (pass --node with one of them, or add "inotify-master.example.com" to a nodes: list)',
  );
  expect(checkNodeMatch(m, "web2")).toBeUndefined();
});
