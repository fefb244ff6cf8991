import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { writeFileSafely } from "../resources/files.ts";

// What rtsync started, recorded under stateDir: prune and `down` act on this and on nothing else.

const ProcessRecordSchema = z.object({
  manifest: z.string(),
  node: z.string(),
  pid: z.number().int(),
  hash: z.string(),
  startedAt: z.string(),
  /** Strings that must appear in /proc/PID/cmdline for the pid to still be ours. */
  match: z.array(z.string()),
  detail: z.record(z.string(), z.unknown()).default({}),
});

const InventorySchema = z.object({
  version: z.literal(1),
  daemons: z.record(z.string(), ProcessRecordSchema).default({}),
  watchers: z.record(z.string(), ProcessRecordSchema).default({}),
});

export type ProcessRecord = z.infer<typeof ProcessRecordSchema>;
export type Inventory = z.infer<typeof InventorySchema>;

export const emptyInventory = (): Inventory => ({ version: 1, daemons: {}, watchers: {} });

export function inventoryPath(stateDir: string): string {
  return join(stateDir, "inventory.json");
}

export async function readInventory(stateDir: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(inventoryPath(stateDir), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return emptyInventory();
    throw e;
  }
  const parsed = InventorySchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${inventoryPath(stateDir)} is not an rtsync inventory; move it away to start afresh`);
  return parsed.data;
}

export async function writeInventory(stateDir: string, inv: Inventory): Promise<void> {
  await writeFileSafely(inventoryPath(stateDir), `${JSON.stringify(inv, null, 2)}\n`, 0o644, {
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
  });
}
