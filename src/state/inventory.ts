import * as z from "zod/mini";
import { readDocument, writeDocument, type DocumentKind } from "./document.ts";
import { stateLayout } from "./layout.ts";

// What rtsync started, recorded under stateDir (inventory.json): prune, `down` and `status` act on
// this and on nothing else. Written only by apply and down (under the apply lock).

const ProcessFields = {
  /** The manifest file it was applied from. */
  manifest: z.string(),
  node: z.string(),
  pid: z.int(),
  /** The start-up hash (daemons) or spec hash (watchers) it was started with. */
  hash: z.string(),
  startedAt: z.string(),
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

export const InventorySchema = z.object({
  version: z.literal(1),
  daemons: z._default(z.record(z.string(), DaemonRecordSchema), {}),
  watchers: z._default(z.record(z.string(), WatcherRecordSchema), {}),
});
export type Inventory = z.infer<typeof InventorySchema>;

const INVENTORY: DocumentKind<Inventory> = {
  what: "an rtsync inventory",
  schema: InventorySchema,
  fix:
    "rtsync cannot tell which daemons and watchers it started; stop them by hand (`ps -ef | grep -e 'rsync --daemon' -e '__watch'`), " +
    "then move the file away and run `rtsync apply`",
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
