import { bytesOf, parentOf, type BytePath } from "../byte-path.ts";
import { buildRenameArgs } from "./args.ts";
import type { LaneSpec } from "../../state/watch-spec.ts";

// Which directory renames of a batch get a rename step before the incremental run (see
// buildRenameArgs), and what the incremental run still has to list afterwards. Pure.

export interface RenameStep {
  readonly from: BytePath;
  readonly to: BytePath;
  readonly args: string[];
}

const MAX_STEPS = 16;
const BASIS_OPTIONS = /^--(link|copy|compare)-dest(=|$)/;

// A rename step transfers a subdirectory on its own, so it may only run when every exclude
// pattern means the same there as from the source root: no anchored or multi-segment patterns.
function excludesWorkInSubtrees(exclude: readonly string[]): boolean {
  return exclude.every((p) => {
    const core = p.replace(/\/\*\*\*$/, "").replace(/\/+$/, "");
    return !core.includes("/") && !core.includes("**");
  });
}

// Command-line arguments are UTF-8 strings: a path that is not valid UTF-8 cannot be passed.
function asArgText(path: BytePath): string | undefined {
  const text = bytesOf(path).toString("utf8");
  return Buffer.from(text, "utf8").equals(bytesOf(path)) ? text : undefined;
}

export function planRenameSteps(spec: Pick<LaneSpec, "source" | "target" | "daemonTarget" | "passwordFile" | "exclude" | "rsyncArgs" | "ssh">, renames: ReadonlyMap<BytePath, BytePath>): RenameStep[] {
  if (renames.size === 0 || !excludesWorkInSubtrees(spec.exclude) || spec.rsyncArgs.some((a) => BASIS_OPTIONS.test(a))) return [];
  const steps: RenameStep[] = [];
  for (const [to, from] of renames) {
    const toText = asArgText(to);
    const fromText = asArgText(from);
    if (toText === undefined || fromText === undefined || to === from) continue;
    steps.push({ from, to, args: buildRenameArgs(spec, fromText, toText) });
    if (steps.length === MAX_STEPS) break;
  }
  return steps;
}

/** The entries left for the incremental run once the renamed directories in `done` are synced. */
export function planEntriesAfterRenames(entries: ReadonlyMap<BytePath, boolean>, done: readonly BytePath[]): Map<BytePath, boolean> {
  const out = new Map(entries);
  for (const to of done) {
    out.delete(to);
    const parent = parentOf(to);
    if (parent !== "" && !out.has(parent)) out.set(parent, false); // its times changed with the rename
  }
  return out;
}
