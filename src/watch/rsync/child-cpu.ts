import { readFile } from "node:fs/promises";

// The CPU time of this process's children that it has waited for (/proc/self/stat cutime +
// cstime): read before and after a full sync, the difference is what its rsync (and a local
// receiver rsync forked and waited for) cost. Node cannot give a child's rusage otherwise. Other
// runs ending meanwhile are counted too, which only makes the estimate larger (the schedule then
// spaces full syncs more). Undefined where /proc is not readable.

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux architecture Node runs on

/** The children's CPU seconds from the text of /proc/self/stat. Pure. */
export function parseChildrenCpu(stat: string): number | undefined {
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 16 and 17 of stat(5) (cutime, cstime) are 14th and 15th after the name.
  const cutime = Number(fields[13]);
  const cstime = Number(fields[14]);
  if (!Number.isFinite(cutime) || !Number.isFinite(cstime)) return undefined;
  return (cutime + cstime) / CLOCK_TICKS_PER_SECOND;
}

export async function readChildrenCpu(): Promise<number | undefined> {
  try {
    return parseChildrenCpu(await readFile("/proc/self/stat", "utf8"));
  } catch {
    return undefined;
  }
}
