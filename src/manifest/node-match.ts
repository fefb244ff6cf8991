import { warning, type RawIssue } from "./issues.ts";
import { runsOn } from "./resolve.ts";
import type { Manifest } from "./schema.ts";
import { closest } from "./suggest.ts";

// `--node mastre` (a typo, or an FQDN where the manifest names short hostnames) runs nothing of
// the manifest. That is legitimate for a machine without a role, so it is a warning, not an
// error; `status` and the agent's /healthz count it as a problem. Pure.

export interface NodeMatch {
  /** The node runs at least one daemon or watch, or the manifest declares none (nothing to match). */
  readonly matched: boolean;
  /** Every node the manifest's `nodes:` lists name, sorted. */
  readonly known: readonly string[];
}

function declared(m: Manifest): Array<[section: "daemons" | "sshReceivers" | "watches", name: string, nodes: readonly string[] | undefined]> {
  return [
    ...Object.entries(m.daemons).map(([name, d]) => ["daemons", name, d.nodes] as ["daemons", string, readonly string[] | undefined]),
    ...Object.entries(m.sshReceivers).map(([name, r]) => ["sshReceivers", name, r.nodes] as ["sshReceivers", string, readonly string[] | undefined]),
    ...Object.entries(m.watches).map(([name, w]) => ["watches", name, w.nodes] as ["watches", string, readonly string[] | undefined]),
  ];
}

export function matchNode(m: Manifest, node: string): NodeMatch {
  const all = declared(m);
  const known = [...new Set(all.flatMap(([, , nodes]) => nodes ?? []))].sort();
  return { matched: all.length === 0 || all.some(([, , nodes]) => runsOn(nodes, node)), known };
}

/** The sentence for a node that matches nothing: names the nodes the manifest knows. */
export function unmatchedNodeMessage(node: string, known: readonly string[]): string {
  const guess = closest(node.split(".")[0] ?? node, known);
  const hint = guess === undefined ? "" : `; did you mean "${guess}"?`;
  return `node "${node}" matches none of the manifest's nodes: lists (it knows ${known.map((k) => `"${k}"`).join(", ")}), so nothing runs here${hint} (pass --node with one of them, or add "${node}" to a nodes: list)`;
}

/** The warning for an unmatched node, at the first `nodes:` list; undefined when the node matches. */
export function checkNodeMatch(m: Manifest, node: string): RawIssue | undefined {
  const { matched, known } = matchNode(m, node);
  if (matched) return undefined;
  const first = declared(m).find(([, , nodes]) => nodes !== undefined);
  const path = first ? [first[0], first[1], "nodes"] : [];
  return { ...warning(path, unmatchedNodeMessage(node, known)), atKey: true };
}

/**
 * The warning for `--node NAME` other than this machine's name on a manifest without `nodes:`
 * lists: every daemon and watch runs on every node, so the name selects nothing and a typo would
 * go unnoticed. Undefined otherwise (or when the manifest declares nothing to run).
 */
export function checkNodeWithoutLists(m: Manifest, node: string, machine: string): RawIssue | undefined {
  const all = declared(m);
  if (node === machine || all.length === 0 || all.some(([, , nodes]) => nodes !== undefined)) return undefined;
  return warning([], `--node "${node}" selects nothing: the manifest has no nodes: lists, so every daemon and watch runs on every node ("${node}" included, this machine is "${machine}")`);
}
