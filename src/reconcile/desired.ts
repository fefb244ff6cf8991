import type { ResolvedManifest } from "../manifest/resolve.ts";
import { KINDS, type DesiredResources, type KindName } from "../resources/kinds.ts";
import type { BuildInputs } from "../resources/types.ts";
import { mapKinds } from "./kinds-each.ts";

// What one node should have: every kind's builder over the resolved manifest. Pure: what the
// builders need from the machine (passwords, program paths, who rtsync runs as) comes in `inputs`.

export interface Desired {
  readonly manifest: string;
  /** The manifest's identity (ResolvedManifest.owner). */
  readonly owner: string;
  readonly node: string;
  readonly stateDir: string;
  readonly resources: DesiredResources;
}

export function buildDesired(m: ResolvedManifest, inputs: BuildInputs): Desired {
  return {
    manifest: m.file,
    owner: m.owner,
    node: m.node,
    stateDir: m.stateDir,
    resources: mapKinds<DesiredResources>(<K extends KindName>(kind: K) => KINDS[kind].build(m, inputs)),
  };
}
