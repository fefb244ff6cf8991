import pc from "picocolors";

// Where the CLI writes. Commands get this rather than touching process.stdout, so tests and
// --json can redirect it. A reader that goes away (`rtsync diff | head -1`) is not an error: once
// stdout is closed (EPIPE), the rest of the output is dropped and the command ends as it would.

export interface Output {
  out(line: string): void;
  err(line: string): void;
  readonly color: boolean;
  /** stdout is a terminal: apply may show live progress (written with `write`, no newline added). */
  readonly interactive: boolean;
  write(text: string): void;
}

export function processOutput(): Output {
  let closed = false;
  const onError = (error: NodeJS.ErrnoException): void => {
    if (error.code === "EPIPE") closed = true;
    else throw error;
  };
  process.stdout.on("error", onError);
  process.stderr.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
  });
  const color = pc.isColorSupported && process.stdout.isTTY === true;
  const write = (text: string): void => {
    if (!closed) process.stdout.write(text);
  };
  return {
    out: (line) => write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    color,
    interactive: process.stdout.isTTY === true,
    write,
  };
}
