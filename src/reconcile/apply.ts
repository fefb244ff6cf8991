import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { messageOf } from "../core/errors.ts";
import { createAccount, createGroup, readAccounts, type AccountsActual } from "../resources/accounts.ts";
import { startDaemon } from "../resources/daemon.ts";
import { makeDirectory, setOwner, writeFileSafely } from "../resources/files.ts";
import type { Host } from "../resources/host.ts";
import { stopProcess } from "../resources/process.ts";
import { startWatcher } from "../resources/watcher.ts";
import { inventoryPath, readInventory, writeInventory, type Inventory, type ProcessRecord } from "./inventory.ts";
import type { Change, Desired, Plan } from "./types.ts";

// Runs a Plan: one change at a time in plan order. A change whose dependency failed or was
// skipped is skipped (a daemon is never restarted on a config that failed to write); the others
// go on. Each result is reported as it happens.

export type ResultStatus = "changed" | "failed" | "skipped";

export interface ApplyResult {
  readonly change: Change;
  readonly status: ResultStatus;
  readonly message?: string;
  /** The process a daemon or watcher change started. */
  readonly pid?: number;
}

export interface ApplyOptions {
  readonly host: Host;
  readonly onResult?: (r: ApplyResult) => void;
  /** How to run rtsync itself, for watcher processes (tests override). */
  readonly selfCommand?: readonly string[];
}

// The sentence for a sysctl that could not be written: what, why, and how to do it by hand.
function sysctlFailure(key: string, value: number, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === "EROFS"
      ? "/proc/sys is read-only here (a container?)"
      : code === "EACCES" || code === "EPERM"
        ? "permission denied (not root?)"
        : messageOf(e);
  return `cannot set ${key} to ${value}: ${why}; set it on the host with \`sysctl -w ${key}=${value}\` (and persist it in /etc/sysctl.d/)`;
}

function find<T extends { readonly id: string }>(items: readonly T[], id: string): T {
  const item = items.find((x) => x.id === id);
  if (!item) throw new Error(`internal: ${id} is not in the desired state`);
  return item;
}

class Applier {
  private accounts: AccountsActual | undefined;
  private inventory: Inventory | undefined;
  private readonly desired: Desired;
  private readonly options: ApplyOptions;
  constructor(desired: Desired, options: ApplyOptions) {
    this.desired = desired;
    this.options = options;
  }

  private async ids(user: string, group: string): Promise<{ uid: number; gid: number }> {
    this.accounts ??= await readAccounts(this.options.host);
    const uid = /^\d+$/.test(user) ? Number(user) : this.accounts.users.get(user)?.uid;
    const gid = /^\d+$/.test(group) ? Number(group) : this.accounts.groups.get(group);
    if (uid === undefined) throw new Error(`user ${user} does not exist`);
    if (gid === undefined) throw new Error(`group ${group} does not exist`);
    return { uid, gid };
  }

  private async updateInventory(f: (inv: Inventory) => void): Promise<void> {
    this.inventory ??= await readInventory(this.desired.stateDir);
    f(this.inventory);
    await writeInventory(this.desired.stateDir, this.inventory);
  }

  /** Makes one change; resolves with the pid of the process it started, if any. */
  async run(c: Change): Promise<number | undefined> {
    const d = this.desired;
    switch (c.kind) {
      case "sysctl": {
        const s = find(d.sysctls, c.id);
        try {
          await writeFile(join(this.options.host.procSysRoot, ...s.key.split(".")), `${s.value}\n`);
        } catch (e) {
          throw new Error(sysctlFailure(s.key, s.value, e));
        }
        return;
      }
      case "group":
        await createGroup(String(c.data["name"]));
        this.accounts = undefined;
        return;
      case "account":
        await createAccount(String(c.data["name"]), c.data["group"] === undefined ? undefined : String(c.data["group"]));
        this.accounts = undefined;
        return;
      case "directory": {
        const dir = find(d.directories, c.id);
        await makeDirectory(dir.path);
        if (dir.owner && this.options.host.uid === 0) {
          const { uid, gid } = await this.ids(dir.owner.user, dir.owner.group);
          await setOwner(dir.path, uid, gid);
        }
        return;
      }
      case "file": {
        const f = find(d.files, c.id);
        if (!f.content.ok) throw new Error(f.content.message);
        await writeFileSafely(f.path, f.content.text, f.mode, { uid: f.uid, gid: process.getgid?.() ?? 0 });
        return;
      }
      case "daemon":
        return this.runDaemon(c);
      case "watcher":
        return this.runWatcher(c);
    }
  }

  private runDaemon(c: Change): Promise<number | undefined> {
    return this.replaceProcess(c, "daemons", 8000, async () => {
      const daemon = find(this.desired.daemons, c.id);
      return {
        pid: await startDaemon(daemon, this.desired.stateDir),
        hash: daemon.startupHash,
        match: ["--daemon", `--config=${daemon.config}`],
        detail: { startupLines: daemon.startupLines, address: daemon.address, port: daemon.port, config: daemon.config, pidFile: daemon.pidFile },
      };
    });
  }

  private runWatcher(c: Change): Promise<number | undefined> {
    // 15 s: a watcher finishes the run in flight and flushes what is pending before it exits.
    return this.replaceProcess(c, "watchers", 15_000, async () => {
      const w = find(this.desired.watchers, c.id);
      return {
        pid: await startWatcher(w, this.options.selfCommand),
        hash: w.specHash,
        match: ["__watch", w.specFile],
        detail: { spec: w.spec, specFile: w.specFile },
      };
    });
  }

  /**
   * Stops the old process of a daemon or watcher change (update, delete), starts the new one
   * (create, update) and records it in the inventory. A process that started but could not be
   * recorded is stopped again: rtsync would not know it as its own, and it would hold the port.
   */
  private async replaceProcess(
    c: Change,
    kind: "daemons" | "watchers",
    graceMs: number,
    start: () => Promise<Pick<ProcessRecord, "pid" | "hash" | "match" | "detail">>,
  ): Promise<number | undefined> {
    const name = String(c.data["name"]);
    const pid = typeof c.data["pid"] === "number" ? c.data["pid"] : undefined;
    if (c.op === "delete" || c.op === "update") {
      if (pid !== undefined && (c.op === "update" || c.data["running"] === true)) await stopProcess(pid, graceMs);
      if (c.op === "delete") {
        await this.updateInventory((inv) => void delete inv[kind][name]);
        return undefined;
      }
    }
    const started = await start();
    try {
      await this.updateInventory((inv) => {
        inv[kind][name] = {
          manifest: this.desired.manifest,
          node: this.desired.node,
          startedAt: this.options.host.now().toISOString(),
          ...started,
        };
      });
    } catch (error) {
      await stopProcess(started.pid, graceMs).catch(() => undefined);
      throw new Error(`started pid ${started.pid} but could not record it in ${inventoryPath(this.desired.stateDir)}, so stopped it again: ${messageOf(error)}`, {
        cause: error,
      });
    }
    return started.pid;
  }
}

/** Carries out `plan`; returns one result per change. Never throws for a single change. */
export async function applyPlan(plan: Plan, desired: Desired, options: ApplyOptions): Promise<ApplyResult[]> {
  const applier = new Applier(desired, options);
  const notDone = new Set<string>();
  const results: ApplyResult[] = [];
  const report = (r: ApplyResult) => {
    results.push(r);
    if (r.status !== "changed") notDone.add(r.change.id);
    options.onResult?.(r);
  };
  for (const change of plan.changes) {
    const failedDep = change.dependsOn.find((id) => notDone.has(id));
    if (failedDep) {
      report({ change, status: "skipped", message: `skipped because ${failedDep} was not applied` });
      continue;
    }
    if (change.blocked) {
      report({ change, status: "failed", message: change.blocked });
      continue;
    }
    try {
      const pid = await applier.run(change);
      report({ change, status: "changed", ...(pid === undefined ? {} : { pid }) });
    } catch (e) {
      report({ change, status: "failed", message: messageOf(e) });
    }
  }
  return results;
}
