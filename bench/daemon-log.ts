// Reads what an rsync daemon's log says about finished sessions (parse is pure).
//
// rsyncd ends every session with "sent X bytes  received Y bytes  total size Z". For a push, the
// daemon's "received" is what the client sent; the number of such lines is the number of runs.

export interface DaemonSession {
  readonly pid: number;
  /** bytes the client sent to the daemon */
  readonly received: number;
  /** bytes the daemon sent back */
  readonly sent: number;
}

const END = /\[(\d+)\] sent (\d+) bytes\s+received (\d+) bytes\s+total size/;
/** A transfer session starting: "rsync to MODULE/PATH from USER@HOST" (push) or "rsync on …" (pull). */
const START = /\[(\d+)\] rsync (?:to|on) \S/;

/**
 * The finished sessions. The listening daemon itself also logs "sent 0 bytes  received 0 bytes"
 * when it exits (`rtsync down`, a restart); that is no session and is left out (a real push
 * always sends the daemon at least its file list).
 */
export function parseDaemonSessions(text: string): DaemonSession[] {
  const out: DaemonSession[] = [];
  for (const line of text.split("\n")) {
    const m = END.exec(line);
    if (!m) continue;
    const session = { pid: Number(m[1]), sent: Number(m[2]), received: Number(m[3]) };
    if (session.sent === 0 && session.received === 0) continue;
    out.push(session);
  }
  return out;
}

/** Pids of the sessions that started in `text` and have not logged their totals yet. */
export function openSessions(text: string): number[] {
  const open = new Set<number>();
  for (const line of text.split("\n")) {
    const start = START.exec(line);
    if (start) open.add(Number(start[1]));
    const end = END.exec(line);
    if (end) open.delete(Number(end[1]));
  }
  return [...open];
}

export function sumReceived(sessions: readonly DaemonSession[]): number {
  return sessions.reduce((n, s) => n + s.received, 0);
}
