/**
 * Which run of a migration owns its folder in the target, `.cloudshift/<name>/run.json`. A
 * migration's name is its workflow id, and a finished name can be started again: without this,
 * run 2 of a reused name shared run 1's folder and its clean-up deleted run 1's copies (the only
 * copies once run 1 had retired its source). The first run to stand up writes its mark here; a
 * later run under the same name is refused before it writes anything.
 */
import { Readable } from 'node:stream';
import type { ObjectStore } from '../clouds/object-store.js';
import { StoreError } from '../clouds/errors.js';
import { NonRetryableError } from '../errors.js';
import { runClaim } from '../migration-paths.js';
import type { StorageLocation } from '../spec.js';

export interface RunClaim {
  /** The run's mark (its first run id), also on every object it copies. */
  mark: string;
  /** When that run started, for the message. */
  startedAt?: string;
}

export class MigrationNameReused extends NonRetryableError {
  constructor(message: string, context: Record<string, string>) {
    super('MigrationNameReused', message, context);
  }
}

/** The claim on the folder, or undefined where none was made (no run stood up there, or one recorded before claims). */
export async function readRunClaim(store: ObjectStore, target: StorageLocation, migration: string): Promise<RunClaim | undefined> {
  let text = '';
  try {
    for await (const chunk of await store.read(runClaim(target, migration))) text += (chunk as Buffer).toString('utf8');
  } catch (error) {
    if (error instanceof StoreError && error.kind === 'NotFound') return undefined;
    throw error;
  }
  try {
    const claim = JSON.parse(text) as Partial<RunClaim>;
    if (typeof claim.mark === 'string') return { mark: claim.mark, ...(typeof claim.startedAt === 'string' ? { startedAt: claim.startedAt } : {}) };
  } catch {
    // Unreadable below.
  }
  // A claim we cannot read belongs to someone: never taken for ours.
  return { mark: '(unreadable)' };
}

const reused = (store: ObjectStore, target: StorageLocation, migration: string, found: RunClaim, what: string) =>
  new MigrationNameReused(
    `a migration named "${migration}" ran before into ${store.uri}/${runClaim(target, migration)} (run ${found.mark}${found.startedAt ? `, started ${found.startedAt}` : ''}): its manifest, checksum records and report are in that folder and its copies carry its mark, so this run ${what}. Nothing was written. Start this migration under a new name; the earlier run's objects are never touched by another run`,
    { migration, claimedBy: found.mark },
  );

/** Claims the folder for this run, or refuses if an earlier run of the name holds it. Idempotent for the same run. */
export async function claimRunFolder(store: ObjectStore, target: StorageLocation, migration: string, claim: RunClaim): Promise<void> {
  const found = await readRunClaim(store, target, migration);
  if (found?.mark === claim.mark) return;
  if (found) throw reused(store, target, migration, found, 'cannot use the name');
  await store.write(runClaim(target, migration), Readable.from([Buffer.from(JSON.stringify(claim))]), { contentType: 'application/json' });
}

/** Refuses to write into or delete from the folder unless this run holds it (or no run claimed it). */
export async function assertRunOwnsFolder(store: ObjectStore, target: StorageLocation, migration: string, mark: string, what: string): Promise<void> {
  const found = await readRunClaim(store, target, migration);
  if (found && found.mark !== mark) throw reused(store, target, migration, found, what);
}
