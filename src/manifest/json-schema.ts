import * as z from "zod";
import { ManifestSchema } from "./schema.ts";

// The JSON Schema that editors use to complete and check manifests, generated from the zod model
// (schemas/rtsync.schema.json is this, committed; CI fails when the two differ).
export function buildJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(ManifestSchema, { target: "draft-7", io: "input" }) as Record<string, unknown>;
  const { $schema, ...rest } = schema;
  return { $schema, $id: "https://rtsync.dev/schemas/rtsync.schema.json", ...rest };
}

export function renderJsonSchema(): string {
  return `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;
}
