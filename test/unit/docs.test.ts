import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

// The user docs (README.md and docs/) stay something an operator can find things in: a README of
// at most 250 lines with a table of contents, every docs page reachable from it by links, every
// relative link pointing at a file that exists (and at a heading that exists, for #anchors), and
// no issue numbers from the project's tracker.

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function markdownUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...(await markdownUnder(path)));
    else if (e.name.endsWith(".md")) out.push(path);
  }
  return out.sort();
}

const exists = (path: string) => stat(join(ROOT, path)).then(() => true, () => false);

// GitHub's anchor for a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`.
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

function anchorsOf(text: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const h = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (!h?.[1]) continue;
    const base = slug(h[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

// Relative links of a page (outside code), as [path or "", anchor or ""].
function linksOf(text: string): Array<{ target: string; anchor: string }> {
  const prose = text.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "``");
  const out: Array<{ target: string; anchor: string }> = [];
  for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    const href = m[1] ?? "";
    if (/^[a-z]+:/i.test(href)) continue;
    const [target = "", anchor = ""] = href.split("#");
    out.push({ target, anchor });
  }
  return out;
}

const pages = async () => ["README.md", ...(await markdownUnder("docs"))];

test("README.md is at most 250 lines and has a table of contents into docs/", async () => {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  expect(readme.split("\n").length).toBeLessThanOrEqual(250);
  expect(readme).toMatch(/^## Contents$/m);
  expect(readme).toMatch(/^## Documentation$/m);
});

test("every relative link in README.md and docs/ resolves to a file, and every #anchor to a heading", async () => {
  const broken: string[] = [];
  for (const page of await pages()) {
    const text = await readFile(join(ROOT, page), "utf8");
    for (const { target, anchor } of linksOf(text)) {
      const path = target === "" ? page : relative(ROOT, resolve(ROOT, dirname(page), target));
      if (!(await exists(path))) {
        broken.push(`${page}: ${target} (${path} does not exist)`);
        continue;
      }
      if (anchor !== "" && path.endsWith(".md") && !anchorsOf(await readFile(join(ROOT, path), "utf8")).has(anchor)) broken.push(`${page}: ${target}#${anchor} (no such heading in ${path})`);
    }
  }
  expect(broken).toEqual([]);
});

test("every docs/**/*.md page is reachable by links from README.md", async () => {
  const reached = new Set<string>(["README.md"]);
  const queue = ["README.md"];
  while (queue.length > 0) {
    const page = queue.shift() ?? "";
    if (!page.endsWith(".md") || !(await exists(page))) continue;
    for (const { target } of linksOf(await readFile(join(ROOT, page), "utf8"))) {
      if (target === "") continue;
      const path = relative(ROOT, resolve(ROOT, dirname(page), target));
      const file = (await stat(join(ROOT, path)).then((s) => s.isDirectory(), () => false)) ? `${path}/README.md` : path;
      if (!reached.has(file)) {
        reached.add(file);
        queue.push(file);
      }
    }
  }
  const unreached = (await markdownUnder("docs")).filter((p) => !reached.has(p));
  expect(unreached).toEqual([]);
});

test("no issue numbers of the project's tracker in README.md or docs/", async () => {
  const found: string[] = [];
  for (const page of await pages()) {
    const lines = (await readFile(join(ROOT, page), "utf8")).split("\n");
    lines.forEach((line, i) => {
      // "issue 14", "issues 5 and 10", "(#20)", "#20": not a URL's /issues/59, not a file name like issue10-1m.json.
      if (/\bissues?\s+#?\d+|(^|[\s(,;])#\d+\b/i.test(line.replace(/\]\([^)]*\)/g, "]()"))) found.push(`${page}:${i + 1}: ${line.trim()}`);
    });
  }
  expect(found).toEqual([]);
});
