import { renderJsonSchema } from "../../manifest/json-schema.ts";
import type { Output } from "../output.ts";

// `rtsync schema`: the manifest's JSON Schema, as committed in schemas/rtsync.schema.json.
export function schemaCommand(io: Output): number {
  io.block(renderJsonSchema().trimEnd());
  return 0;
}
