// Writes schemas/rtsync.schema.json from the zod model; with --check, fails when the committed
// file differs from what the model generates (run by CI).
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { renderJsonSchema } from "../src/manifest/json-schema.ts";

const target = fileURLToPath(new URL("../schemas/rtsync.schema.json", import.meta.url));
const want = renderJsonSchema();
if (process.argv.includes("--check")) {
  const have = await readFile(target, "utf8").catch(() => "");
  if (have !== want) {
    console.error("schemas/rtsync.schema.json is stale: run `npm run schema` and commit the result");
    process.exit(1);
  }
  console.log("schemas/rtsync.schema.json is up to date");
} else {
  await writeFile(target, want);
  console.log("wrote schemas/rtsync.schema.json");
}
