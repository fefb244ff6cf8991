import pc from "picocolors";

// Where the CLI writes. Commands get this rather than touching process.stdout, so tests and
// --json can redirect it.
export interface Output {
  out(line: string): void;
  err(line: string): void;
  readonly color: boolean;
  /** stdout is a terminal: apply may show live progress (written with `write`, no newline added). */
  readonly interactive: boolean;
  write(text: string): void;
}

export function processOutput(): Output {
  const color = pc.isColorSupported && process.stdout.isTTY === true;
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    color,
    interactive: process.stdout.isTTY === true,
    write: (text) => process.stdout.write(text),
  };
}
