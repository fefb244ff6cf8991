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

export function parseDaemonSessions(text: string): DaemonSession[] {
  const out: DaemonSession[] = [];
  for (const line of text.split("\n")) {
    const m = END.exec(line);
    if (m) out.push({ pid: Number(m[1]), sent: Number(m[2]), received: Number(m[3]) });
  }
  return out;
}

export function sumReceived(sessions: readonly DaemonSession[]): number {
  return sessions.reduce((n, s) => n + s.received, 0);
}
