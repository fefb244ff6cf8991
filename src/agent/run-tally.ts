import { open, stat } from "node:fs/promises";
import { watchFiles } from "../state/layout.ts";

// Counts a watcher's rsync runs by target, kind and outcome, and the bytes they sent, from its log.jsonl
// (one line per batch, appended by the watcher, rotated to log.jsonl.1 past 5 MB). The agent reads
// only what was appended since its last look, so a scrape costs what happened since the last one.

/** One target's runs and bytes. */
export interface TargetTally {
  /** Runs by `kind/outcome` (`incremental/ok`, `full/transient`, …). */
  readonly runs: ReadonlyMap<string, number>;
  readonly bytes: number;
}

/** Runs and bytes by target (the records' `target`; "" for records of watchers before issue 14, which had one). */
export type RunTally = ReadonlyMap<string, TargetTally>;

export const EMPTY_TALLY: RunTally = new Map();

/** Adds the `run` records among `lines` to `tally`; lines that are not run records are skipped. Pure. */
export function tallyLines(tally: RunTally, lines: readonly string[]): RunTally {
  const out = new Map(tally);
  for (const line of lines) {
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof r !== "object" || r === null) continue;
    const rec = r as { type?: unknown; target?: unknown; kind?: unknown; outcome?: unknown; bytes?: unknown; renames?: unknown };
    if (rec.type !== "run" || typeof rec.kind !== "string" || typeof rec.outcome !== "string") continue;
    const target = typeof rec.target === "string" ? rec.target : "";
    const before = out.get(target) ?? { runs: new Map<string, number>(), bytes: 0 };
    const runs = new Map(before.runs);
    const key = `${rec.kind}/${rec.outcome}`;
    runs.set(key, (runs.get(key) ?? 0) + 1);
    let bytes = before.bytes;
    if (typeof rec.bytes === "number") bytes += rec.bytes;
    if (Array.isArray(rec.renames)) for (const step of rec.renames as Array<{ bytes?: unknown }>) if (typeof step.bytes === "number") bytes += step.bytes;
    out.set(target, { runs, bytes });
  }
  return out;
}

interface Cursor {
  readonly ino: number;
  readonly offset: number;
}

async function readFrom(file: string, offset: number): Promise<{ text: string; size: number } | undefined> {
  const handle = await open(file, "r").catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const { size } = await handle.stat();
    if (size <= offset) return { text: "", size };
    const buf = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
    return { text: buf.subarray(0, bytesRead).toString("utf8"), size: offset + bytesRead };
  } finally {
    await handle.close();
  }
}

// Whole lines of `text` and how many bytes they span (a torn last line waits for the next look).
function wholeLines(text: string): { lines: string[]; used: number } {
  const end = text.lastIndexOf("\n");
  if (end < 0) return { lines: [], used: 0 };
  return { lines: text.slice(0, end).split("\n").filter(Boolean), used: Buffer.byteLength(text.slice(0, end + 1)) };
}

/** Follows one watcher's log.jsonl across rotations. */
export class LogFollower {
  private cursor: Cursor | undefined;
  private tallied: RunTally = EMPTY_TALLY;
  private readonly watchDir: string;
  constructor(watchDir: string) {
    this.watchDir = watchDir;
  }

  /** The tally including everything appended since the last call. Only reads. */
  async read(): Promise<RunTally> {
    const file = watchFiles.log(this.watchDir);
    const st = await stat(file).catch(() => undefined);
    if (st === undefined) return this.tallied;
    const lines: string[] = [];
    let offset = 0;
    if (this.cursor !== undefined && this.cursor.ino === st.ino && st.size >= this.cursor.offset) offset = this.cursor.offset;
    else if (this.cursor !== undefined) {
      // Rotated (log.jsonl.1 is the file followed so far): finish it first.
      const old = `${file}.1`;
      const ost = await stat(old).catch(() => undefined);
      if (ost?.ino === this.cursor.ino) {
        const rest = await readFrom(old, this.cursor.offset);
        if (rest) lines.push(...wholeLines(rest.text).lines);
      }
    }
    const got = await readFrom(file, offset);
    if (got === undefined) return this.tallied;
    const { lines: fresh, used } = wholeLines(got.text);
    lines.push(...fresh);
    this.cursor = { ino: st.ino, offset: offset + used };
    this.tallied = tallyLines(this.tallied, lines);
    return this.tallied;
  }
}
