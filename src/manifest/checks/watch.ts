import { cronProblem } from "../../core/cron.ts";
import { error, type RawIssue } from "../issues.ts";
import type { PathSegment } from "../positions.ts";
import type { Watch } from "../schema.ts";
import { rsyncArgProblem, rsyncArgsConflict } from "../rsync-args.ts";
import { normalisePath, within } from "../system-paths.ts";
import { parseTarget } from "../target.ts";

// A watch job: its target, its schedule, its excludes.

type Path = readonly PathSegment[];

export function checkWatch(out: RawIssue[], path: Path, w: Watch, userNames: ReadonlySet<string>): void {
  const parsed = parseTarget(w.target);
  if (!parsed.ok) {
    out.push(error([...path, "target"], parsed.message));
  } else if (parsed.target.kind === "daemon" && parsed.target.user && !userNames.has(parsed.target.user)) {
    out.push(error([...path, "target"], `target user "${parsed.target.user}" is not defined in users`));
  } else if (parsed.target.kind === "local") {
    const t = normalisePath(parsed.target.path).path;
    const source = normalisePath(w.source).path;
    if (within(t, source) || within(source, t)) {
      out.push(error([...path, "target"], `target ${t} and source ${source} overlap; a watch would copy into its own tree`));
    }
  }
  if (w.fullSync) {
    const why = cronProblem(w.fullSync.schedule);
    if (why) out.push(error([...path, "fullSync", "schedule"], `schedule "${w.fullSync.schedule}" ${why}`));
  }
  w.rsyncArgs.forEach((arg, i) => {
    const why = rsyncArgProblem(arg);
    if (why) out.push(error([...path, "rsyncArgs", i], `rsyncArgs item ${JSON.stringify(arg)} ${why}`));
  });
  const conflict = rsyncArgsConflict(w.rsyncArgs);
  if (conflict) out.push(error([...path, "rsyncArgs", conflict.index], conflict.message));
  w.exclude.forEach((pattern, i) => {
    if (/[\r\n\0]/.test(pattern)) out.push(error([...path, "exclude", i], "exclude pattern must not contain a line break or NUL"));
  });
}
