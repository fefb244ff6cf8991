import type { z } from "zod";
import { error, type RawIssue } from "./issues.ts";
import type { PathSegment } from "./positions.ts";
import { closest } from "./suggest.ts";

// Turns zod's issues into one clear sentence each, at the path of the offending key or value.

type AnySchema = z.core.$ZodType;

// The value at `path` in the raw (pre-validation) data.
function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

// The schema that describes the value at `path`, following objects, records, arrays and wrappers.
function schemaAt(root: AnySchema, path: readonly PathSegment[]): AnySchema | undefined {
  let cur: AnySchema | undefined = root;
  const unwrap = (s: AnySchema): AnySchema => {
    let x = s;
    for (;;) {
      const def = x._zod.def as { type: string; innerType?: AnySchema; options?: readonly AnySchema[] };
      if ((def.type === "optional" || def.type === "default" || def.type === "nullable") && def.innerType) x = def.innerType;
      // A union with one mapping among its forms (a target: a string or { url, ... }): that mapping.
      else if (def.type === "union" && def.options) {
        const mapping = def.options.filter((o) => (o._zod.def as { type: string }).type === "object");
        if (mapping.length !== 1 || mapping[0] === undefined) return x;
        x = mapping[0];
      } else return x;
    }
  };
  for (const seg of path) {
    if (!cur) return undefined;
    const def = unwrap(cur)._zod.def as { type: string; shape?: Record<string, AnySchema>; valueType?: AnySchema; element?: AnySchema };
    if (def.type === "object") cur = def.shape?.[String(seg)];
    else if (def.type === "record") cur = def.valueType;
    else if (def.type === "array") cur = def.element;
    else return undefined;
  }
  return cur ? unwrap(cur) : undefined;
}

function knownKeys(root: AnySchema, path: readonly PathSegment[]): string[] {
  const s = schemaAt(root, path);
  const def = s?._zod.def as { type: string; shape?: Record<string, AnySchema> } | undefined;
  return def?.type === "object" && def.shape ? Object.keys(def.shape).filter((k) => k !== "$schema") : [];
}

function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

function lastName(path: readonly PathSegment[]): string {
  const last = path[path.length - 1];
  return last === undefined ? "the manifest" : typeof last === "number" ? `item ${last}` : last;
}

const EXPECTED: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
};

// A key as a message may quote it: one that looks like a key name (rsyncd parameters have spaces).
// Anything else is shown by its length only: a file that is not a manifest (a symlink to
// /etc/shadow, a key file) must not be quoted back into a log or /healthz.
const QUOTABLE_KEY = /^[A-Za-z0-9_][A-Za-z0-9_. -]{0,63}$/;

/** `"key"`, or a description of it when it does not look like a key name. Pure. */
export function quoteKey(key: string): string {
  return QUOTABLE_KEY.test(key) ? `"${key}"` : `(${key.length} characters, not shown: not a key name)`;
}

function unknownKeyMessage(root: AnySchema, parent: readonly PathSegment[], key: string): string {
  const known = knownKeys(root, parent);
  if (parent.length === 1 && parent[0] === "sysctl") {
    return `sysctl key ${quoteKey(key)} is not allowed: rtsync only raises ${known.join(", ")}`;
  }
  const guess = QUOTABLE_KEY.test(key) ? closest(key, known) : undefined;
  const where = parent.length === 0 ? "at the top level" : `in ${parent.join(".")}`;
  return `unknown key ${quoteKey(key)} ${where}${guess ? ` (did you mean "${guess}"?)` : known.length ? `; expected one of: ${known.join(", ")}` : ""}`;
}

// zod's default wording, made into the end of a sentence that starts with the key's name.
function plainMessage(message: string): string {
  return message
    .replace(/^Invalid input: /, "")
    .replace(/^Too (small|big): expected \w+ to (have|be) /, "must be ")
    .replace(/^must be >=(\d+) items?$/, "must have at least $1 item(s)")
    .replace(/^must be <=/, "must be at most ")
    .replace(/^must be >=/, "must be at least ")
    .replace(/^must be >/, "must be greater than ")
    .replace(/^must be </, "must be less than ");
}

/** One RawIssue per zod issue (one per key for unknown keys). */
export function schemaIssues(root: AnySchema, data: unknown, issues: readonly z.core.$ZodIssue[]): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((s): s is PathSegment => typeof s !== "symbol");
    const raw = valueAt(data, path);
    const name = lastName(path);
    if (raw === undefined && (issue.code === "invalid_type" || issue.code === "invalid_value")) {
      out.push(error(path, `missing required key "${name}"`));
      continue;
    }
    switch (issue.code) {
      case "unrecognized_keys":
        for (const key of issue.keys) out.push(error([...path, key], unknownKeyMessage(root, path, key), true));
        break;
      case "invalid_key": {
        const inner = issue.issues[0]?.message ?? "is not a valid name";
        out.push(error(path, `invalid name "${String(path[path.length - 1])}": ${inner}`, true));
        break;
      }
      case "invalid_type":
        out.push(error(path, `${name} must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${describeValue(raw)}`));
        break;
      case "invalid_union":
        if (name === "password" && typeof raw === "string") {
          out.push(error(path, "password must not be written inline; use { env: VARIABLE } or { file: path/relative/to/manifest }"));
        } else if (name === "password") {
          out.push(error(path, "password must be { env: VARIABLE }, { file: PATH } or { value: ... }"));
        } else if (path[path.length - 2] === "targets" && raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
          // A target written as a mapping: what is wrong inside it (its own branch of the union).
          const branch = issue.errors.find((b) => !b.some((i) => i.path.length === 0 && i.code === "invalid_type")) ?? [];
          out.push(...schemaIssues(root, data, branch.map((i) => ({ ...i, path: [...path, ...i.path] }))));
        } else if (path[path.length - 2] === "targets") {
          out.push(error(path, `targets item ${String(path[path.length - 1])} must be a target (rsync://…, host::module or /dir) or { url, rsyncArgs, fullSync, maxDelete }, not ${describeValue(raw)}`));
        } else {
          out.push(error(path, `${name} ${issue.message}`));
        }
        break;
      case "invalid_value":
        if (!issue.message.startsWith("Invalid")) out.push(error(path, `${name} ${issue.message}`));
        else out.push(error(path, `${name} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, not ${describeValue(raw)}`));
        break;
      default:
        out.push(error(path, `${name} ${plainMessage(issue.message)}`));
    }
  }
  return out;
}
