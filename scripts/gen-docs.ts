// Writes the generated reference pages: docs/manifest.md (from the manifest's zod model) and
// docs/monitoring/metrics.md (from the agent's metric registry). With --check, fails when a
// committed page differs from what the code generates (run by CI, like `npm run schema:check`).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createAgentMetrics, type MetricsSnapshot } from "../src/agent/metrics.ts";
import { buildJsonSchema } from "../src/manifest/json-schema.ts";
import { renderManifestReference } from "./docs/manifest-md.ts";
import { renderMetricsReference } from "./docs/metrics-md.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

// The registry's definitions do not depend on a snapshot: an empty one is never read.
const noSnapshot = (): Promise<MetricsSnapshot> => Promise.reject(new Error("not scraped"));
const definitions = createAgentMetrics(noSnapshot, { version: "", revision: "", nodeVersion: "" }).definitions();

const pages: ReadonlyArray<readonly [string, string]> = [
  ["docs/manifest.md", renderManifestReference(buildJsonSchema())],
  ["docs/monitoring/metrics.md", renderMetricsReference(definitions)],
];

let stale = 0;
for (const [path, want] of pages) {
  const file = `${root}${path}`;
  if (process.argv.includes("--check")) {
    const have = await readFile(file, "utf8").catch(() => "");
    if (have !== want) {
      console.error(`${path} is stale: run \`npm run docs\` and commit the result`);
      stale++;
    } else console.log(`${path} is up to date`);
  } else {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, want);
    console.log(`wrote ${path}`);
  }
}
// collectDefaultMetrics keeps an event-loop monitor running: leave explicitly.
process.exit(stale === 0 ? 0 : 1);
