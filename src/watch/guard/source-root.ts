import { opendir, readFile, realpath, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { describeErrno } from "../../core/errors.ts";
import { bytePathFromText } from "../byte-path.ts";
import type { ExcludeMatcher } from "../batching/exclude-match.ts";
import type { RootObservation } from "./decide.ts";

// Reads what the deletion guard needs to know about the source root: whether it exists, its
// device, whether it is a mount point, and whether it holds anything. Observes only; a few
// syscalls and one small file, so it runs before every full sync.

/** Mount points listed in /proc/self/mountinfo (field 5, with its octal escapes undone). Pure. */
export function parseMountPoints(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const line of mountinfo.split("\n")) {
    const field = line.split(" ")[4];
    if (field === undefined || field === "") continue;
    out.add(field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8))));
  }
  return out;
}

// Whether the kernel lists `dir` as a mount point: catches a bind mount, whose device is its
// parent's. Undefined when /proc cannot tell.
async function listedAsMountPoint(dir: string): Promise<boolean | undefined> {
  try {
    const [real, text] = await Promise.all([realpath(dir), readFile("/proc/self/mountinfo", "utf8")]);
    return parseMountPoints(text).has(real);
  } catch {
    return undefined;
  }
}

// No entry that a full sync would mirror: lost+found (every ext4 root has one) and excluded
// names do not count. Reads only as far as the first entry that counts.
async function holdsNothing(dir: string, excluded: ExcludeMatcher): Promise<boolean | undefined> {
  try {
    for await (const entry of await opendir(dir)) {
      if (entry.name === "lost+found" && entry.isDirectory()) continue;
      if (excluded(bytePathFromText(entry.name), entry.isDirectory())) continue;
      return false;
    }
    return true;
  } catch {
    return undefined;
  }
}

export async function readSourceRoot(source: string, excluded: ExcludeMatcher): Promise<RootObservation> {
  let root;
  try {
    root = await stat(source);
  } catch (error) {
    return { exists: false, why: describeErrno(error) };
  }
  if (!root.isDirectory()) return { exists: true, directory: false, dev: root.dev, mountPoint: false, empty: undefined };
  const parent = await stat(dirname(source)).catch(() => undefined);
  const [listed, empty] = await Promise.all([listedAsMountPoint(source), holdsNothing(source, excluded)]);
  const mountPoint = source === "/" || (parent !== undefined && parent.dev !== root.dev) || listed === true;
  return { exists: true, directory: true, dev: root.dev, mountPoint, empty };
}
