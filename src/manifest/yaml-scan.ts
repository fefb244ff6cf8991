import { isAlias, isMap, isPair, isScalar, isSeq, type Alias, type Document, type Node } from "yaml";
import { MAX_ALIAS_VALUES, MAX_ANCHORS_AND_ALIASES, MAX_DEPTH } from "./limits.ts";

// One linear pass over the parsed YAML tree, before it is turned into data: duplicate keys (a Set
// per mapping; the yaml library's own `uniqueKeys` check is quadratic), keys that are not plain
// names, nesting depth, and aliases (unresolved, self-containing, too many, or expanding too far).
// Pure: (document) -> issues at source offsets.

export interface ScanIssue {
  /** Offset in the source text. */
  readonly offset: number;
  readonly message: string;
}

interface Frame {
  readonly node: Node;
  readonly children: readonly Node[];
  next: number;
  size: number;
}

function offsetOf(node: Node | null | undefined): number | undefined {
  return node?.range?.[0];
}

// The key of a pair as a duplicate check sees it: the scalar's value as text (`null` key: "").
function keyText(key: unknown): string | undefined {
  if (key === null || key === undefined) return "";
  if (isScalar(key)) return key.value === null ? "" : String(key.value);
  return undefined;
}

// The children of a collection in document order; checks the keys of a mapping on the way.
function childrenOf(node: Node, issues: ScanIssue[]): Node[] {
  const out: Node[] = [];
  if (isSeq(node)) {
    for (const item of node.items) if (item) out.push(item as Node);
  } else if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const text = keyText(pair.key);
      const at = offsetOf(pair.key as Node | null) ?? offsetOf(pair.value as Node | null) ?? offsetOf(node) ?? 0;
      if (text === undefined) {
        issues.push({ offset: at, message: "a key must be a plain name, not a list, a mapping or an alias" });
      } else if (seen.has(text)) {
        issues.push({ offset: at, message: `duplicate key "${text}": a key may appear only once in a mapping` });
      } else {
        seen.add(text);
      }
      if (pair.key && text !== undefined && isScalar(pair.key)) out.push(pair.key);
      if (pair.value) out.push(pair.value as Node);
    }
  }
  return out;
}

function anchorOf(node: Node): string | undefined {
  return (node as { anchor?: string }).anchor ?? undefined;
}

/**
 * Every structural problem of `doc` that must stop it before `toJS`. Iterative (no recursion),
 * linear in the number of nodes; each anchored value's expanded size is computed once.
 */
export function scanYaml(doc: Document): ScanIssue[] {
  const issues: ScanIssue[] = [];
  const root = doc.contents as Node | null;
  if (!root) return issues;
  const anchors = new Map<string, Node>();
  const sizes = new Map<Node, number>(); // expanded size of each anchored node, once complete
  const open = new Set<Node>(); // anchored nodes whose subtree is being walked
  const cap = (n: number) => Math.min(n, MAX_ALIAS_VALUES + 1);
  let anchorsAndAliases = 0;
  let aliasValues = 0;
  let aliasFailed = false;
  let stop = false;

  // The expanded size an alias stands for; reports the first alias that cannot be expanded.
  const aliasSize = (node: Alias): number => {
    if (aliasFailed) return 1;
    const target = anchors.get(node.source);
    let problem: string | undefined;
    if (!target) problem = `alias *${node.source} refers to no anchor before it`;
    else if (open.has(target)) problem = `alias *${node.source} refers to a value that contains it`;
    else {
      aliasValues = cap(aliasValues + (sizes.get(target) ?? 1));
      if (aliasValues > MAX_ALIAS_VALUES) {
        problem = `alias *${node.source} makes the manifest expand past ${MAX_ALIAS_VALUES} values (an alias bomb); aliases may add at most ${MAX_ALIAS_VALUES} values in all`;
      }
    }
    if (!problem) return sizes.get(target as Node) ?? 1;
    issues.push({ offset: offsetOf(node) ?? 0, message: problem });
    aliasFailed = true;
    return 1;
  };

  const stack: Frame[] = [];
  // Starts a node: a leaf returns its size, a collection gets a frame (undefined).
  const visit = (node: Node): number | undefined => {
    const anchor = anchorOf(node);
    if (anchor !== undefined || isAlias(node)) {
      if (++anchorsAndAliases > MAX_ANCHORS_AND_ALIASES) {
        issues.push({ offset: offsetOf(node) ?? 0, message: `the manifest has more than ${MAX_ANCHORS_AND_ALIASES} anchors and aliases; write the values out instead` });
        stop = true;
        return 1;
      }
    }
    if (anchor !== undefined) anchors.set(anchor, node);
    if (isAlias(node)) return aliasSize(node);
    if (!isMap(node) && !isSeq(node)) {
      if (anchor !== undefined) sizes.set(node, 1);
      return 1;
    }
    if (stack.length >= MAX_DEPTH) {
      issues.push({ offset: offsetOf(node) ?? 0, message: `the manifest is nested more than ${MAX_DEPTH} levels deep` });
      stop = true;
      return 1;
    }
    if (anchor !== undefined) open.add(node);
    stack.push({ node, children: childrenOf(node, issues), next: 0, size: 1 });
    return undefined;
  };

  visit(root);
  while (stack.length > 0 && !stop) {
    const frame = stack[stack.length - 1] as Frame;
    if (frame.next < frame.children.length) {
      const size = visit(frame.children[frame.next++] as Node);
      if (size !== undefined) frame.size = cap(frame.size + size);
      continue;
    }
    stack.pop();
    open.delete(frame.node);
    if (anchorOf(frame.node) !== undefined) sizes.set(frame.node, frame.size);
    const parent = stack[stack.length - 1];
    if (parent) parent.size = cap(parent.size + frame.size);
  }
  return issues;
}
