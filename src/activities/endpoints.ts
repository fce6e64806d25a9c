import type { StoreResolver } from '../clouds/profiles.js';
import { ChecksumRecords } from '../copy/checksum-records.js';
import type { Endpoint, EndpointDeployer } from '../endpoints/deployer.js';
import { ModelChecksumMismatch } from '../inference/model.js';
import { keyIn, type ExecutionProvider, type StorageLocation } from '../spec.js';
import { asActivity } from './failures.js';

export interface EndpointDeps {
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
}

export function createEndpointActivities(deps: EndpointDeps) {
  return {
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
        });
      });
    },

    /** Stops one side's endpoint (the compensation of a deploy, and teardown's for the source). */
    async stopEndpoint(input: { migration: string; side: 'source' | 'target' }): Promise<void> {
      await deps.deployer.stop(input.migration, input.side);
    },
  };
}
