import type { DifferenceSet } from "../resources/verify-report.ts";

// Reads the output of a dry run `rsync -rlni --delete SRC/ DST/` (--itemize-changes) as
// differences. Pure. One line per name rsync would change:
//
//   "*deleting   stray.txt"   on the target only                    -> extra
//   ">f+++++++++ new.txt"     not on the target (a dir: "cd+++...")  -> missing
//   "<f+++++++++ new.txt"     the same, pushing to a daemon          -> missing
//   ">f..T...... old.txt"     size or modification time differs      -> different
//   ">fc.T...... x.bin"       content differs (--checksum)           -> different
//   "cLc.T...... link -> a"   symlink target differs                 -> different
//
// The root ("./") and rsync's other lines ("created directory ...") are not differences. rsync
// escapes unprintable bytes in names (\#012), so one line is always one name.

export type ItemizedKind = "missing" | "extra" | "different";

export interface Itemized {
  readonly kind: ItemizedKind;
  readonly path: string;
}

const ITEM = /^([<>ch.])([fdLDS])([.+ a-zA-Z?]{9}) (.+)$/;

/** One line of --itemize-changes output, or undefined when it names no difference. */
export function parseItemizeLine(line: string): Itemized | undefined {
  if (line.startsWith("*deleting ")) {
    const path = line.slice(12);
    return path === "" ? undefined : { kind: "extra", path };
  }
  const m = ITEM.exec(line);
  if (!m) return undefined;
  const [, update, type, flags, name] = m as unknown as [string, string, string, string, string];
  const path = type === "L" ? name.replace(/ -> .*$/, "") : name;
  if (path === "./" || path === ".") return undefined;
  if (flags === "+++++++++") return { kind: "missing", path };
  if (update === "." && /^[. ]*$/.test(flags)) return undefined;
  return { kind: "different", path };
}

export interface Tally {
  readonly missing: DifferenceSet;
  readonly extra: DifferenceSet;
  readonly different: DifferenceSet;
}

export interface TallyBuilder {
  add(line: string): void;
  result(): Tally;
}

/** Counts and samples, filled line by line (a million differences must not copy it a million times). */
export function startTally(sampleSize = 20): TallyBuilder {
  const sets = {
    missing: { count: 0, sample: [] as string[] },
    extra: { count: 0, sample: [] as string[] },
    different: { count: 0, sample: [] as string[] },
  };
  return {
    add: (line) => {
      const item = parseItemizeLine(line);
      if (item === undefined) return;
      const set = sets[item.kind];
      set.count++;
      if (set.sample.length < sampleSize) set.sample.push(item.path);
    },
    result: () => ({ missing: { ...sets.missing }, extra: { ...sets.extra }, different: { ...sets.different } }),
  };
}

/** The tally of a whole output. Pure. */
export function tallyItemized(output: string, sampleSize = 20): Tally {
  const builder = startTally(sampleSize);
  for (const line of output.split("\n")) builder.add(line);
  return builder.result();
}
