import * as z from "zod/mini";
import { rename } from "node:fs/promises";
import { StateError } from "../core/errors.ts";
import { readDocument, writeDocument, type DocumentKind } from "./document.ts";
import { stateLayout } from "./layout.ts";

// What rtsync started (and the authorized_keys files it wrote lines into), recorded under stateDir
// (inventory.json): prune, `down` and `status` act on this and on nothing else. Written only by apply and down (under the apply lock).

const ProcessFields = {
  /** The manifest file it was last applied from (for messages; ownership is `owner`). */
  manifest: z.string(),
  /** The manifest's identity (its `name`, "" for a stateDir's unnamed manifest; absent in older inventories: ""). */
  owner: z.optional(z.string()),
  node: z.string(),
  /** 0 while the process is being started (the intent is recorded before the spawn). */
  pid: z.int(),
  /** Its real uid and its start time (clock ticks after boot, /proc/PID/stat field 22): a reused pid has other ones. */
  uid: z.optional(z.int()),
  startTime: z.optional(z.number()),
  /** The start-up hash (daemons) or spec hash (watchers) it was started with. */
  hash: z.string(),
  startedAt: z.string(),
  /** Set by `rtsync down`: stopped on purpose at this time (the record stays, so status can say so). */
  stoppedAt: z.optional(z.string()),
  /** Words that must appear in /proc/PID/cmdline for the pid to still be this process. */
  match: z.array(z.string()),
};

export const DaemonRecordSchema = z.object({
  ...ProcessFields,
  detail: z.object({
    /** The rsyncd.conf lines rsyncd reads only at start-up, to say why a restart is needed. */
    startupLines: z.array(z.string()),
    address: z.string(),
    port: z.number(),
    config: z.string(),
    pidFile: z.string(),
  }),
});
export type DaemonRecord = z.infer<typeof DaemonRecordSchema>;

export const WatcherRecordSchema = z.object({
  ...ProcessFields,
  detail: z.object({
    specFile: z.string(),
    /** The spec it was started with, to say which keys changed. */
    spec: z.record(z.string(), z.unknown()),
  }),
});
export type WatcherRecord = z.infer<typeof WatcherRecordSchema>;

/** The authorized_keys file an sshReceiver's marked lines were written to: removed from it when the receiver leaves the manifest. */
const KeysRecordSchema = z.object({
  manifest: z.string(),
  owner: z.optional(z.string()),
  account: z.string(),
  file: z.string(),
});

export const InventorySchema = z.object({
  version: z.literal(1),
  daemons: z._default(z.record(z.string(), DaemonRecordSchema), {}),
  watchers: z._default(z.record(z.string(), WatcherRecordSchema), {}),
  sshReceivers: z.optional(z.record(z.string(), KeysRecordSchema)),
});
export type Inventory = z.infer<typeof InventorySchema>;

const INVENTORY: DocumentKind<Inventory> = {
  what: "an rtsync inventory",
  schema: InventorySchema,
  fix: "rtsync rebuilds it from the processes that carry its marker: run `rtsync apply` (the unreadable file is kept as inventory.json.corrupt)",
};

export function emptyInventory(): Inventory {
  return { version: 1, daemons: {}, watchers: {} };
}

/** The inventory of `stateDir` (empty when there is none yet). */
export async function readInventory(stateDir: string): Promise<Inventory> {
  return (await readDocument(stateLayout.inventory(stateDir), INVENTORY)) ?? emptyInventory();
}

export function writeInventory(stateDir: string, inventory: Inventory): Promise<void> {
  return writeDocument(stateLayout.inventory(stateDir), inventory);
}

/**
 * The inventory, or (when it is corrupt) an empty one and a warning: every process rtsync started
 * carries its marker, so a plan rebuilds the inventory from what runs (adoption). Other read
 * errors (permission, I/O) still throw: nothing can be rebuilt without reading stateDir.
 */
export async function readInventoryForRepair(stateDir: string): Promise<{ readonly inventory: Inventory; readonly warning?: string }> {
  try {
    return { inventory: await readInventory(stateDir) };
  } catch (error) {
    if (!(error instanceof StateError) || error.problem !== "corrupt") throw error;
    return { inventory: emptyInventory(), warning: `${error.message.replace(/; rtsync rebuilds it.*$/, "")}; rebuilding it from the running processes that carry rtsync's marker` };
  }
}

/** Moves a corrupt inventory aside (inventory.json.corrupt) before a rebuilt one replaces it. */
export async function setCorruptInventoryAside(stateDir: string): Promise<void> {
  const file = stateLayout.inventory(stateDir);
  await rename(file, `${file}.corrupt`).catch(() => undefined);
}
