// Structure rules for src/, checked in CI (`npm run structure`). Imports point down the layers:
//
//   cli -> agent -> reconcile | watch | verify -> render -> resources -> manifest -> state -> core
//
// (render sits beside resources in spirit: it turns plans, results and status into text and JSON,
// and may read resources' types, never the reverse). watch is the long-running watcher process:
// it depends on state and core only, so it never loads the manifest's schema or the reconciler.
// verify (`rtsync verify`) compares a watch's source with its target: beside reconcile, never
// importing it or the watcher.
// agent is `rtsync agent`'s library: the reconciler run continuously; it never loads the watcher.
const layer = (name, allowed) => ({
  name: `${name}-imports-down`,
  comment: `src/${name} may import only ${allowed.join(", ")}`,
  severity: "error",
  from: { path: `^src/${name}/` },
  to: { path: "^src/", pathNot: `^src/(${[name, ...allowed].join("|")})/` },
});

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "an import cycle (type-only imports included): split the shared part into its own module",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    layer("core", []),
    layer("state", ["core"]),
    layer("manifest", ["core", "state"]),
    layer("resources", ["core", "state", "manifest"]),
    layer("render", ["core", "state", "manifest", "resources"]),
    layer("reconcile", ["core", "state", "manifest", "resources"]),
    layer("watch", ["core", "state"]),
    layer("verify", ["core", "state", "manifest", "resources"]),
    layer("agent", ["core", "state", "manifest", "resources", "render", "reconcile"]),
    {
      name: "src-not-into-tests",
      severity: "error",
      from: { path: "^src/", pathNot: "\\.test\\.ts$" },
      to: { path: "^(test|bench|scripts)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.test\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
