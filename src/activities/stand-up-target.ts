/**
 * The stand-up activities: the target container (after checking it lies apart from the source),
 * the model's description for its early copy (the copy itself is copy-data's copyBatch), and an
 * endpoint on each side serving the model from its own cloud's storage.
 */
import type { StoreResolver } from '../clouds/profiles.js';
import { ChecksumRecords } from '../copy/checksum-records.js';
import type { Endpoint, EndpointDeployer } from '../endpoints/deployer.js';
import { loadModel, ModelChecksumMismatch } from '../inference/model.js';
import { onnxClassLabels } from '../inference/onnx-classes.js';
import { classCodes } from '../inference/class-codes.js';
import { OipClient } from '../endpoints/oip-client.js';
import { defaultOutputs, EndpointMismatch, interfaceProblems, type OutputMapping, type SendableDatatype, type ServedInput, type ServedModel } from '../endpoints/oip.js';
import { keyIn, type ExecutionProvider, type ServingSpec, type ServingStack, type StorageLocation } from '../spec.js';
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
  /** The name (and version) V2 clients use for the model; absent in runs recorded before V2. */
  modelName?: string;
  modelVersion?: string;
  /** The serving stack. @default 'cloudshift' */
  server?: ServingStack;
}

export interface CheckServedModelInput {
  side: 'source' | 'target';
  /** The server and the model as it serves it. */
  endpoint: { url: string; model: string; version?: string; outputs?: OutputMapping };
  /** Where the ONNX model the server must match is stored (the side's own copy). */
  location: StorageLocation;
  modelPath: string;
  /** The holdout's feature count and the task: what traffic will send and read. */
  features: number;
  /** The holdout's feature columns and workload.holdout.inputs, where the model takes several inputs (absent in runs recorded before). */
  featureNames?: string[];
  inputs?: Record<string, string[]>;
  task: 'binary' | 'multiclass' | 'regression';
}

export type { ServedModel } from '../endpoints/oip.js';

export function createStandUpTargetActivities(deps: StandUpTargetDeps) {
  return {
    /**
     * A V2 server's model checked before any traffic moves: it is ready, serves this model (and
     * version), its metadata matches the ONNX model and the holdout (input width and datatype,
     * the outputs the spec reads, the class count), and one row answered reads back as
     * predictions. What no retry can change fails at once, naming the server, the model, the
     * field and both values; a server not ready yet is retried.
     */
    async checkServedModel(input: CheckServedModelInput): Promise<ServedModel> {
      const { bytes } = await loadModel(storeOf(deps.stores, input.location), keyIn(input.location, input.modelPath));
      const modelClasses = input.task === 'regression' ? undefined : onnxClassLabels(bytes);
      // String classes travel by their codes (class-codes.ts), as the in-worker run reads them.
      const classes = modelClasses && { values: modelClasses.kind === 'string' ? classCodes(modelClasses.values) : modelClasses.values };
      const client = new OipClient(input.endpoint);
      if (!(await client.ready())) throw new Error(`${client.where}: not ready yet (GET /v2/health/ready); retried`);
      // The metadata first: a model the server does not serve is refused, not waited for.
      const metadata = await client.metadata();
      if (!(await client.modelReady())) throw new Error(`${client.where}: the model is not ready yet (GET /v2/models/${input.endpoint.model}/ready); retried`);
      const outputs = input.endpoint.outputs ?? defaultOutputs(metadata, input.task);
      const mapped = input.inputs && input.featureNames ? Object.entries(input.inputs).map(([name, columns]) => ({ name, columns: columns.map((c) => input.featureNames!.indexOf(c)) })) : undefined;
      const expectedInputs = mapped ? mapped.map((m) => ({ name: m.name, width: m.columns.length })) : [{ width: input.features }];
      const problems = interfaceProblems(metadata, { inputs: expectedInputs, task: input.task, ...(classes ? { classes: classes.values.length } : {}), outputs });
      if (problems.length > 0) throw new EndpointMismatch(`${client.where} (the ${input.side}) does not serve what the migration sends and reads: ${problems.join('; ')}`, { server: input.endpoint.url, model: input.endpoint.model });
      const datatypeOf = (name: string) => metadata.inputs.find((m) => m.name === name)!.datatype as SendableDatatype;
      const sent: ServedInput[] = mapped ? mapped.map((m) => ({ name: m.name, datatype: datatypeOf(m.name), columns: m.columns })) : [{ name: metadata.inputs[0]!.name, datatype: datatypeOf(metadata.inputs[0]!.name) }];
      const first = sent[0]!;
      const tensor = { name: first.name, datatype: first.datatype === 'FP64' ? ('FP64' as const) : ('FP32' as const) };
      // One row through it: a server whose answers are not what its metadata says is found here, not mid-canary.
      await client.predict(sent, [new Array<number>(input.features).fill(0)], outputs, classes?.values);
      return {
        url: input.endpoint.url,
        model: input.endpoint.model,
        ...(input.endpoint.version ? { version: input.endpoint.version } : {}),
        input: tensor,
        ...(mapped || first.datatype !== tensor.datatype ? { inputs: sent } : {}),
        outputs,
        ...(classes ? { classes: classes.values } : {}),
        ...(modelClasses?.kind === 'string' ? { classNames: modelClasses.values } : {}),
      };
    },

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
          ...(input.modelName ? { modelName: input.modelName } : {}),
          ...(input.modelVersion ? { modelVersion: input.modelVersion } : {}),
          ...(input.server ? { server: input.server } : {}),
          location: input.location,
        });
      });
    },

    /** Stops one side's endpoint (the compensation of a deploy, and teardown's for the source). */
    async stopEndpoint(input: { migration: string; side: 'source' | 'target' }): Promise<void> {
      await deps.deployer.stop(input.migration, input.side);
    },
  };
}
