import type { SourceIdentity, SourceMount } from "../../state/source-identity.ts";
import { formatDevice } from "./decide.ts";

// Is the source root still the tree the job replicates? Any change halts the job with the halt
// reason source-changed and the detail below. Pure: the observation comes in
// (read-identity.ts reads it). Compared against the identity recorded when the job first started
// (state/source-identity.ts), before every run of every lane, in this order:
//
// 1. the root is missing                                          -> changed ("is missing")
// 2. it is another kind of thing (a symlink where the directory   -> changed ("is now a symlink")
//    was) or a symlink pointing elsewhere
// 3. the mount that held it is gone (its point is now held by a  -> changed ("the mount ... is gone")
//    mount further up), or another mount holds it (a bind mount,   -> changed ("a different mount")
//    a mount over it): mount root, mount point or fstype differ,
//    or, within the same boot, the mount ID
// 4. another inode, or (same boot) another device                 -> changed ("is now directory ...")
// 5. otherwise                                                    -> same (refresh the record
//    when it was made in an earlier boot: mount IDs and anonymous devices are new at every boot)
//
// Across a reboot only what survives one is compared (kind, inode, mount root, mount point,
// fstype): a mount ID or a tmpfs/btrfs device number is new each boot and says nothing.

export type IdentityObservation = { readonly exists: false; readonly why: string } | { readonly exists: true; readonly identity: SourceIdentity };

export type IdentityVerdict =
  | { readonly same: true; readonly refresh: boolean }
  | { readonly same: false; readonly detail: string };

/** One line of /proc/self/mountinfo. */
export interface MountEntry extends SourceMount {
  readonly parent: number;
}

const unescape = (field: string): string => field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));

/** The mounts listed in /proc/self/mountinfo, in its order (a mount stacked on another comes later). Pure. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    const [id, parent, , root, point] = fields;
    const fstype = dash < 0 ? undefined : fields[dash + 1];
    if (id === undefined || parent === undefined || root === undefined || point === undefined || fstype === undefined) continue;
    out.push({ id: Number(id), parent: Number(parent), root: unescape(root), point: unescape(point), fstype });
  }
  return out;
}

/** The mount that holds `path` (an absolute path without symlinks): the deepest mount point above it, the topmost of a stack. Pure. */
export function mountHolding(mounts: readonly MountEntry[], path: string): SourceMount | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const above = m.point === "/" || path === m.point || path.startsWith(`${m.point}/`);
    if (above && (best === undefined || m.point.length >= best.point.length)) best = m;
  }
  return best === undefined ? undefined : { id: best.id, root: best.root, point: best.point, fstype: best.fstype };
}

/** What the root is, for messages: "directory dev 254:0 ino 1234", "a symlink to /other". Pure. */
export function describeIdentity(id: SourceIdentity): string {
  switch (id.type) {
    case "directory":
      return `directory dev ${formatDevice(id.dev)} ino ${id.ino}`;
    case "symlink":
      return `a symlink to ${id.link ?? "?"}`;
    case "other":
      return `not a directory (dev ${formatDevice(id.dev)} ino ${id.ino})`;
  }
}

const describeMount = (m: SourceMount): string => `mount ${m.id} root ${m.root} at ${m.point}`;

// Whether `now` is a mount above the recorded one's point (what is left once that one is unmounted).
const above = (now: SourceMount, was: SourceMount): boolean => now.point !== was.point && (now.point === "/" || was.point.startsWith(`${now.point}/`));

function mountChanged(was: SourceMount, now: SourceMount, sameBoot: boolean): boolean {
  return was.root !== now.root || was.point !== now.point || was.fstype !== now.fstype || (sameBoot && was.id !== now.id);
}

/** Rules 1-5: the source root as observed now against the identity recorded for it. Pure. */
export function compareIdentity(source: string, recorded: SourceIdentity, now: IdentityObservation): IdentityVerdict {
  if (!now.exists) return { same: false, detail: `the source root ${source} is missing (${now.why})` };
  const id = now.identity;
  const sameBoot = recorded.bootId !== undefined && recorded.bootId === id.bootId;
  const replaced = (detail: string): IdentityVerdict => ({ same: false, detail });
  const was = describeIdentity(recorded);
  if (id.type !== recorded.type || (id.type === "symlink" && id.link !== recorded.link)) {
    return replaced(`the source root ${source} is now ${describeIdentity(id)} (was ${was})`);
  }
  if (recorded.mount !== undefined && id.mount !== undefined && mountChanged(recorded.mount, id.mount, sameBoot)) {
    if (above(id.mount, recorded.mount)) {
      return replaced(`the mount that held ${source} is gone (was ${describeMount(recorded.mount)}, ${recorded.mount.fstype}; now ${describeMount(id.mount)})`);
    }
    return replaced(`a different mount now holds ${source} (${describeMount(id.mount)}, was ${describeMount(recorded.mount)})`);
  }
  if (id.ino !== recorded.ino || (sameBoot && id.dev !== recorded.dev)) {
    return replaced(`the source root ${source} is now ${describeIdentity(id)} (was ${was})`);
  }
  return { same: true, refresh: !sameBoot };
}

/** What status and the log say while the job is halted because its source root changed. Pure. */
export function identityHaltMessage(watch: string, detail: string): string {
  return (
    `source replaced or gone: ${detail}; nothing deleted on the target; every target of watch ${watch} halts ` +
    `until the original source is back (it then resumes with a full sync), or \`rtsync apply --accept-source ${watch}\` accepts the new one`
  );
}
