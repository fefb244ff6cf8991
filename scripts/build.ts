// Builds dist/cli/bin.js (the `rtsync` executable) with esbuild: one bundle split into chunks.
//
// Why a bundle and not tsc's one file per module: Node's ESM loader costs ~1 ms per module, and
// rtsync with its dependencies is ~400 modules. Bundled, `rtsync validate` starts in about half
// the time. Why split: every command loads only the chunks it imports. The long-running watcher
// (`rtsync __watch`) loads neither commander nor the manifest's schema, which keeps its memory
// down. tsc still type-checks everything (`npm run typecheck`); esbuild only strips types.
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

// luxon ships an ESM and a CommonJS copy. cron-parser require()s the CommonJS one; rtsync's own
// import of luxon (src/core/cron.ts sets its default locale) must reach the same copy, or the setting
// lands in a second luxon that nothing uses. vitest.config.ts maps it the same way.
const LUXON_CJS = `${root}node_modules/luxon/build/node/luxon.js`;
const oneLuxon: Plugin = {
  name: "one-luxon",
  setup(b) {
    b.onResolve({ filter: /^luxon$/ }, () => ({ path: LUXON_CJS }));
  },
};

await rm(`${root}dist`, { recursive: true, force: true });

// Two bundles: the CLI (dist/cli, every command a chunk of its own) and the watcher (dist/watcher),
// which shares no chunk with the CLI, so it never loads what only the CLI uses.
async function bundle(name: string, entry: string, out: string): Promise<void> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: { [name]: entry },
    outdir: `${root}${out}`,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20.19",
    // Chunks sit beside the entry: main.ts reads ../../package.json relative to its own chunk.
    chunkNames: "[name]-[hash]",
    // Whitespace and syntax only: identifiers stay readable in an RTSYNC_DEBUG stack trace.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
    plugins: [oneLuxon],
    // Some dependencies are CommonJS and call require() for Node's built-ins, which ESM lacks.
    banner: {
      js: ['import { createRequire as __rtsyncRequire } from "node:module";', "const require = __rtsyncRequire(import.meta.url);"].join(" "),
    },
  });
  const luxons = Object.keys(result.metafile.inputs).filter((p) => p.includes("node_modules/luxon/"));
  if (luxons.length > 1) throw new Error(`build: expected one copy of luxon in ${out}, found ${luxons.join(", ")}`);
  const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
  console.log(`build: ${out}, ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024).toFixed(0)} KiB`);
}

await bundle("bin", "src/cli/bin.ts", "dist/cli");
await bundle("watcher", "src/cli/watcher-bin.ts", "dist/watcher");
