import { pino, type DestinationStream, type Logger } from "pino";

// The agent's log: one JSON object per line on stdout (pino): `time` (ISO), `level` (info, warn,
// error), `msg`, and `resource` (`watcher:push`, `daemon:backup`, `file:/etc/rsyncd.conf`) when
// one is concerned. Passwords never reach a log line (plans and errors carry user names only);
// as a second belt, any field named password is masked.

export type AgentLog = Logger;

export function createAgentLog(node: string, destination: DestinationStream = pino.destination({ fd: 1, sync: true })): AgentLog {
  return pino(
    {
      base: { node },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ["password", "*.password", "passwords", "*.passwords"], censor: "********" },
    },
    destination,
  );
}
