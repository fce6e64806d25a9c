/**
 * The stand-up activities: the target container (after checking it lies apart from the source),
 * the model's description for its early copy (the copy itself is copy-data's copyBatch), and an
 * endpoint on each side serving the model from its own cloud's storage.
 */
import type { StoreResolver } from '../clouds/profiles.js';
import { ChecksumRecords } from '../copy/checksum-records.js';
import type { Endpoint, EndpointDeployer } from '../endpoints/deployer.js';
import { ModelChecksumMismatch } from '../inference/model.js';
import { keyIn, type ExecutionProvider, type ServingSpec, type StorageLocation } from '../spec.js';
import { claimRunFolder, type RunClaim } from '../copy/run-claim.js';
import type { CopyObjectRef } from './copy-data.js';
import { asActivity } from './failures.js';
import { assertApart, storeOf, versionOf, withLocation } from './object-access.js';

export interface StandUpTargetDeps {
  stores: StoreResolver;
  deployer: EndpointDeployer;
}

export interface DeployEndpointInput {
  migration: string;
  side: 'source' | 'target';
  location: StorageLocation;
  modelPath: string;
  executionProvider: ExecutionProvider;
  /**
   * Refuse a model whose bytes do not hash to the SHA-256 cloudshift recorded when it copied it
   * (the target's model; the source's was not written by cloudshift).
   */
  verifyRecordedChecksum: boolean;
  /** The workload's deployment description. */
  serving?: ServingSpec;
}

export function createStandUpTargetActivities(deps: StandUpTargetDeps) {
  return {
    /** The target bucket or container exists (standUpTarget). */
    async ensureTargetContainer({ target, source, claim }: { target: StorageLocation; source?: StorageLocation; claim?: RunClaim & { migration: string } }): Promise<void> {
      if (source) await assertApart(source, target, 'stand up the target', deps.stores);
      const store = storeOf(deps.stores, target);
      await withLocation(target, () => store.ensureContainer())();
      if (claim) await claimRunFolder(store, target, claim.migration, { mark: claim.mark, ...(claim.startedAt ? { startedAt: claim.startedAt } : {}) });
    },

    /** One source object as a copy batch takes it, named relative to the source prefix. */
    async describeSourceObject({ source, relativeKey }: { source: StorageLocation; relativeKey: string }): Promise<CopyObjectRef> {
      return asActivity(
        withLocation(source, async () => {
          const info = await storeOf(deps.stores, source).head(keyIn(source, relativeKey));
          return { key: info.key, size: info.size, version: versionOf(info) };
        }),
      );
    },


    /** Serves the model as stored in one cloud; resolves once the endpoint is ready. Idempotent. */
    async deployEndpoint(input: DeployEndpointInput): Promise<Endpoint> {
      return asActivity(async () => {
        const store = deps.stores.store(input.location);
        const modelKey = keyIn(input.location, input.modelPath);
        const records = new ChecksumRecords(store, input.location, input.migration);
        const recorded = input.verifyRecordedChecksum ? (await records.resolve(await store.head(modelKey))).checksums.sha256 : undefined;
        if (input.verifyRecordedChecksum && !recorded) {
          throw new ModelChecksumMismatch(`the model ${store.uri}/${modelKey} carries no SHA-256 recorded by cloudshift: it was not written by this migration's copy`);
        }
        return deps.deployer.deploy({
          migration: input.migration,
          side: input.side,
          store,
          modelKey,
          executionProvider: input.executionProvider,
          expectedModelSha256: recorded,
          ...(input.serving ? { serving: input.serving } : {}),
        });
      });
    },

    /** Stops one side's endpoint (the compensation of a deploy, and teardown's for the source). */
    async stopEndpoint(input: { migration: string; side: 'source' | 'target' }): Promise<void> {
      await deps.deployer.stop(input.migration, input.side);
    },
  };
}
