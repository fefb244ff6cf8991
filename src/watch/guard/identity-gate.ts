import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { describeErrno } from "../../core/errors.ts";
import { readRecordedIdentity, writeRecordedIdentity, type RecordedIdentity, type SourceIdentity } from "../../state/source-identity.ts";
import { compareIdentity, identityHaltMessage } from "./identity.ts";
import { readSourceIdentity } from "./read-identity.ts";

// The gate every run of every lane passes first: is the source root the one the job recorded
// (identity.ts decides)? It keeps the recorded identity (state/source-identity.ts): loaded when
// the watcher starts, recorded from the first look when there is none (or the source path
// changed), refreshed after a reboot, and re-read while the job is halted so that
// `rtsync apply --accept-source` (which removes it) is seen without a restart.

export type GateResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: "source-changed"; readonly message: string };

/** A gate passed, with the source root opened: rsync reads it from this descriptor. */
export type PinResult = { readonly ok: true; readonly root: FileHandle } | Extract<GateResult, { ok: false }>;

export interface IdentityGate {
  /**
   * check(), then the root opened (O_DIRECTORY|O_NOFOLLOW) and its device and inode compared with
   * the record again: what a run reads is what was checked, whatever replaces the path meanwhile.
   */
  pin(): Promise<PinResult>;
  /** The source root now against the recorded identity (recording it when there is none). */
  check(): Promise<GateResult>;
  /** As check, after reading the record again: a removed record (accepted) records the root as it is now. */
  recheck(): Promise<GateResult>;
}

const OK: GateResult = { ok: true };

/** Opens the gate of watch `name` (reads its recorded identity; a record that cannot be read throws). */
export async function openIdentityGate(name: string, source: string, watchDir: string): Promise<IdentityGate> {
  const usable = (doc: RecordedIdentity | undefined): RecordedIdentity | undefined => (doc?.source === source ? doc : undefined);
  let recorded = usable(await readRecordedIdentity(watchDir));
  // A record the OS refused to write is written again at the next check; meanwhile memory holds it.
  let unsaved = false;

  const record = async (identity: SourceIdentity): Promise<void> => {
    recorded = { version: 1, source, recordedAt: new Date().toISOString(), identity };
    unsaved = true;
    await writeRecordedIdentity(watchDir, recorded).then(
      () => {
        unsaved = false;
      },
      () => undefined,
    );
  };

  const check = async (): Promise<GateResult> => {
    const now = await readSourceIdentity(source);
    if (recorded === undefined) {
      // Nothing to compare with yet: the first look at an existing root is the job's source.
      if (now.exists) await record(now.identity);
      return OK;
    }
    const verdict = compareIdentity(source, recorded.identity, now);
    if (!verdict.same) return { ok: false, reason: "source-changed", message: identityHaltMessage(name, verdict.detail) };
    if (now.exists && verdict.refresh) await record(now.identity);
    else if (unsaved) await record(recorded.identity);
    return OK;
  };

  const pin = async (): Promise<PinResult> => {
    const gate = await check();
    if (!gate.ok) return gate;
    let root: FileHandle;
    try {
      root = await open(source, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (e) {
      return { ok: false, reason: "source-changed", message: identityHaltMessage(name, `the source root ${source} cannot be opened as a directory (${describeErrno(e)})`) };
    }
    const s = await root.stat();
    const want = recorded?.identity;
    if (want !== undefined && (s.dev !== want.dev || s.ino !== want.ino)) {
      await root.close();
      return { ok: false, reason: "source-changed", message: identityHaltMessage(name, `the source root ${source} was replaced while it was checked (now dev ${s.dev} ino ${s.ino}, was dev ${want.dev} ino ${want.ino})`) };
    }
    return { ok: true, root };
  };

  return {
    check,
    pin,
    recheck: async () => {
      const doc = await readRecordedIdentity(watchDir).catch(() => recorded);
      if (doc === undefined) recorded = undefined;
      return check();
    },
  };
}
