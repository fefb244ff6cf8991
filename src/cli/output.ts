import pc from "picocolors";

// Where the CLI writes. Commands get this rather than touching process.stdout, so tests and
// --json can redirect it.
export interface Output {
  out(line: string): void;
  err(line: string): void;
  readonly color: boolean;
}

export function processOutput(): Output {
  const color = pc.isColorSupported && process.stdout.isTTY === true;
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    color,
  };
}
