import { execa } from "execa";

// The sending side of a test: a plain `rsync -a` push to a daemon module on 127.0.0.1, with the
// password in RSYNC_PASSWORD (never on the command line).

export interface PushOptions {
  readonly port: number;
  readonly module: string;
  readonly user: string;
  readonly password: string;
  /** Local files or directories to send. */
  readonly sources: readonly string[];
  /** Client address to connect from (`rsync --address`), e.g. 127.0.0.2. */
  readonly from?: string;
}

export interface PushResult {
  readonly exitCode: number;
  readonly stderr: string;
}

export async function push(o: PushOptions): Promise<PushResult> {
  const args = ["-a", ...(o.from ? [`--address=${o.from}`] : []), ...o.sources, `rsync://${o.user}@127.0.0.1:${o.port}/${o.module}/`];
  const r = await execa("rsync", args, {
    reject: false,
    stdin: "ignore",
    timeout: 30_000,
    env: { ...process.env, RSYNC_PASSWORD: o.password },
  });
  return { exitCode: r.exitCode ?? -1, stderr: String(r.stderr) };
}
