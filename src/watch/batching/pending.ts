import { ancestorsOf, type BytePath } from "../byte-path.ts";
import type { Batch, BatcherConfig, Change } from "./types.ts";

// The set of changes waiting for a run, and the pure operations the batcher applies to it.
// Nothing here mutates a Pending it is given: every operation returns a new one.

export interface Pending {
  readonly full: boolean;
  readonly entries: ReadonlyMap<BytePath, boolean>;
  /** Files created but not closed yet, with the time their creation was seen. */
  readonly open: ReadonlyMap<BytePath, number>;
  readonly renames: ReadonlyMap<BytePath, BytePath>;
  readonly firstAt: number;
  readonly lastAt: number;
}

export const EMPTY: Pending = { full: false, entries: new Map(), open: new Map(), renames: new Map(), firstAt: 0, lastAt: 0 };

export function isEmpty(p: Pending): boolean {
  return !p.full && p.entries.size === 0;
}

// Adds changes to a pending set without mutating it (the caller's maps are never changed). A map
// is copied only when a change alters it: in a storm most changes fall under a directory tree
// that is already pending, and copying every map on every call made a storm quadratic.
export function addChanges(p: Pending, changes: readonly Change[], now: number, maxPaths: number): Pending {
  const firstAt = isEmpty(p) ? now : p.firstAt;
  if (p.full) return { ...p, firstAt, lastAt: now };
  let entries: Map<BytePath, boolean> | undefined; // copies, made on the first write
  let open: Map<BytePath, number> | undefined;
  let renames: Map<BytePath, BytePath> | undefined;
  for (const c of changes) {
    if (c.tree && c.path === "") return { ...EMPTY, full: true, firstAt, lastAt: now };
    const current = entries ?? p.entries;
    if (ancestorsOf(c.path).some((a) => current.get(a) === true)) continue;
    const tree = c.tree || current.get(c.path) === true;
    if (current.get(c.path) !== tree) (entries ??= new Map(p.entries)).set(c.path, tree);
    if (c.write === "open") (open ??= new Map(p.open)).set(c.path, now);
    else if ((c.write === "closed" || c.tree) && (open ?? p.open).has(c.path)) (open ??= new Map(p.open)).delete(c.path);
    // The other end of a rename arrived: the directory moved away is no longer held.
    if (c.renamedFrom !== undefined && (open ?? p.open).has(c.renamedFrom)) (open ??= new Map(p.open)).delete(c.renamedFrom);
    if (c.tree && c.renamedFrom !== undefined) (renames ??= new Map(p.renames)).set(c.path, c.renamedFrom);
    else if (c.tree && (renames ?? p.renames).has(c.path)) (renames ??= new Map(p.renames)).delete(c.path);
    if ((entries ?? p.entries).size > maxPaths) return { ...EMPTY, full: true, firstAt, lastAt: now };
  }
  return { full: false, entries: entries ?? p.entries, open: open ?? p.open, renames: renames ?? p.renames, firstAt, lastAt: now };
}

// Puts a batch that did not complete back in front of what arrived meanwhile.
export function mergeBatch(p: Pending, batch: Batch, now: number, maxPaths: number): Pending {
  const base = isEmpty(p) ? { ...EMPTY, firstAt: now, lastAt: now } : p;
  if (batch.kind === "full") return { ...EMPTY, full: true, firstAt: base.firstAt, lastAt: base.lastAt };
  const changes = [...batch.entries].map(([path, tree]): Change => {
    const from = batch.renames.get(path);
    return from === undefined ? { path, tree } : { path, tree, renamedFrom: from };
  });
  return addChanges(base, changes, base.lastAt, maxPaths);
}

// The entries that may go out at `now`: all but files still open within their hold time.
export function takeBatch(p: Pending, now: number, config: BatcherConfig, force: boolean): { batch?: Batch; rest: Pending } {
  if (p.full) return { batch: { kind: "full" }, rest: EMPTY };
  const ready = new Map<BytePath, boolean>();
  const held = new Map<BytePath, boolean>();
  const open = new Map<BytePath, number>();
  for (const [path, tree] of p.entries) {
    const openedAt = p.open.get(path);
    if (!force && openedAt !== undefined && openedAt + config.holdOpenMs > now) {
      held.set(path, tree);
      open.set(path, openedAt);
    } else ready.set(path, tree);
  }
  const renames = new Map([...p.renames].filter(([to]) => ready.has(to)));
  const rest: Pending = held.size === 0 ? EMPTY : { ...EMPTY, entries: held, open, firstAt: now, lastAt: now };
  return ready.size === 0 ? { rest } : { batch: { kind: "incremental", entries: ready, renames }, rest };
}

// When a collecting batch is due: after a quiet spell, not before `delayMs`, never later than
// `delayMs + maxWaitMs`; a batch holding only open files waits for the first hold to expire.
export function dueAt(p: Pending, config: BatcherConfig): number {
  if (p.full) return p.lastAt;
  const earliest = p.firstAt + config.delayMs;
  const due = Math.max(earliest, Math.min(p.lastAt + config.quietMs, earliest + config.maxWaitMs));
  if (p.open.size < p.entries.size) return due;
  let expiry = Infinity;
  for (const at of p.open.values()) expiry = Math.min(expiry, at + config.holdOpenMs);
  return Math.max(due, expiry);
}
