/**
 * Names shared by workflows, workers and clients: task queues, signals, queries, search
 * attributes. Deterministic and free of I/O, so the client imports it without pulling in
 * activities.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, type RetryPolicy, SearchAttributeType } from '@temporalio/common';
import { NON_RETRYABLE_TYPES } from '../error-types.js';
import type { Cloud } from '../spec.js';
import type { CopyStatus, MigrationStatus } from './status.js';
import type { MigrationOverview } from './overview.js';

export const CONTROL_TASK_QUEUE = 'cloudshift';

export const CLOUD_TASK_QUEUES = {
  aws: 'cloudshift-aws',
  gcp: 'cloudshift-gcp',
  azure: 'cloudshift-azure',
  onprem: 'cloudshift-onprem',
} as const satisfies Record<Cloud, string>;

export function taskQueueFor(cloud: Cloud): string {
  return CLOUD_TASK_QUEUES[cloud];
}

export const MIGRATION_WORKFLOW_TYPE = 'migrationWorkflow';
/**
 * The failure type a rolled-back migration ends its execution with (so the Web UI lists it as
 * failed, not completed); its first detail is the MigrationResult, outcome 'rolledBack'.
 */
export const MIGRATION_ROLLED_BACK = 'MigrationRolledBack';

export interface ApproveSignal {
  by: string;
  phase?: string;
  comment?: string;
}
export interface RollbackSignal {
  by: string;
  reason: string;
}

export const approveSignal = defineSignal<[ApproveSignal]>('approve');
export const rollbackSignal = defineSignal<[RollbackSignal]>('rollback');

/** What an accepted `approve` or `rollback` update answers. */
export interface DecisionReply {
  action: 'approve' | 'rollback';
  /** The gate approved, or the phase the rollback stops. */
  phase: string;
  message: string;
}

/**
 * The same decisions as updates, under the same names: a validator rejects at once, with the
 * reason, an approve for a phase not waiting, a rollback after teardown began, or a malformed
 * payload (type DecisionRejected); an accepted one answers with what it did. The signals stay for
 * whoever sends them (they are recorded, applied or not).
 */
export const approveUpdate = defineUpdate<DecisionReply, [ApproveSignal]>('approve');
export const rollbackUpdate = defineUpdate<DecisionReply, [RollbackSignal]>('rollback');
/** What an operator needs first (workflows/overview.ts): small enough for the Web UI's query panel. */
export const statusQuery = defineQuery<MigrationOverview>('status');
/** The whole record: phases, inventory, audit, copy, shadow, canary, decisions. */
export const recordQuery = defineQuery<MigrationStatus>('record');

/** The copy child's own `status` query. */
export const copyStatusQuery = defineQuery<CopyStatus>('status');
/**
 * A copy's progress, sent to the migration that started it, so its own `status`
 * shows it. Internal: only workflows send it.
 */
export const copyProgressSignal = defineSignal<[{ workflowId: string; status: CopyStatus }]>('copyProgress');


/** `CloudshiftPhase` while a gate waits, so the UI lists every migration waiting for someone. */
export const AWAITING_APPROVAL = 'awaitingApproval';

export const phaseSearchAttribute = defineSearchAttributeKey('CloudshiftPhase', SearchAttributeType.KEYWORD);
export const sourceSearchAttribute = defineSearchAttributeKey('CloudshiftSource', SearchAttributeType.KEYWORD);
export const targetSearchAttribute = defineSearchAttributeKey('CloudshiftTarget', SearchAttributeType.KEYWORD);

/** Registered with the dev server at start (see src/dev/local-stack.ts) and in docker-compose.yml. */
export const SEARCH_ATTRIBUTE_NAMES = [
  phaseSearchAttribute.name,
  sourceSearchAttribute.name,
  targetSearchAttribute.name,
] as const;

/** Error types that retrying cannot fix (src/error-types.ts); every retry policy of ours lists them. */
export const NON_RETRYABLE_ERROR_TYPES = NON_RETRYABLE_TYPES;

/** Cloud calls retry with backoff for about ten minutes, then fail the step. */
export const CLOUD_RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  maximumAttempts: 15,
  nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
};

/**
 * Bounds on what an operator's message may add to workflow state. A signal's payload is in
 * history whatever its size, but what the workflow keeps is queried and returned: a 1 MB reason
 * kept whole made the status query and the workflow's result exceed Temporal's payload limit.
 * The client refuses a signal larger than these allow before it sends it.
 */
export const SIGNAL_LIMITS = { by: 200, phase: 32, comment: 2000, reason: 2000 } as const;
