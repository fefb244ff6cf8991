import { KIND_ORDER, type KindName } from "../resources/kinds.ts";

// Per-kind results keyed by kind. TypeScript cannot check that the value under key K is f(K) when
// f is generic over K (it does not simplify a mapped type indexed by a type parameter), so the
// one assertion lives here; callers pass a function that is typed per kind.

/** Calls `f` for every kind, in apply order; the results are keyed by kind. */
export function mapKinds<R extends { [K in KindName]: unknown }>(f: (kind: KindName) => unknown): R {
  return Object.fromEntries(KIND_ORDER.map((k) => [k, f(k)])) as R;
}

/** The same, for readers: every kind at once. */
export async function mapKindsAsync<R extends { [K in KindName]: unknown }>(f: (kind: KindName) => Promise<unknown>): Promise<R> {
  const values = await Promise.all(KIND_ORDER.map(async (k) => [k, await f(k)] as const));
  return Object.fromEntries(values) as R;
}
