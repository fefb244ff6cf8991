import type { BytePath } from "../../byte-path.ts";

// The watch-descriptor -> path tree. Each watched directory is a node keyed by its wd, holding
// only its parent's wd and its own name; a path is built by walking up. A directory move is
// therefore one re-parenting, however deep the subtree under it: every wd below keeps pointing
// at its parent and reads the new name on the next event (inotifywait instead rewrites a
// stored path per watch, and misses some; issue 10).
//
// Invariants:
// - the root is the only node without a parent, and its path is "";
// - a (parent, name) slot holds at most one node; `children` indexes exactly the attached nodes;
// - a node detached from the tree (moved out, deleted) is forgotten together with its subtree:
//   `detach` returns their wds so the caller can rm_watch them.

interface Node {
  parent: number | undefined;
  name: BytePath;
  /** Subdirectories by name; absent while there are none (most directories are leaves). */
  children: Map<BytePath, number> | undefined;
}

export class WatchTree {
  private readonly nodes = new Map<number, Node>();
  private rootWd: number | undefined;

  /** Watched directories. */
  get size(): number {
    return this.nodes.size;
  }

  get root(): number | undefined {
    return this.rootWd;
  }

  has(wd: number): boolean {
    return this.nodes.has(wd);
  }

  setRoot(wd: number): void {
    this.nodes.clear();
    this.rootWd = wd;
    this.nodes.set(wd, { parent: undefined, name: "", children: undefined });
  }

  /**
   * The path of a watched directory relative to the root ("" for the root); undefined when the
   * wd is unknown or hangs under an unhooked directory (a move whose other end is not seen yet).
   */
  pathOf(wd: number): BytePath | undefined {
    let path: BytePath | undefined;
    for (let at: number | undefined = wd; ; ) {
      const node: Node | undefined = this.nodes.get(at);
      if (node === undefined) return undefined;
      if (node.parent === undefined) return at === this.rootWd ? (path ?? "") : undefined;
      path = path === undefined ? node.name : `${node.name}/${path}`;
      at = node.parent;
    }
  }

  /** Where a watched directory hangs: its parent's wd and its name (undefined for the root or an unhooked one). */
  placeOf(wd: number): { readonly parent: number; readonly name: BytePath } | undefined {
    const node = this.nodes.get(wd);
    return node?.parent === undefined ? undefined : { parent: node.parent, name: node.name };
  }

  /** The watched subdirectory `name` of `parent`. */
  childOf(parent: number, name: BytePath): number | undefined {
    return this.nodes.get(parent)?.children?.get(name);
  }

  /**
   * Puts `wd` at (parent, name): a new watch, a rename inside the tree, or a known watch found
   * under another name. A node already in that slot was replaced (rename over a directory) and
   * is detached; its wds and those of its subtree are returned. Refuses to make a node its own
   * ancestor (returns undefined; the caller rescans).
   */
  attach(wd: number, parent: number, name: BytePath): number[] | undefined {
    const parentNode = this.nodes.get(parent);
    if (parentNode === undefined || this.isAncestorOrSelf(wd, parent)) return undefined;
    let node = this.nodes.get(wd);
    if (node !== undefined && node.parent === parent && node.name === name) return [];
    // Out of its old place first: the node it replaces may be its old ancestor (a stale tree).
    if (node !== undefined) this.unlink(wd, node);
    const occupant = parentNode.children?.get(name);
    const replaced = occupant === undefined || occupant === wd ? [] : this.detach(occupant);
    if (node === undefined) {
      node = { parent, name, children: undefined };
      this.nodes.set(wd, node);
    } else {
      node.parent = parent;
      node.name = name;
    }
    (parentNode.children ??= new Map()).set(name, wd);
    return replaced;
  }

  /** Takes `wd` out of its parent's names but keeps its subtree (a move-from awaiting its move-to). */
  unhook(wd: number): void {
    const node = this.nodes.get(wd);
    if (node !== undefined && node.parent !== undefined) {
      this.unlink(wd, node);
      node.parent = undefined;
    }
  }

  /** Whether `wd` is known but hangs nowhere (unhooked). */
  isUnhooked(wd: number): boolean {
    const node = this.nodes.get(wd);
    return node !== undefined && node.parent === undefined && wd !== this.rootWd;
  }

  /** Forgets `wd` and its subtree; returns their wds (empty when unknown). The root is never detached. */
  detach(wd: number): number[] {
    const node = this.nodes.get(wd);
    if (node === undefined || wd === this.rootWd) return [];
    this.unlink(wd, node);
    const gone: number[] = [];
    const stack = [wd];
    for (let at = stack.pop(); at !== undefined; at = stack.pop()) {
      const n = this.nodes.get(at);
      if (n === undefined) continue;
      gone.push(at);
      this.nodes.delete(at);
      if (n.children !== undefined) for (const child of n.children.values()) stack.push(child);
    }
    return gone;
  }

  /** Every wd, for a recrawl's sweep. */
  wds(): IterableIterator<number> {
    return this.nodes.keys();
  }

  private unlink(wd: number, node: Node): void {
    if (node.parent === undefined) return;
    const siblings = this.nodes.get(node.parent)?.children;
    if (siblings?.get(node.name) === wd) {
      siblings.delete(node.name);
      if (siblings.size === 0) (this.nodes.get(node.parent) as Node).children = undefined;
    }
  }

  private isAncestorOrSelf(wd: number, of: number): boolean {
    for (let at: number | undefined = of; at !== undefined; at = this.nodes.get(at)?.parent) if (at === wd) return true;
    return false;
  }
}
