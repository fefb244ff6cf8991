import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from "yaml";

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

// The pairs of each mapping by key, built on the first lookup: one issue per module of 80,000
// would otherwise scan 80,000 pairs each (validate took 1000 s).
const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p);
    pairIndex.set(map, index);
  }
  return index.get(key);
}

// Walks the document along `path`; stops at the deepest node that exists.
function locate(doc: Document, path: readonly PathSegment[]): { found: Located; depth: number } {
  let current: Located = doc.contents ? { value: doc.contents as Node } : {};
  let depth = 0;
  for (const seg of path) {
    const node = current.value;
    let next: Located | undefined;
    if (isMap(node)) {
      const pair = pairOf(node, String(seg));
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
