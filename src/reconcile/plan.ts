import { createTwoFilesPatch } from "diff";
import { compareSecrets, parseSecretsFile } from "../render/secrets-file.ts";
import type {
  Actual,
  Change,
  Desired,
  DesiredAccount,
  DesiredDaemon,
  DesiredDirectory,
  DesiredFile,
  DesiredSysctl,
  DesiredWatcher,
  Plan,
  ProcessActual,
} from "./types.ts";

// (Desired, Actual) -> Plan. Pure: no I/O, no clock. An empty `changes` means converged.
// Order of the changes is the order apply runs them in: sysctls, groups, accounts, directories,
// files, daemons, watchers; removals (prune) of watchers and daemons last.

const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;

function planSysctl(s: DesiredSysctl, a: Actual): Change | undefined {
  const have = a.sysctls.get(s.key);
  const base = { id: s.id, kind: "sysctl" as const, dependsOn: [], details: [] };
  if (!have || !have.readable) {
    return { ...base, op: "update", title: `sysctl ${s.key}: unknown -> ${s.value}`, blocked: have?.message ?? "not readable", data: { key: s.key, want: s.value } };
  }
  if (have.value >= s.value) return undefined;
  const blocked = a.isRoot ? {} : { blocked: `raising ${s.key} needs root: run \`sudo sysctl -w ${s.key}=${s.value}\`, or apply as root` };
  return { ...base, op: "update", title: `sysctl ${s.key}: ${have.value} -> ${s.value}`, ...blocked, data: { key: s.key, have: have.value, want: s.value } };
}

function planAccount(acc: DesiredAccount, a: Actual): Change | undefined {
  const exists = acc.kind === "group" ? a.groups.has(acc.name) : a.users.has(acc.name);
  if (exists) return undefined;
  const what = acc.kind === "group" ? `system group ${acc.name}` : `system account ${acc.name} (no login shell, no home${acc.group ? `, group ${acc.group}` : ""})`;
  const blocked = a.isRoot ? {} : { blocked: `creating the ${what} needs root` };
  return {
    id: acc.id,
    kind: acc.kind,
    op: "create",
    title: `${acc.kind} ${acc.name}: create ${what}`,
    details: [],
    dependsOn: acc.kind === "account" && acc.group ? [`group:${acc.group}`] : [],
    ...blocked,
    data: { name: acc.name, ...(acc.group ? { group: acc.group } : {}) },
  };
}

function ownerName(a: Actual, uid: number, gid: number): string {
  const user = [...a.users].find(([, u]) => u.uid === uid)?.[0] ?? String(uid);
  const group = [...a.groups].find(([, g]) => g === gid)?.[0] ?? String(gid);
  return `${user}:${group}`;
}

// Whether the desired owner can be known now or will exist after this apply creates it.
function ownerKnown(a: Actual, d: Desired, name: string, kind: "user" | "group"): boolean {
  if (/^\d+$/.test(name)) return true;
  if (kind === "user" ? a.users.has(name) : a.groups.has(name)) return true;
  return d.accounts.some((acc) => acc.name === name && acc.kind === (kind === "user" ? "account" : "group"));
}

function planDirectory(dir: DesiredDirectory, a: Actual, desired: Desired): Change | undefined {
  const have = a.paths.get(dir.path) ?? { exists: false };
  const owner = dir.owner;
  const base = { id: dir.id, kind: "directory" as const, dependsOn: dir.dependsOn, details: [] };
  const missingOwner = owner && [!ownerKnown(a, desired, owner.user, "user") && `user ${owner.user}`, !ownerKnown(a, desired, owner.group, "group") && `group ${owner.group}`].filter(Boolean);
  const blockedOwner = missingOwner && missingOwner.length > 0 ? { blocked: `${missingOwner.join(" and ")} does not exist: create it, or set createAccount: true on the daemon` } : {};
  const data = { path: dir.path, ...(owner ? { owner: `${owner.user}:${owner.group}` } : {}) };
  if (!have.exists) {
    return { ...base, op: "create", title: `directory ${dir.path}: create${owner ? ` owned by ${owner.user}:${owner.group}` : ""} (${dir.purpose})`, ...blockedOwner, data };
  }
  if (!have.isDir) return { ...base, op: "update", title: `directory ${dir.path}: exists but is not a directory`, blocked: `${dir.path} exists and is not a directory; move it away`, data };
  if (!owner) return undefined;
  const uid = /^\d+$/.test(owner.user) ? Number(owner.user) : a.users.get(owner.user)?.uid;
  const gid = /^\d+$/.test(owner.group) ? Number(owner.group) : a.groups.get(owner.group);
  if (uid === have.uid && gid === have.gid) return undefined;
  if (!a.isRoot) return { ...base, op: "update", title: `directory ${dir.path}: owner ${ownerName(a, have.uid, have.gid)} -> ${owner.user}:${owner.group}`, blocked: "changing the owner needs root", data };
  return { ...base, op: "update", title: `directory ${dir.path}: owner ${ownerName(a, have.uid, have.gid)} -> ${owner.user}:${owner.group}`, ...blockedOwner, data };
}

function unifiedDiff(path: string, before: string, after: string): string[] {
  const patch = createTwoFilesPatch(path, path, before, after, "", "", { context: 3 });
  return patch
    .split("\n")
    .filter((l) => !l.startsWith("=====") && !l.startsWith("Index:") && l !== "\\ No newline at end of file")
    .filter((l, i, all) => !(i === all.length - 1 && l === ""))
    .map((l) => (l.startsWith("---") || l.startsWith("+++") ? l.trimEnd() : l));
}

function secretDetails(f: DesiredFile, before: string | undefined, after: string): { details: string[]; secrets?: Change["secrets"] } {
  if (f.secret === "password") return { details: [before === undefined ? "  password: (set)" : "  password: (changed)"] };
  const delta = compareSecrets(parseSecretsFile(before ?? ""), parseSecretsFile(after));
  const details = [
    ...(delta.added.length ? [`  users added: ${delta.added.join(", ")}`] : []),
    ...(delta.removed.length ? [`  users removed: ${delta.removed.join(", ")}`] : []),
    ...(delta.changed.length ? [`  passwords changed: ${delta.changed.join(", ")} (********)`] : []),
  ];
  return { details: details.length ? details : ["  content differs (layout only)"], secrets: delta };
}

function planFile(f: DesiredFile, a: Actual): Change | undefined {
  const have = a.files.get(f.path) ?? { exists: false };
  const base = { id: f.id, kind: "file" as const, dependsOn: f.dependsOn };
  const data = { path: f.path, mode: octal(f.mode), purpose: f.purpose };
  if (!f.content.ok) {
    return { ...base, op: have.exists ? "update" : "create", title: `file ${f.path}: cannot be rendered (${f.purpose})`, details: [], blocked: f.content.message, data };
  }
  const want = f.content.text;
  if (!have.exists) {
    const shown = f.secret ? secretDetails(f, undefined, want) : { details: unifiedDiff(f.path, "", want) };
    return { ...base, op: "create", title: `file ${f.path}: create, mode ${octal(f.mode)} (${f.purpose})`, ...shown, data };
  }
  const reasons: string[] = [];
  let shown: { details: string[]; secrets?: Change["secrets"] } = { details: [] };
  if (have.content !== want) {
    reasons.push("content");
    shown = f.secret ? secretDetails(f, have.content, want) : { details: unifiedDiff(f.path, have.content, want) };
  }
  if (have.mode !== f.mode) reasons.push(`mode ${octal(have.mode)} -> ${octal(f.mode)}`);
  if (have.uid !== f.uid) reasons.push(`owner uid ${have.uid} -> ${f.uid}`);
  if (reasons.length === 0) return undefined;
  const blocked = have.uid !== f.uid && !a.isRoot ? { blocked: "changing the owner needs root" } : {};
  return { ...base, op: "update", title: `file ${f.path}: ${reasons.join(", ")} (${f.purpose})`, ...shown, ...blocked, data: { ...data, contentChanged: have.content !== want } };
}

function foreign(p: ProcessActual | undefined, desired: Desired): string | undefined {
  if (p && p.manifest !== desired.manifest) return `the name is already used in this stateDir by ${p.manifest}`;
  return undefined;
}

function planDaemon(d: DesiredDaemon, a: Actual, desired: Desired): Change | undefined {
  const have = a.daemons.get(d.name);
  const base = { id: d.id, kind: "daemon" as const, dependsOn: d.dependsOn };
  const data = { name: d.name, address: d.address, port: d.port, config: d.config };
  const other = foreign(have, desired);
  if (other) return { ...base, op: "create", title: `daemon ${d.name}: cannot be managed`, details: [], blocked: other, data };
  if (have?.running && have.hash === d.startupHash) return undefined;
  const conflict = a.portConflicts.get(`${d.address}:${d.port}`);
  const blocked = conflict ? { blocked: `${d.address}:${d.port} is in use by ${conflict}, which rtsync did not start; stop it or choose another port` } : {};
  if (have?.running) {
    const before = (have.detail["startupLines"] as string[] | undefined) ?? [];
    const details = [
      ...before.filter((l) => !d.startupLines.includes(l)).map((l) => `  - ${l}`),
      ...d.startupLines.filter((l) => !before.includes(l)).map((l) => `  + ${l}`),
    ];
    return { ...base, op: "update", title: `daemon ${d.name}: restart on ${d.address}:${d.port} (start-up settings changed; pid ${have.pid})`, details, ...blocked, data: { ...data, restart: true, pid: have.pid } };
  }
  const why = have ? ` (pid ${have.pid} is not running)` : "";
  return { ...base, op: "create", title: `daemon ${d.name}: start rsync --daemon on ${d.address}:${d.port}${why}`, details: [], ...blocked, data };
}

function changedKeys(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k])).sort();
}

function planWatcher(w: DesiredWatcher, a: Actual, desired: Desired): Change | undefined {
  const have = a.watchers.get(w.name);
  const base = { id: w.id, kind: "watcher" as const, dependsOn: w.dependsOn };
  const data = { name: w.name, source: w.spec.source, target: w.spec.target };
  const other = foreign(have, desired);
  if (other) return { ...base, op: "create", title: `watcher ${w.name}: cannot be managed`, details: [], blocked: other, data };
  if (have?.running && have.hash === w.specHash) return undefined;
  if (have?.running) {
    const keys = changedKeys((have.detail["spec"] as Record<string, unknown> | undefined) ?? {}, w.spec as unknown as Record<string, unknown>);
    return { ...base, op: "update", title: `watcher ${w.name}: restart (spec changed: ${keys.join(", ") || "unknown"}; pid ${have.pid})`, details: [], data: { ...data, restart: true, changed: keys, pid: have.pid } };
  }
  const why = have ? ` (not running: pid ${have.pid} is gone)` : "";
  return { ...base, op: "create", title: `watcher ${w.name}: start watching ${w.spec.source} -> ${w.spec.target}${why}`, details: [], data };
}

// Processes this manifest started on this node that the manifest no longer declares.
function planPrune(kind: "daemon" | "watcher", have: ReadonlyMap<string, ProcessActual>, want: ReadonlySet<string>, desired: Desired): Change[] {
  return [...have.values()]
    .filter((p) => p.manifest === desired.manifest && p.node === desired.node && !want.has(p.name))
    .map((p) => ({
      id: `${kind}:${p.name}`,
      kind,
      op: "delete" as const,
      title: `${kind} ${p.name}: stop${p.running ? ` pid ${p.pid}` : " (not running)"} (no longer in the manifest for node ${desired.node})`,
      details: [],
      dependsOn: [],
      data: { name: p.name, ...(p.pid !== undefined ? { pid: p.pid } : {}), running: p.running },
    }));
}

export function planChanges(desired: Desired, actual: Actual): Plan {
  const candidates: Array<[string, Change | undefined]> = [
    ...desired.sysctls.map((s) => [s.id, planSysctl(s, actual)] as [string, Change | undefined]),
    ...desired.accounts.filter((x) => x.kind === "group").map((x) => [x.id, planAccount(x, actual)] as [string, Change | undefined]),
    ...desired.accounts.filter((x) => x.kind === "account").map((x) => [x.id, planAccount(x, actual)] as [string, Change | undefined]),
    ...desired.directories.map((x) => [x.id, planDirectory(x, actual, desired)] as [string, Change | undefined]),
    ...desired.files.map((x) => [x.id, planFile(x, actual)] as [string, Change | undefined]),
    ...desired.daemons.map((x) => [x.id, planDaemon(x, actual, desired)] as [string, Change | undefined]),
    ...desired.watchers.map((x) => [x.id, planWatcher(x, actual, desired)] as [string, Change | undefined]),
  ];
  const changes = candidates.flatMap(([, c]) => (c ? [c] : []));
  const unchanged = candidates.filter(([, c]) => !c).map(([id]) => id);
  changes.push(...planPrune("watcher", actual.watchers, new Set(desired.watchers.map((w) => w.name)), desired));
  changes.push(...planPrune("daemon", actual.daemons, new Set(desired.daemons.map((d) => d.name)), desired));
  return { manifest: desired.manifest, node: desired.node, changes, unchanged };
}
