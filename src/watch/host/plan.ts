import type { HostJob } from "../../state/host-jobs.ts";

// What the watch host does when its job list changes: start the jobs it does not run, restart
// the ones whose spec changed or that apply asked to restart (only those), stop the ones no longer listed. Pure.

export interface HostJobPlan {
  readonly start: readonly string[];
  readonly restart: readonly string[];
  readonly stop: readonly string[];
}

/** What a job runs with: its spec, and the restart token apply sets to restart it with the same spec. Pure. */
export const jobKey = (job: HostJob): string => (job.restart === undefined ? job.specHash : `${job.specHash}#${job.restart}`);

/** `running`: each job the host holds, by name, with the jobKey it runs (or is starting) with. */
export function planHostJobs(running: ReadonlyMap<string, string>, desired: Readonly<Record<string, HostJob>>): HostJobPlan {
  const start: string[] = [];
  const restart: string[] = [];
  const stop: string[] = [];
  for (const [name, job] of Object.entries(desired)) {
    const key = running.get(name);
    if (key === undefined) start.push(name);
    else if (key !== jobKey(job)) restart.push(name);
  }
  for (const name of running.keys()) if (!Object.hasOwn(desired, name)) stop.push(name);
  return { start: start.sort(), restart: restart.sort(), stop: stop.sort() };
}
