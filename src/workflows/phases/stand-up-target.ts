/**
 * The stand-up phase: the target container, then (with a workload) the model copied ahead of the
 * data and an endpoint on each side serving it from its own cloud's storage.
 */
import { ActivityFailure, ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import type { CheckServedModelInput } from '../../activities/stand-up-target.js';
import { failureMessage } from '../../format.js';
import type { ArtifactCheck } from '../../artifacts/check.js';
import type { MigrationSpec } from '../../spec.js';
import { type MigrationRun, RollbackRequested } from '../run.js';

export type Workload = NonNullable<MigrationSpec['workload']>;

/** Objects the rollback clean-up deletes per activity call. */
const CLEAN_UP_PAGE = 1000;
/** Artifact files per copy batch: a batch's input stays small in history. */
const ARTIFACT_BATCH = 200;
const ARTIFACT_FAILURES = ['ArtifactSignatureInvalid', 'ArtifactDigestMismatch', 'ArtifactProvenanceInvalid'];

export const targetModelPath = (workload: Workload) => workload.model.targetPath ?? workload.model.path;

/** Marks runs that serve the model over V2 under the spec's name, adopt a named source endpoint, and check both servers before traffic moves. */
export const SERVED_OVER_V2_PATCH = 'endpoints-served-over-v2';

/** Returns the workload whose endpoints now serve, or undefined (none in the spec, or a dry run). */
export async function standUpTarget(run: MigrationRun): Promise<Workload | undefined> {
  const { spec, status, migration } = run;
  run.enter('standUpTarget', `${spec.target.cloud}:${spec.target.bucket}`);
  await run.untilRollback(() => run.target.ensureTargetContainer.executeWithOptions({ summary: `the target ${spec.target.cloud} bucket ${spec.target.bucket}, checked apart from the source` }, [{ target: spec.target, source: spec.source, ...(run.mark && !spec.copy.dryRun ? { claim: { migration, mark: run.mark, startedAt: workflowInfo().runStartTime.toISOString() } } : {}) }]));
  // The container itself stays on rollback: it may hold other data, and keeping it loses nothing.
  if (spec.teardown.deleteTargetDataOnRollback) {
    run.saga.push({ phase: 'standUpTarget', what: `delete what the migration wrote under ${spec.target.bucket}/${spec.target.prefix}`, undo: () => deleteMigratedTargetData(run) });
  }
  // A dry run writes nothing, so it stands up no endpoint either.
  const workload = spec.copy.dryRun ? undefined : spec.workload;
  if (workload) {
    // The model goes first, so the target endpoint loads it from target storage; the copy
    // phase then finds it in place and skips it.
    if (workload.artifact) {
      await copyArtifact(run, workload);
    } else {
      const model = await run.untilRollback(() => run.source.describeSourceObject({ source: spec.source, relativeKey: targetModelPath(workload) }));
      await run.untilRollback(() => run.target.copyBatch({ migration, ...run.markInput, source: spec.source, target: spec.target, objects: [model], concurrency: 1, partSizeMiB: spec.copy.partSizeMiB }));
    }
    const v2 = patched(SERVED_OVER_V2_PATCH);
    const adopted = v2 ? workload.endpoints.source : undefined;
    // The target serves under the adopted source's name and version, so the data plane's requests fit both.
    const served = { name: adopted?.model ?? workload.endpoints.modelName, version: adopted?.version };
    const endpoint = (side: 'source' | 'target') => ({
      migration,
      side,
      location: spec[side],
      modelPath: side === 'target' ? targetModelPath(workload) : workload.model.path,
      executionProvider: spec.shadow.executionProvider,
      verifyRecordedChecksum: side === 'target',
      serving: workload.deployment,
      ...(v2 ? { modelName: served.name, ...(served.version ? { modelVersion: served.version } : {}) } : {}),
      ...(v2 && side === 'target' && workload.endpoints.target.server !== 'cloudshift' ? { server: workload.endpoints.target.server } : {}),
    });
    // The source's endpoint is the one serving today: adopted as it is where the spec names it,
    // otherwise started from the source's model by the local deployer.
    const sourceEndpoint = adopted
      ? { url: adopted.url }
      : await run.untilRollback(() => run.source.deployEndpoint.executeWithOptions({ summary: `the source endpoint (${spec.source.cloud}) started from the source's model` }, [endpoint('source')]));
    run.saga.push({ phase: 'standUpTarget', what: 'stop the target endpoint', undo: () => run.target.stopEndpoint({ migration, side: 'target' }) });
    run.record('standUpTarget').detail = `deploying the target endpoint (source endpoint ${sourceEndpoint.url}${adopted ? ', adopted' : ''})`;
    const targetEndpoint = await run.untilRollback(() => run.target.deployEndpoint.executeWithOptions({ summary: `the target endpoint (${spec.target.cloud}) serving the model from target storage` }, [endpoint('target')]));
    status.endpoints = { source: sourceEndpoint.url, target: targetEndpoint.url };
    if (targetEndpoint.server || targetEndpoint.repository) {
      status.targetServer = { server: targetEndpoint.server ?? 'cloudshift', ...(targetEndpoint.repository ? { repository: targetEndpoint.repository } : {}), ...(targetEndpoint.metricsAddress ? { metricsAddress: targetEndpoint.metricsAddress } : {}) };
    }
    if (targetEndpoint.notHonoured) status.endpointsNotHonoured = targetEndpoint.notHonoured;
    if (v2) await checkServedModels(run, workload, { source: { url: sourceEndpoint.url, model: served.name, ...(served.version ? { version: served.version } : {}), ...(adopted?.outputs ? { outputs: adopted.outputs } : {}) }, target: { url: targetEndpoint.url, model: served.name, ...(served.version ? { version: served.version } : {}) } }, Boolean(adopted));
  }
  run.leave(
    'standUpTarget',
    'succeeded',
    workload ? `container ready; target endpoint ${status.endpoints!.target} serving the copied model` : 'container ready; no endpoint (no workload in the spec, or a dry run)',
  );
  return workload;
}

/**
 * Both servers' models read over the Open Inference Protocol and checked before any traffic
 * moves: each against its own ONNX model and the holdout (checkServedModel), then against each
 * other (one input, the same classes), so a canary never routes between two different interfaces.
 */
async function checkServedModels(run: MigrationRun, workload: Workload, endpoints: Record<'source' | 'target', CheckServedModelInput['endpoint']>, sourceAdopted: boolean): Promise<void> {
  const { spec, status } = run;
  const check = (side: 'source' | 'target') =>
    run[side].checkServedModel.executeWithOptions({ summary: `the ${side} server's model (${endpoints[side].url}, ${endpoints[side].model}) against the ONNX model and the holdout, over V2` }, [
      { side, endpoint: endpoints[side], location: spec[side], modelPath: side === 'target' ? targetModelPath(workload) : workload.model.path, features: workload.holdout.features.length, task: workload.holdout.task, ...(workload.holdout.inputs ? { featureNames: workload.holdout.features, inputs: workload.holdout.inputs } : {}) },
    ]);
  const source = await run.untilRollback(() => check('source'));
  const target = await run.untilRollback(() => check('target'));
  const differences = [
    inputNames(source) !== inputNames(target) ? `input names: the source takes "${inputNames(source)}", the target "${inputNames(target)}"` : undefined,
    // The class set, not its column order: a reordered model is the shadow gate's to judge.
    classSet(source.classes) !== classSet(target.classes) ? `classes: the source's model has [${source.classes?.join(', ') ?? 'none'}], the target's [${target.classes?.join(', ') ?? 'none'}]` : undefined,
  ].filter((d): d is string => d !== undefined);
  if (differences.length > 0) {
    throw ApplicationFailure.nonRetryable(`the source server ${source.url} and the target server ${target.url} serve ${source.model} differently, so traffic cannot move between them: ${differences.join('; ')}`, 'EndpointMismatch');
  }
  status.served = { source: { ...source, adopted: sourceAdopted }, target: { ...target, adopted: false } };
}

const inputNames = (served: { input: { name: string }; inputs?: { name: string }[] }) => (served.inputs ?? [served.input]).map((i) => i.name).sort().join(', ');
const classSet = (classes: readonly number[] | undefined) => (classes ? [...classes].sort((a, b) => a - b).join(',') : 'none');

/** The whole artifact (every file and its bundle) copied ahead of the data, then verified at the target. */
async function copyArtifact(run: MigrationRun, workload: Workload): Promise<void> {
  const { spec, migration } = run;
  const artifact = workload.artifact!;
  const objects = await run.untilRollback(() => run.source.listArtifactObjects.executeWithOptions({ summary: `the files of the artifact ${artifact.folder} at the source` }, [{ location: spec.source, artifact }]));
  for (let i = 0; i < objects.length; i += ARTIFACT_BATCH) {
    const batch = objects.slice(i, i + ARTIFACT_BATCH);
    await run.untilRollback(() => run.target.copyBatch({ migration, ...run.markInput, source: spec.source, target: spec.target, objects: batch, concurrency: Math.min(4, batch.length), partSizeMiB: spec.copy.partSizeMiB }));
  }
  await verifyTargetArtifact(run, workload, 'after its copy, before the target endpoint loads the model');
}

/**
 * The artifact verified as the target holds it. A signature or a file that is not what was signed
 * is a failed check: the migration rolls back, naming the file or the key.
 */
export async function verifyTargetArtifact(run: MigrationRun, workload: Workload, when: string): Promise<ArtifactCheck> {
  const { spec, status, migration } = run;
  const artifact = workload.artifact!;
  try {
    const check = await run.untilRollback(() =>
      run.target.verifyTargetArtifact.executeWithOptions({ summary: `the artifact ${artifact.folder} verified at the target ${when}` }, [{ migration, location: spec.target, artifact }]),
    );
    status.artifact = { ...status.artifact, target: check };
    return check;
  } catch (error) {
    const cause = error instanceof ActivityFailure ? error.cause : undefined;
    if (cause instanceof ApplicationFailure && ARTIFACT_FAILURES.includes(cause.type ?? '')) {
      throw new RollbackRequested(`the artifact failed verification at the target ${when} (${cause.type}): ${failureMessage(cause)}`, 'failedCheck');
    }
    throw error;
  }
}

/** The rollback clean-up: what this migration wrote under the target prefix, page by page. */
async function deleteMigratedTargetData(run: MigrationRun): Promise<void> {
  const { spec, migration } = run;
  let cursor: string | undefined;
  do {
    const page = await run.target.deleteMigratedTargetPage({ migration, ...run.markInput, source: spec.source, target: spec.target, cursor, pageSize: CLEAN_UP_PAGE, concurrency: spec.copy.concurrency });
    cursor = page.cursor;
  } while (cursor);
}
