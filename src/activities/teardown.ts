/**
 * The teardown activities: retiring the source after an approved teardown (only objects whose
 * verified copy the target holds), and the rollback's clean-up of the target (only what this
 * migration wrote). Both check first that target and source lie apart.
 */
import { activityInfo, heartbeat } from '@temporalio/activity';
import { MIGRATION_METADATA_KEY } from '../clouds/object-store.js';
import { bytesDiffer, isVerifiedCopy } from '../copy/verified-copy.js';
import type { StoreResolver } from '../clouds/profiles.js';
import { migrationFolder } from '../migration-paths.js';
import { assertRunOwnsFolder } from '../copy/run-claim.js';
import type { StorageLocation } from '../spec.js';
import type { PagePassInput } from './copy-data.js';
import { asActivity } from './failures.js';
import { assertApart, forEachLimited, headIfExists, MAX_REPORTED_KEYS, sourcePageWithTargets, storedAt, storeOf, targetKeyOf, versionOf, withLocation } from './object-access.js';

export interface TeardownDeps {
  stores: StoreResolver;
}

export interface RetirePageInput extends PagePassInput {
  migration: string;
}

export interface RetirePageResult {
  deleted: number;
  kept: number;
  keptKeys: string[];
  cursor?: string;
}

export interface CleanUpInput {
  migration: string;
  /**
   * The run's own mark (its first run id), put on every object it writes; its clean-up deletes
   * only objects with this mark. Absent in runs recorded before marks: the name then.
   */
  mark?: string;

  /** Checked against the target before anything is deleted. */
  source?: StorageLocation;
  target: StorageLocation;
  cursor?: string;
  pageSize: number;
  concurrency: number;
}

/** What an earlier attempt of this page deleted, from its last heartbeat. */
function deletedBefore(): number {
  const details = activityInfo().heartbeatDetails as Partial<RetirePageResult> | undefined;
  return typeof details?.deleted === 'number' && details.deleted >= 0 ? details.deleted : 0;
}

export function createTeardownActivities(deps: TeardownDeps) {
  return {
    /**
     * Teardown, when the spec asks for it: deletes one page of source objects, each only if the
     * target holds a verified copy of that very version (size, source version, recorded SHA-256)
     * and its bytes, read back now (or hashed by the store itself), hash to that SHA-256.
     * Whatever does not verify is kept and reported with the reason.
     */
    async deleteVerifiedSourcePage(input: RetirePageInput): Promise<RetirePageResult> {
      await assertApart(input.source, input.target, 'retire the source', deps.stores);
      return asActivity(
        withLocation(input.source, async () => {
          const { source, target, records, objects, listed, cursor } = await sourcePageWithTargets(deps.stores, input);
          // A retry after a crash mid-page no longer lists what the first attempt deleted: its count carries over.
          const result: RetirePageResult = { deleted: deletedBefore(), kept: 0, keptKeys: [], cursor };
          await forEachLimited(objects, input.concurrency, async (o) => {
            const stored = await storedAt(target, records, listed, targetKeyOf(input.source, input.target, o.key));
            const why = !isVerifiedCopy(stored, { size: o.size, version: versionOf(o) }) ? 'no verified copy of this version at the target' : await bytesDiffer(target, stored);
            if (why) {
              result.kept++;
              if (result.keptKeys.length < MAX_REPORTED_KEYS) result.keptKeys.push(`${o.key}: ${why}`);
              return;
            }
            await source.delete(o.key);
            result.deleted++;
            heartbeat(result);
          });
          heartbeat(result);
          return result;
        }),
      );
    },


    /**
     * Rollback, when the spec asks for it: deletes one page of what this migration wrote under the
     * target prefix (objects marked with this migration's name, and its own folder); everything
     * else — what was there before, other migrations' copies — is kept.
     */
    async deleteMigratedTargetPage(input: CleanUpInput): Promise<RetirePageResult> {
      if (input.source) await assertApart(input.source, input.target, 'clean up the target', deps.stores);
      return asActivity(
        withLocation(input.target, async () => {
          const target = storeOf(deps.stores, input.target);
          const page = await target.list(input.target.prefix, { cursor: input.cursor, pageSize: input.pageSize });
          const ownFolder = migrationFolder(input.target, input.migration, '');
          const mark = input.mark ?? input.migration;
          // The folder is this run's only if no other run of the name claimed it.
          if (input.mark) await assertRunOwnsFolder(target, input.target, input.migration, input.mark, 'cannot clean up there');
          const result: RetirePageResult = { deleted: deletedBefore(), kept: 0, keptKeys: [], cursor: page.cursor };
          await forEachLimited(page.objects, input.concurrency, async (o) => {
            const ours = o.key.startsWith(ownFolder) || (o.metadata ?? (await headIfExists(target, o.key))?.metadata)?.[MIGRATION_METADATA_KEY] === mark;
            if (!ours) {
              result.kept++;
              return;
            }
            await target.delete(o.key);
            result.deleted++;
            heartbeat(result);
          });
          heartbeat(result);
          return result;
        }),
      );
    },

  };
}
