import pc from "picocolors";
import { escapeTerminal } from "../render/terminal-escape.ts";

// Where the CLI writes. Commands get this rather than touching process.stdout, so tests and
// --json can redirect it. A reader that goes away (`rtsync diff | head -1`) is not an error: once
// stdout is closed (EPIPE), the rest of the output is dropped and the command ends as it would.

export interface Output {
  /** One line of text: control characters in it are escaped (a file name cannot start a line). */
  out(line: string): void;
  /** One line on stderr, escaped the same way. */
  err(line: string): void;
  /** A JSON document (JSON escapes every control character in its strings). */
  json(doc: unknown): void;
  /** rtsync's own preformatted text of several lines (help, the schema), as it is. */
  block(text: string): void;
  readonly color: boolean;
  /** stdout is a terminal: apply may show live progress (written with `write`, no newline added). */
  readonly interactive: boolean;
  write(text: string): void;
}

/** An Output over two writers (stdout's, stderr's); `color`: rtsync's own colours are kept. */
export function writerOutput(write: (text: string) => void, writeErr: (text: string) => void, color: boolean, interactive: boolean): Output {
  return {
    out: (line) => write(`${escapeTerminal(line, color)}\n`),
    err: (line) => writeErr(`${escapeTerminal(line, color)}\n`),
    json: (doc) => write(`${JSON.stringify(doc, null, 2)}\n`),
    block: (text) => write(`${text}\n`),
    color,
    interactive,
    write,
  };
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
  return writerOutput(write, (text) => process.stderr.write(text), color, process.stdout.isTTY === true);
}
