// docs/manifest.md: the manifest reference, rendered from the JSON Schema that the zod model
// generates (src/manifest/json-schema.ts), so the page says exactly what `rtsync validate`
// accepts: every key, its type, its default and its description (the `.meta({ description })`
// of the model). The allowed rsyncArgs come from the allow-list itself. Pure: schema in, text out.
import { ALLOWED_RSYNC_OPTIONS } from "../../src/manifest/rsync-args.ts";

type Json = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const props = (s: Json): Array<[string, Json]> => (isObj(s["properties"]) ? Object.entries(s["properties"]).filter((e): e is [string, Json] => isObj(e[1])) : []);
const anyOf = (s: Json): Json[] => (Array.isArray(s["anyOf"]) ? s["anyOf"].filter(isObj) : []);
const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const anchor = (title: string): string =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, "")
    .replace(/ /g, "-");

/** One table of keys, titled by where it sits in a manifest (`watches.NAME`). */
interface Section {
  readonly title: string;
  readonly intro: string;
  readonly schema: Json;
}

// The sections below an object: its properties that are objects, maps of objects or lists of them.
function children(path: string, s: Json): Section[] {
  const out: Section[] = [];
  for (const [key, p] of props(s)) {
    for (const [sub, intro] of nested(p)) out.push({ title: `${path === "" ? "" : `${path}.`}${key}${sub}`, intro: intro ?? String(p["description"] ?? ""), schema: p });
  }
  return out;
}

// Where a property leads to an object of its own: [path suffix, intro] pairs.
function nested(p: Json): Array<[string, string | undefined]> {
  const target = objectOf(p);
  if (target === undefined) return [];
  return [[target.suffix, undefined]];
}

// The object schema a property holds (itself, a map's values, a list's object items).
function objectOf(p: Json): { suffix: string; schema: Json } | undefined {
  if (props(p).length > 0) return { suffix: "", schema: p };
  if (isObj(p["additionalProperties"]) && props(p["additionalProperties"]).length > 0) return { suffix: ".NAME", schema: p["additionalProperties"] };
  if (isObj(p["items"])) {
    const items = p["items"];
    const obj = props(items).length > 0 ? items : anyOf(items).find((a) => props(a).length > 0);
    if (obj !== undefined) return { suffix: "[]", schema: obj };
  }
  // A union of objects (a password's { env } | { file } | { value }): one table of their keys.
  const alts = anyOf(p);
  if (alts.length > 1 && alts.every((a) => props(a).length > 0)) return { suffix: "", schema: { type: "object", properties: Object.fromEntries(alts.flatMap(props)), oneOf: true } };
  const alt = alts.find((a) => props(a).length > 0);
  return alt === undefined ? undefined : { suffix: "", schema: alt };
}

// The type of a value as a reader wants it: "absolute path", "list of string", "duration", ...
function typeOf(s: Json): string {
  if ("const" in s) return `\`${JSON.stringify(s["const"])}\``;
  if (Array.isArray(s["enum"])) return s["enum"].map((v) => `\`${String(v)}\``).join(" | ");
  const alts = anyOf(s);
  if (alts.length > 0) {
    if (alts.some((a) => a["pattern"] === "^\\d+(ms|s|m)$")) return "duration";
    if (alts.every((a) => props(a).length > 0)) return "object";
    return alts.map(typeOf).join(" or ");
  }
  switch (s["type"]) {
    case "string":
      return s["pattern"] === "^\\/" ? "absolute path" : "string";
    case "integer":
    case "number": {
      const min = typeof s["minimum"] === "number" ? s["minimum"] : typeof s["exclusiveMinimum"] === "number" ? s["exclusiveMinimum"] + 1 : undefined;
      const max = typeof s["maximum"] === "number" && s["maximum"] < Number.MAX_SAFE_INTEGER ? s["maximum"] : undefined;
      const word = s["type"] === "integer" ? "integer" : "number";
      return min !== undefined && max !== undefined ? `${word} ${min}–${max}` : min !== undefined ? `${word} ≥ ${min}` : word;
    }
    case "boolean":
      return "boolean";
    case "array":
      return `list of ${isObj(s["items"]) ? typeOf(s["items"]) : "?"}`;
    case "object":
      if (props(s).length > 0) return "object";
      if (isObj(s["additionalProperties"])) return `map of name → ${typeOf(s["additionalProperties"])}`;
      return "object";
    default:
      return "any";
  }
}

function renderTable(section: Section, pathOf: (key: string) => string | undefined): string {
  const required = new Set(Array.isArray(section.schema["required"]) ? section.schema["required"] : []);
  const obj = objectOf(section.schema)?.schema ?? section.schema;
  const req = new Set([...required, ...(Array.isArray(obj["required"]) ? obj["required"] : [])]);
  const rows = props(obj).map(([key, p]) => {
    const link = pathOf(key);
    const type = link === undefined ? typeOf(p) : `${typeOf(p)} ([below](#${anchor(link)}))`;
    const def = "default" in p ? `\`${JSON.stringify(p["default"])}\`` : req.has(key) ? "required" : "";
    return `| \`${key}\` | ${cell(type)} | ${def} | ${cell(String(p["description"] ?? ""))} |`;
  });
  return ["| key | type | default | description |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

function allowedRsyncArgs(): string {
  const rows = ALLOWED_RSYNC_OPTIONS.map((o) => {
    const names = [...(o.short ? [`-${o.short}`] : []), ...o.long.map((n) => `--${n}${o.value ? `=${o.value.meta}` : ""}`)];
    return `| ${names.map((n) => `\`${n}\``).join(", ")} | ${o.why} |`;
  });
  return ["| option | why it is safe |", "| --- | --- |", ...rows].join("\n");
}

/** The whole page. */
export function renderManifestReference(schema: Json): string {
  // Depth first: each section is followed by the sections of its keys.
  const walk = (s: Section): Section[] => [s, ...children(s.title === "Top level" ? "" : s.title, objectOf(s.schema)?.schema ?? s.schema).flatMap(walk)];
  const sections = walk({ title: "Top level", intro: String(schema["description"] ?? ""), schema });
  const titleOf = (parent: Section, key: string): string | undefined => {
    const base = parent.title === "Top level" ? key : `${parent.title}.${key}`;
    return sections.find((x) => x.title === base || x.title === `${base}.NAME` || x.title === `${base}[]`)?.title;
  };
  const body = sections.map((s) => {
    const heading = s.title === "Top level" ? "## Top level" : `## \`${s.title}\``;
    const oneOf = (objectOf(s.schema)?.schema ?? s.schema)["oneOf"] === true ? ["Exactly one of these keys.", ""] : [];
    return [heading, "", ...(s.intro === "" ? [] : [cell(s.intro), ""]), ...oneOf, renderTable(s, (key) => titleOf(s, key))].join("\n");
  });
  return [
    "<!-- Generated by `npm run docs` from src/manifest/schema.ts and src/manifest/rsync-args.ts: edit those, not this page. CI fails when it is stale (`npm run docs:check`). -->",
    "",
    "# Manifest reference",
    "",
    "Every key `rtsync validate` accepts, generated from the manifest's schema (the same schema as",
    "[schemas/rtsync.schema.json](../schemas/rtsync.schema.json), which editors use for completion:",
    "start a manifest with `# yaml-language-server: $schema=…/rtsync.schema.json`). Unknown keys are",
    "errors. `NAME` stands for a name you choose: a letter or digit, then letters, digits, `.`, `_`",
    "or `-`. A duration is a whole number of milliseconds or a string such as `200ms`, `2s`, `1m`.",
    "",
    "Checks that involve more than one value (a user named in `authUsers` exists, two daemons do not",
    "share a port, paths rtsync refuses, …) are listed in [security-model.md](security-model.md).",
    "",
    ...sections.map((s) => `- [${s.title === "Top level" ? "Top level" : `\`${s.title}\``}](#${anchor(s.title === "Top level" ? "Top level" : s.title)})`),
    "- [Allowed rsyncArgs](#allowed-rsyncargs)",
    "",
    body.join("\n\n"),
    "",
    "## Allowed rsyncArgs",
    "",
    "rtsync runs rsync as root with an argument list it builds itself — incremental runs are",
    "`-a --ignore-times --delete --ignore-errors --force --from0 … --include-from=- --exclude=*`, full",
    "syncs `-a --delete-delay …`, directory renames `-a --delete … --link-dest=…` — so `rsyncArgs` may",
    "only tune *how* data travels, never *what* is sent, deleted, or written where. It is an",
    "allow-list: any other option is a validation error that says why, and names the manifest key that",
    "does the job when there is one (`--exclude` → `exclude:`, `--max-delete` → `maxDelete:`,",
    "`--password-file` → `users:`, the port → the target URL; `--delete*`: rtsync decides deletes;",
    "`--remove-source-files`: both copies would be lost; `--files-from`, `--include-from`, `--from0`,",
    "`--filter`: rtsync owns the file list; `-v`, `--info`, `--out-format`, `--log-file`: rtsync reads",
    "rsync's output and keeps its own log).",
    "",
    "**One item is one argument.** Write an option and its value as one item, `--bwlimit=1000`;",
    '`["--bwlimit", "1000"]` is refused (a value in the next item would be read as a path, and an option',
    "missing its value would swallow the argument rtsync puts after it). Options that take a value are",
    "only accepted in their long form (`--block-size=128k`, not `-B128k`). Short flags without a value",
    "may be bundled (`-zH`); every letter is checked.",
    "",
    allowedRsyncArgs(),
    "",
    "Values are checked too: sizes and rates look like `1000`, `1.5m`, `10M`; `--partial-dir` must be",
    "relative and stay inside the target; `--chmod` may not add setuid or setgid. rsync refuses",
    "`--inplace` together with `--partial-dir`, and so does `validate`.",
    "",
  ].join("\n");
}
