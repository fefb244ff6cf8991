// Things indexed by the nodes they run on, so a check compares an item only with the items it can
// meet on one machine (absent nodes: every node). Keeps the cross-resource checks linear when a
// fleet manifest gives each of thousands of nodes its own daemon or watch.
export class NodeIndex<T> {
  private readonly everywhere: T[] = [];
  private readonly byNode = new Map<string, T[]>();
  private size = 0;

  add(item: T, nodes: readonly string[] | undefined): void {
    this.size++;
    if (!nodes) {
      this.everywhere.push(item);
      return;
    }
    for (const n of nodes) {
      const list = this.byNode.get(n);
      if (list) list.push(item);
      else this.byNode.set(n, [item]);
    }
  }

  /** The first result of `pick` over the items that share a node with `nodes`, in insertion order per list. */
  find<R>(nodes: readonly string[] | undefined, pick: (item: T) => R | undefined): R | undefined {
    if (this.size === 0) return undefined;
    const lists = nodes ? [this.everywhere, ...nodes.map((n) => this.byNode.get(n) ?? [])] : [this.everywhere, ...this.byNode.values()];
    for (const list of lists) {
      for (const item of list) {
        const hit = pick(item);
        if (hit !== undefined) return hit;
      }
    }
    return undefined;
  }
}
