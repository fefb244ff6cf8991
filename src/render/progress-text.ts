// rsync's --info=progress2 figures as text, for `rtsync status` and apply's live line. Pure.

/** Figures of rsync's --info=progress2 (state/watcher-status.ts `Progress`); absent ones read as 0. */
export interface ProgressFigures {
  readonly bytes?: number | undefined;
  readonly percent?: number | undefined;
  readonly files?: number | undefined;
  readonly total?: number | undefined;
}

export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

const count = (n: number | undefined): string => (n ?? 0).toLocaleString("en-US");

/** `45%, 1,234 files sent of 2,000 seen, 1.2 MiB` (rsync's total grows while it scans). */
export function progressFigures(p: ProgressFigures): string {
  return `${p.percent ?? 0}%, ${count(p.files)} files sent${p.total ? ` of ${count(p.total)} seen` : ""}, ${humanBytes(p.bytes ?? 0)}`;
}

/** `1,234 files, 1.2 MiB sent`: what a finished sync moved. */
export function sentFigures(p: ProgressFigures): string {
  return `${count(p.files)} files, ${humanBytes(p.bytes ?? 0)} sent`;
}
