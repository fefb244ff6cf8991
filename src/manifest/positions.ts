import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";

// Maps a path inside the parsed manifest (["daemons", "a", "port"]) back to a line and column of
// the YAML source, so every issue can be reported as FILE:LINE:COL.

export type PathSegment = string | number;
export interface Position {
  readonly line: number;
  readonly col: number;
}

interface Located {
  readonly key?: Node | undefined;
  readonly value?: Node | undefined;
}

// Walks the document along `path`; stops at the deepest node that exists.
function locate(doc: Document, path: readonly PathSegment[]): { found: Located; depth: number } {
  let current: Located = doc.contents ? { value: doc.contents as Node } : {};
  let depth = 0;
  for (const seg of path) {
    const node = current.value;
    let next: Located | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair) next = { key: pair.key as Node, value: (pair.value ?? undefined) as Node | undefined };
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg];
      if (item) next = { value: item as Node };
    }
    if (!next) break;
    current = next;
    depth++;
  }
  return { found: current, depth };
}

function offsetOf(node: Node | undefined): number | undefined {
  return node?.range?.[0];
}

/**
 * The position of the value at `path` (or of its key, with `atKey`). A path that does not exist
 * (a missing key) points at the deepest existing parent.
 */
export function positionOf(
  doc: Document,
  lines: LineCounter,
  path: readonly PathSegment[],
  atKey = false,
): Position {
  const { found, depth } = locate(doc, path);
  const complete = depth === path.length;
  const offset =
    (complete && atKey ? offsetOf(found.key) : undefined) ??
    (complete ? offsetOf(found.value) ?? offsetOf(found.key) : offsetOf(found.key) ?? offsetOf(found.value)) ??
    0;
  const { line, col } = lines.linePos(offset);
  return { line, col };
}
