// Builds rtsync with esbuild: dist/cli/bin.js (the `rtsync` executable), dist/cli/rtsync.cjs (the
// CLI) with its V8 code cache, and dist/watcher (the watcher).
//
// Why a bundle and not tsc's one file per module: Node's ESM loader costs ~1 ms per module, and
// rtsync with its dependencies is ~400 modules. Bundled, `rtsync validate` starts in about half
// the time. Why the CLI is one CommonJS file: V8 takes a code cache for a script (vm.Script), not
// for an ES module, and with it a command skips compiling the CLI at every start
// (src/cli/cli-bundle.ts); its commands are still evaluated only when used. The long-running
// watcher (`rtsync __watch`) is a bundle of its own that loads neither commander nor the
// manifest's schema, which keeps its memory down. tsc still type-checks everything
// (`npm run typecheck`); esbuild only strips types.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { buildBundleIdLine } from "../src/cli/code-cache.ts";

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

// The CLI as one CommonJS file, its first line the id its code cache is checked against.
// import.meta.url (main.ts finds package.json by it, the addon's loader build/Release) becomes
// the bundle's own file URL.
async function bundleCli(): Promise<void> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ["src/cli/main.ts"],
    bundle: true,
    write: false,
    format: "cjs",
    platform: "node",
    target: "node20.19",
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
    plugins: [oneLuxon],
    define: { "import.meta.url": "__rtsync_import_meta_url" },
    banner: { js: 'var __rtsync_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    outfile: `${root}dist/cli/rtsync.cjs`,
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error("build: esbuild wrote no CLI bundle");
  // vm.Script runs it without a module loader: an import() left in it would throw.
  const dynamic = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.kind === "dynamic-import"));
  if (dynamic.length > 0) throw new Error(`build: the CLI bundle imports at run time: ${dynamic.map((i) => i.path).join(", ")}`);
  await writeFile(output.path, buildBundleIdLine(output.text) + output.text);
  console.log(`build: dist/cli/rtsync.cjs, ${(output.contents.length / 1024).toFixed(0)} KiB`);
}

// The code cache, made by running read-only commands on a throw-away manifest: validate, then diff
// (which reads the machine and changes nothing). Each writes the cache at its end with what it
// compiled, diff on top of what validate left.
async function makeCodeCache(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "rtsync-build-"));
  try {
    const manifest = join(dir, "rtsync.yaml");
    await writeFile(join(dir, "password"), "warm-up\n", { mode: 0o600 });
    const doc = {
      version: 1,
      stateDir: join(dir, "state"),
      users: { u: { password: { file: join(dir, "password") } } },
      daemons: { d: { address: "127.0.0.1", port: 18999, modules: { m: { path: join(dir, "replica"), authUsers: ["u"] } } } },
      watches: { w: { source: join(dir, "source"), target: "rsync://u@127.0.0.1:18999/m", exclude: ["*.tmp"], fullSync: { schedule: "0 * * * *" } } },
    };
    await writeFile(manifest, JSON.stringify(doc, null, 2));
    const bin = `${root}dist/cli/bin.js`;
    for (const command of ["validate", "diff"]) {
      spawnSync(process.execPath, [bin, command, manifest], { stdio: "ignore", env: { ...process.env, RTSYNC_CODE_CACHE: "refresh" } });
    }
    if (!existsSync(`${root}dist/cli/rtsync.cjs.cache`)) throw new Error("build: the CLI's code cache was not made");
    console.log("build: dist/cli/rtsync.cjs.cache");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// What `rtsync --version` says of the build: the version, and the commit it was made from (an
// installed tarball has no git to ask). "-dirty" when tracked files differed from that commit.
async function writeBuildInfo(): Promise<void> {
  const git = (...args: string[]) => spawnSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const head = git("rev-parse", "--short=12", "HEAD");
  const dirty = head.status === 0 && git("status", "--porcelain", "--untracked-files=no").stdout.trim() !== "";
  // Built where there is no git (an image's build stage): the revision the builder passes in.
  const given = process.env["RTSYNC_REVISION"];
  const revision = head.status === 0 ? `${head.stdout.trim()}${dirty ? "-dirty" : ""}` : given !== undefined && given !== "" ? given : null;
  const { version } = JSON.parse(await readFile(`${root}package.json`, "utf8")) as { version: string };
  await writeFile(`${root}dist/build-info.json`, `${JSON.stringify({ version, revision, builtAt: new Date().toISOString() }, null, 2)}\n`);
  console.log(`build: dist/build-info.json (${version}, ${revision ?? "no git revision"})`);
}

await bundle("bin", "src/cli/bin.ts", "dist/cli");
await bundleCli();
await bundle("watcher", "src/cli/watcher-bin.ts", "dist/watcher");
await writeBuildInfo();
await makeCodeCache();
