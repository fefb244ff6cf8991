import { cronProblem } from "../../core/cron.ts";
import { error, errorWith, type RawIssue } from "../issues.ts";
import type { PathSegment } from "../positions.ts";
import type { Watch } from "../schema.ts";
import { rsyncArgProblem, rsyncArgsConflict } from "../rsync-args.ts";
import { normalisePath, within } from "../system-paths.ts";
import { parseTarget, watchTargets, type Target } from "../target.ts";
import { checkSshTarget } from "./ssh.ts";

// A watch job: its target(s), its schedules, its rsyncArgs, its excludes. (Two targets that are
// one destination, in one watch or two, are the collision check's: collisions.ts.)

type Path = readonly PathSegment[];

function checkSchedule(out: RawIssue[], at: Path, schedule: string): void {
  const why = cronProblem(schedule);
  if (why) out.push(error(at, `schedule "${schedule}" ${why}`));
}

// The same allow-list for the watch's rsyncArgs and for a target's own.
function checkRsyncArgs(out: RawIssue[], at: Path, args: readonly string[]): void {
  args.forEach((arg, i) => {
    const why = rsyncArgProblem(arg);
    if (why) out.push(error([...at, i], `rsyncArgs item ${JSON.stringify(arg)} ${why}`));
  });
  const conflict = rsyncArgsConflict(args);
  if (conflict) out.push(error([...at, conflict.index], conflict.message));
}

/** Checks one watch; returns its targets that parsed (for the clear-text warning). */
export function checkWatch(out: RawIssue[], path: Path, w: Watch, userNames: ReadonlySet<string>): Array<{ readonly at: Path; readonly target: Target }> {
  const parsedTargets: Array<{ readonly at: Path; readonly target: Target }> = [];
  if (w.target !== undefined && w.targets !== undefined) {
    const both = errorWith([...path, "targets"], "`targets` and `target`", { path: [...path, "target"], atKey: true, rest: " in one watch: a watch takes one or the other; move that target into the list" });
    out.push({ ...both, atKey: true });
  } else if (w.target === undefined && w.targets === undefined) {
    out.push(error(path, "the watch has no target: add `target: DESTINATION`, or `targets: [...]` for several", true));
  } else if (w.targets?.length === 0) {
    out.push(error([...path, "targets"], "targets lists no target: name at least one (or use `target:`)"));
  }
  const source = normalisePath(w.source).path;
  for (const t of watchTargets(w)) {
    const at = [...path, ...t.at];
    const parsed = parseTarget(t.text);
    if (parsed.ok) {
      parsedTargets.push({ at, target: parsed.target });
      checkSshTarget(out, path, t, parsed.target);
    }
    if (!parsed.ok) {
      out.push(error(at, parsed.message));
    } else if (parsed.target.kind === "daemon" && parsed.target.user && !userNames.has(parsed.target.user)) {
      out.push(error(at, `target user "${parsed.target.user}" is not defined in users`));
    } else if (parsed.target.kind === "local") {
      const target = normalisePath(parsed.target.path).path;
      if (within(target, source) || within(source, target)) {
        out.push(error(at, `target ${target} and source ${source} overlap; a watch would copy into its own tree`));
      }
    }
    if (t.fullSync) checkSchedule(out, [...path, ...t.entryAt, "fullSync", "schedule"], t.fullSync.schedule);
    if (t.rsyncArgs) checkRsyncArgs(out, [...path, ...t.entryAt, "rsyncArgs"], t.rsyncArgs);
  }
  if (w.fullSync) checkSchedule(out, [...path, "fullSync", "schedule"], w.fullSync.schedule);
  checkRsyncArgs(out, [...path, "rsyncArgs"], w.rsyncArgs);
  w.exclude.forEach((pattern, i) => {
    if (/[\r\n\0]/.test(pattern)) out.push(error([...path, "exclude", i], "exclude pattern must not contain a line break or NUL"));
  });
  return parsedTargets;
}
