/**
 * The teardown activities: retiring the source after an approved teardown (only objects whose
 * verified copy the target holds), and the rollback's clean-up of the target (only what this
 * migration wrote). Both check first that target and source lie apart.
 */
import { heartbeat } from '@temporalio/activity';
import { MIGRATION_METADATA_KEY, SOURCE_VERSION_METADATA_KEY } from '../clouds/object-store.js';
import type { StoreResolver } from '../clouds/profiles.js';
import { migrationFolder } from '../migration-paths.js';
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
  /** Checked against the target before anything is deleted. */
  source?: StorageLocation;
  target: StorageLocation;
  cursor?: string;
  pageSize: number;
  concurrency: number;
}

export function createTeardownActivities(deps: TeardownDeps) {
  return {
    /**
     * Teardown, when the spec asks for it: deletes one page of source objects, each only if the
     * target holds a verified copy of that very version (size, source version, recorded SHA-256).
     * Whatever does not verify is kept and reported.
     */
    async deleteVerifiedSourcePage(input: RetirePageInput): Promise<RetirePageResult> {
      await assertApart(input.source, input.target, 'retire the source', deps.stores);
      return asActivity(
        withLocation(input.source, async () => {
          const { source, target, records, objects, listed, cursor } = await sourcePageWithTargets(deps.stores, input);
          const result: RetirePageResult = { deleted: 0, kept: 0, keptKeys: [], cursor };
          await forEachLimited(objects, input.concurrency, async (o) => {
            const stored = await storedAt(target, records, listed, targetKeyOf(input.source, input.target, o.key));
            const verified = stored && stored.size === o.size && stored.checksums.sha256 && stored.metadata?.[SOURCE_VERSION_METADATA_KEY] === versionOf(o);
            if (!verified) {
              result.kept++;
              if (result.keptKeys.length < MAX_REPORTED_KEYS) result.keptKeys.push(o.key);
              return;
            }
            await source.delete(o.key);
            result.deleted++;
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
          const result: RetirePageResult = { deleted: 0, kept: 0, keptKeys: [], cursor: page.cursor };
          await forEachLimited(page.objects, input.concurrency, async (o) => {
            const ours = o.key.startsWith(ownFolder) || (o.metadata ?? (await headIfExists(target, o.key))?.metadata)?.[MIGRATION_METADATA_KEY] === input.migration;
            if (!ours) {
              result.kept++;
              return;
            }
            await target.delete(o.key);
            result.deleted++;
          });
          heartbeat(result);
          return result;
        }),
      );
    },

  };
}
