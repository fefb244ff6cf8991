import { DEFAULT_SCENARIOS, SCENARIO_NAMES, TOOL_NAMES, type ScenarioName, type ToolName } from "./types.ts";

// Command-line flags of `npm run bench` (pure: argv in, options or one error sentence out).

export interface BenchOptions {
  readonly sizes: readonly number[];
  readonly runs: number;
  readonly tools: readonly ToolName[];
  readonly scenarios: readonly ScenarioName[];
  readonly json: string | undefined;
  readonly dir: string;
  readonly keep: boolean;
  readonly quick: boolean;
  /** length of the idle scenario */
  readonly idleSeconds: number;
  /** single-file writes in the latency scenario */
  readonly latencyWrites: number;
  /** how long to wait for a tool to become idle after a change before giving up */
  readonly idleTimeoutSeconds: number;
  /** length of the soak scenario (issue 10: 12 minutes) */
  readonly soakSeconds: number;
  /** rtsync-chokidar holds one inotify watch per file: skipped above this many files */
  readonly chokidarMax: number;
  /** render the table of earlier JSON results (merged) instead of running */
  readonly table: readonly string[] | undefined;
}

export const USAGE = `usage: npm run bench -- [options]
  --sizes 10000,100000     tree sizes in files (~100 files per directory)
  --million                add a 1,000,000-file tree
  --runs 3                 runs per tool and size (the table shows medians)
  --tools LIST             ${TOOL_NAMES.join(",")}
  --scenarios LIST         ${SCENARIO_NAMES.join(",")}
                           (default: all but bigrename, a 100 MiB directory renamed)
  --json FILE              results (default bench/results/<date>.json)
  --dir DIR                where the temp trees go (default: the OS temp dir)
  --keep                   keep the temp trees
  --idle-seconds 30        length of the idle scenario
  --latency-writes 30      single-file writes in the latency scenario
  --idle-timeout 120       seconds to wait for a tool to go idle after a change
  --soak-seconds 720       length of the soak scenario (opt-in: --scenarios soak)
  --chokidar-max 100000    skip rtsync-chokidar on larger trees (one inotify watch per file)
  --quick                  smoke check: 2,000 files, 1 run, short idle and latency
  --table A.json,B.json    print the table of earlier results (merged), run nothing`;

export type ParseArgsResult =
  | { readonly ok: true; readonly options: BenchOptions }
  | { readonly ok: false; readonly error: string }
  | { readonly ok: false; readonly help: true };

function parseList<T extends string>(value: string, allowed: readonly T[], flag: string): T[] | string {
  const items = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (bad.length > 0) return `${flag}: unknown ${bad.join(", ")} (known: ${allowed.join(", ")})`;
  return items as T[];
}

function parsePositive(value: string, flag: string): number | string {
  const n = Number(value.replace(/_/g, ""));
  return Number.isFinite(n) && n > 0 ? n : `${flag} needs a positive number, got "${value}"`;
}

export function parseBenchArgs(argv: readonly string[], tmpdir: string): ParseArgsResult {
  const o = {
    sizes: [10_000, 100_000] as number[],
    runs: 3,
    tools: [...TOOL_NAMES] as ToolName[],
    scenarios: [...DEFAULT_SCENARIOS] as ScenarioName[],
    json: undefined as string | undefined,
    dir: tmpdir,
    keep: false,
    quick: false,
    idleSeconds: 30,
    latencyWrites: 30,
    idleTimeoutSeconds: 120,
    soakSeconds: 720,
    chokidarMax: 100_000,
    table: undefined as string[] | undefined,
  };
  let million = false;
  const explicit = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    const needValue = (): string | { error: string } => value() ?? { error: `${flag} needs a value` };
    if (flag === "--help" || flag === "-h") return { ok: false, help: true };
    if (flag === "--million") { million = true; continue; }
    if (flag === "--keep") { o.keep = true; continue; }
    if (flag === "--quick") { o.quick = true; continue; }
    const v = needValue();
    if (typeof v !== "string") {
      return { ok: false, error: flag.startsWith("--") ? v.error : `unknown argument "${arg}"\n${USAGE}` };
    }
    explicit.add(flag);
    let problem: string | undefined;
    const num = (round: boolean): number | undefined => {
      const n = parsePositive(v, flag);
      if (typeof n === "string") { problem = n; return undefined; }
      return round ? Math.round(n) : n;
    };
    switch (flag) {
      case "--sizes": {
        const parts = v.split(",").map((s) => parsePositive(s.trim(), flag));
        const err = parts.find((p): p is string => typeof p === "string");
        if (err !== undefined) problem = err;
        else o.sizes = (parts as number[]).map(Math.round);
        break;
      }
      case "--tools": {
        const list = parseList(v, TOOL_NAMES, flag);
        if (typeof list === "string") problem = list;
        else o.tools = list;
        break;
      }
      case "--scenarios": {
        const list = parseList(v, SCENARIO_NAMES, flag);
        if (typeof list === "string") problem = list;
        else o.scenarios = list;
        break;
      }
      case "--runs": o.runs = num(true) ?? o.runs; break;
      case "--idle-seconds": o.idleSeconds = num(false) ?? o.idleSeconds; break;
      case "--latency-writes": o.latencyWrites = num(true) ?? o.latencyWrites; break;
      case "--idle-timeout": o.idleTimeoutSeconds = num(false) ?? o.idleTimeoutSeconds; break;
      case "--soak-seconds": o.soakSeconds = num(false) ?? o.soakSeconds; break;
      case "--chokidar-max": o.chokidarMax = num(true) ?? o.chokidarMax; break;
      case "--json": o.json = v; break;
      case "--dir": o.dir = v; break;
      case "--table": o.table = v.split(",").filter((f) => f !== ""); break;
      default:
        return { ok: false, error: `unknown option "${flag}"\n${USAGE}` };
    }
    if (problem !== undefined) return { ok: false, error: problem };
  }
  if (o.quick) {
    if (!explicit.has("--sizes")) o.sizes = [2_000];
    if (!explicit.has("--runs")) o.runs = 1;
    if (!explicit.has("--idle-seconds")) o.idleSeconds = 3;
    if (!explicit.has("--latency-writes")) o.latencyWrites = 10;
    if (!explicit.has("--idle-timeout")) o.idleTimeoutSeconds = 15;
  }
  if (million && !o.sizes.includes(1_000_000)) o.sizes = [...o.sizes, 1_000_000];
  const order = (t: ToolName): number => TOOL_NAMES.indexOf(t);
  const sorder = (s: ScenarioName): number => SCENARIO_NAMES.indexOf(s);
  return {
    ok: true,
    options: {
      ...o,
      tools: [...new Set(o.tools)].sort((a, b) => order(a) - order(b)),
      scenarios: [...new Set(o.scenarios)].sort((a, b) => sorder(a) - sorder(b)),
    },
  };
}
