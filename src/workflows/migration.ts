import { ApplicationFailure, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import { formatSpecIssues, type MigrationSpec, parseSpec } from '../spec.js';
import {
  NON_RETRYABLE_ERROR_TYPES,
  phaseSearchAttribute,
  sourceSearchAttribute,
  statusQuery,
  targetSearchAttribute,
  taskQueueFor,
} from './definitions.js';
import { type MigrationStatus, type Phase, PHASES, type PhaseRecord } from './status.js';

export interface MigrationResult {
  name: string;
  outcome: 'completed' | 'rolledBack';
  status: MigrationStatus;
}

/** Cloud calls retry with backoff for about ten minutes, then fail the phase. */
const CLOUD_RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  maximumAttempts: 15,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

function cloudActivities(spec: MigrationSpec, side: 'source' | 'target') {
  return proxyActivities<Activities>({
    taskQueue: taskQueueFor(spec[side].cloud),
    startToCloseTimeout: '2h',
    // Long listings heartbeat every page; a silent worker is presumed dead after this.
    heartbeatTimeout: '2m',
    retry: CLOUD_RETRY,
  });
}

/**
 * One migration of one ML workload. Takes a single JSON argument (what the Temporal UI's start
 * form passes): the spec, validated here so a bad one fails the execution at once.
 */
export async function migrationWorkflow(input: unknown): Promise<MigrationResult> {
  const parsed = parseSpec(input);
  if (!parsed.ok) {
    // Non-retryable: a workflow task failing with a plain Error would be retried forever.
    throw ApplicationFailure.nonRetryable(formatSpecIssues(parsed.issues), 'InvalidMigrationSpec', { issues: parsed.issues });
  }
  const spec = parsed.spec;
  const status: MigrationStatus = {
    name: spec.name,
    source: { cloud: spec.source.cloud, bucket: spec.source.bucket, prefix: spec.source.prefix },
    target: { cloud: spec.target.cloud, bucket: spec.target.bucket, prefix: spec.target.prefix },
    phase: 'validate',
    state: 'running',
    phases: PHASES.map((phase): PhaseRecord => ({ phase, state: 'pending' })),
  };
  setHandler(statusQuery, () => status);
  upsertSearchAttributes([
    { key: sourceSearchAttribute, value: spec.source.cloud },
    { key: targetSearchAttribute, value: spec.target.cloud },
  ]);

  const enter = (phase: Phase, detail: string) => {
    status.phase = phase;
    const record = status.phases.find((p) => p.phase === phase)!;
    record.state = 'running';
    record.startedAt = new Date().toISOString();
    record.detail = detail;
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: phase }]);
    setCurrentDetails(`**${spec.name}**: ${spec.source.cloud} → ${spec.target.cloud}, phase *${phase}*: ${detail}`);
  };
  const leave = (phase: Phase, state: PhaseRecord['state'], detail?: string) => {
    const record = status.phases.find((p) => p.phase === phase)!;
    record.state = state;
    record.endedAt = new Date().toISOString();
    if (detail) record.detail = detail;
  };

  enter('validate', 'spec parsed');
  leave('validate', 'succeeded');

  enter('audit', `inventory of ${spec.source.cloud}:${spec.source.bucket}/${spec.source.prefix}`);
  status.inventory = await cloudActivities(spec, 'source').inventorySource({ location: spec.source });
  leave('audit', 'succeeded', `${status.inventory.objects} objects, ${status.inventory.bytes} bytes`);

  status.state = 'completed';
  setCurrentDetails(`**${spec.name}**: audit done; ${status.inventory.objects} objects, ${status.inventory.bytes} bytes`);
  return { name: spec.name, outcome: 'completed', status };
}
