/**
 * The programmatic way in, for services that start and drive migrations. Validates specs before
 * they reach Temporal, so a caller gets field-level errors at once rather than a failed run.
 */
import { ApplicationFailure, Client, Connection, WorkflowFailedError, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { formatSpecIssues, type MigrationSpec, type MigrationSpecInput, parseSpec, type SpecIssue } from '../spec.js';
import {
  type ApproveSignal,
  approveSignal,
  approveUpdate,
  type DecisionReply,
  CONTROL_TASK_QUEUE,
  copyStatusQuery,
  MIGRATION_ROLLED_BACK,
  MIGRATION_WORKFLOW_TYPE,
  phaseSearchAttribute,
  type RollbackSignal,
  rollbackSignal,
  rollbackUpdate,
  sourceSearchAttribute,
  recordQuery,
  SIGNAL_LIMITS,
  targetSearchAttribute,
} from '../workflows/definitions.js';
import type { MigrationResult } from '../workflows/migration.js';
import type { CopyStatus, MigrationStatus } from '../workflows/status.js';
import { requireSearchAttributes } from './search-attributes.js';
export { MissingSearchAttributesError } from './search-attributes.js';

export type { MigrationSpec, MigrationSpecInput, MigrationResult, MigrationStatus, ApproveSignal, RollbackSignal, SpecIssue };

/** An approve or rollback the migration refused, with its reason. */
export class DecisionRejectedError extends Error {
  override readonly name = 'DecisionRejected';
}

export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachable';
  constructor(
    readonly address: string,
    reason: string,
  ) {
    super(`Temporal did not answer at ${address} (${reason}); is it running? Locally: bash scripts/stack.sh start. Elsewhere: set TEMPORAL_ADDRESS`);
  }
}

/**
 * A start under a name that is taken: running now with another spec, or run before (a reused
 * name's clean-up once deleted the earlier run's copies). Says which, and what to do.
 */
export class MigrationNameTakenError extends Error {
  override readonly name = 'MigrationNameTaken';
}

export class InvalidMigrationSpecError extends Error {
  override readonly name = 'InvalidMigrationSpec';
  constructor(readonly issues: SpecIssue[]) {
    super(formatSpecIssues(issues));
  }
}

export interface StartMigrationOptions {
  /** @default the spec's name: one migration, one id, so a second start finds the first. */
  workflowId?: string;
  /** @default 'cloudshift' */
  taskQueue?: string;
  /**
   * Start a new run under a name whose earlier run has ended. The new run still refuses to write
   * into a target folder an earlier run claimed (see copy/run-claim.ts).
   * @default false
   */
  rerun?: boolean;
}

export interface MigrationSummary {
  workflowId: string;
  /** Temporal's view: RUNNING, COMPLETED, FAILED, … */
  execution: string;
  /** cloudshift's phase search attribute: a phase, awaitingApproval, completed, rolledBack, failed. */
  phase?: string;
  source?: string;
  target?: string;
  startTime: string;
}

/** What `followMigration` hands its callback on every poll. */
export interface Progress {
  status: MigrationStatus;
  /** The running copy's own progress, while a copy runs. */
  copy?: CopyStatus;
}

export interface StartedMigration {
  workflowId: string;
  /** The run this call started, or the one already running under the same id. */
  runId: string;
  /** True when a migration of that name was already running: this call started nothing. */
  attached: boolean;
}

export class MigrationClient {
  constructor(private readonly client: Client) {}

  /** Connects within a few seconds, or says which address did not answer. */
  static async connect(address = '127.0.0.1:7233', namespace = 'default', connectTimeoutMs = 5000): Promise<MigrationClient> {
    let connection: Connection;
    try {
      connection = await Connection.connect({ address, connectTimeout: connectTimeoutMs });
    } catch (error) {
      throw new TemporalUnreachableError(address, error instanceof Error ? error.message : String(error));
    }
    return new MigrationClient(new Client({ connection, namespace }));
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }

  /** Starts a migration, or returns the one already running under the same id. */
  async startMigration(spec: MigrationSpecInput, options: StartMigrationOptions = {}): Promise<StartedMigration> {
    const parsed = parseSpec(spec);
    if (!parsed.ok) throw new InvalidMigrationSpecError(parsed.issues);
    const workflowId = options.workflowId ?? parsed.spec.name;
    await requireSearchAttributes(this.client.connection, this.client.options.namespace);
    const existing = await this.client.workflow
      .getHandle(workflowId)
      .describe()
      .catch(() => undefined);
    const running = existing?.status.name === 'RUNNING';
    if (running) {
      const differs = specDifferences(parsed.spec, await this.startedSpec(workflowId, existing.runId));
      if (differs.length > 0) {
        throw new MigrationNameTakenError(
          `a migration named ${workflowId} is already running with another spec (${differs.join(', ')} differ); nothing was started or changed. Wait for it to end or roll it back, or give this spec a new name`,
        );
      }
    } else if (existing && !options.rerun) {
      throw new MigrationNameTakenError(
        `a migration named ${workflowId} ran before (run ${existing.runId}, ${existing.status.name.toLowerCase()}${existing.closeTime ? ` ${existing.closeTime.toISOString()}` : ''}); nothing was started. Give this spec a new name, or start again with --rerun (the new run refuses a target folder the earlier one claimed)`,
      );
    }
    const handle = await this.client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      taskQueue: options.taskQueue ?? CONTROL_TASK_QUEUE,
      workflowId,
      // The workflow gets the spec as written; it parses (and defaults) it again itself.
      args: [spec],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // A start between the check above and here must not slip through either.
      workflowIdReusePolicy: options.rerun ? 'ALLOW_DUPLICATE' : 'REJECT_DUPLICATE',
      staticSummary: `${parsed.spec.source.cloud} → ${parsed.spec.target.cloud}: ${parsed.spec.name}`,
      staticDetails: startDetails(parsed.spec),
    });
    return { workflowId, runId: handle.firstExecutionRunId, attached: running };
  }

  /** The spec a run was started with, parsed as the workflow parses it; undefined where it cannot be read. */
  private async startedSpec(workflowId: string, runId: string): Promise<MigrationSpec | undefined> {
    const history = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId, runId },
      maximumPageSize: 1,
    });
    const payload = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) return undefined;
    const parsed = parseSpec(this.client.options.loadedDataConverter.payloadConverter.fromPayload(payload));
    return parsed.ok ? parsed.spec : undefined;
  }

  handle(workflowId: string): WorkflowHandle {
    return this.client.workflow.getHandle(workflowId);
  }

  /**
   * A running migration answers its query; a completed or rolled-back one's result holds its final
   * status, with no worker needed.
   */
  async getStatus(workflowId: string): Promise<MigrationStatus> {
    const handle = this.handle(workflowId);
    const execution = (await handle.describe()).status.name;
    if (execution === 'COMPLETED') return (await migrationResult(handle)).status;
    if (execution === 'FAILED') {
      const ended = await migrationResult(handle).catch(() => undefined);
      if (ended) return ended.status;
    }
    return handle.query(recordQuery);
  }

  async waitForResult(workflowId: string): Promise<MigrationResult> {
    return migrationResult(this.handle(workflowId));
  }

  /** Migrations known to Temporal, newest first; `phase` filters on the phase search attribute. */
  async list(options: { phase?: string; limit?: number } = {}): Promise<MigrationSummary[]> {
    if (options.phase && !/^[A-Za-z]+$/.test(options.phase)) throw new Error(`expected a phase name (letters only), got "${options.phase}"`);
    const query = `WorkflowType = '${MIGRATION_WORKFLOW_TYPE}'${options.phase ? ` AND ${phaseSearchAttribute.name} = '${options.phase}'` : ''}`;
    const found: MigrationSummary[] = [];
    for await (const w of this.client.workflow.list({ query })) {
      found.push({
        workflowId: w.workflowId,
        execution: w.status.name,
        phase: w.typedSearchAttributes.get(phaseSearchAttribute),
        source: w.typedSearchAttributes.get(sourceSearchAttribute),
        target: w.typedSearchAttributes.get(targetSearchAttribute),
        startTime: w.startTime.toISOString(),
      });
      if (found.length >= (options.limit ?? 100)) break;
    }
    return found;
  }

  /**
   * Polls a migration's status (and its running copy's) until it ends, calling `onProgress` on
   * every poll; resolves with the result.
   */
  async followMigration(workflowId: string, onProgress: (progress: Progress) => void, intervalMs = 1000): Promise<MigrationResult> {
    const result = this.waitForResult(workflowId);
    let done = false;
    void result.finally(() => (done = true)).catch(() => undefined);
    while (!done) {
      try {
        const status = await this.getStatus(workflowId);
        const copyId = status.phase === 'copyData' ? status.copy?.workflowId : status.phase === 'teardown' ? status.teardown?.catchUp?.workflowId : undefined;
        const copy = copyId ? await this.handle(copyId).query(copyStatusQuery).catch(() => undefined) : undefined;
        onProgress({ status, copy });
      } catch {
        // Between runs or before the first workflow task a query can fail; the next poll retries.
      }
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, intervalMs))]);
    }
    return result;
  }

  /**
   * Approves the gate waiting, as an update: resolves with what the migration did, or rejects at
   * once with a DecisionRejected saying why (another phase is waiting, none is, a bad payload).
   */
  async approve(workflowId: string, approval: ApproveSignal): Promise<DecisionReply> {
    return this.decide(() => this.handle(workflowId).executeUpdate(approveUpdate, { args: [approval] }));
  }

  /** Rolls back, as an update: rejected at once once teardown has begun, or while a rollback runs. */
  async rollback(workflowId: string, request: RollbackSignal): Promise<DecisionReply> {
    return this.decide(() => this.handle(workflowId).executeUpdate(rollbackUpdate, { args: [request] }));
  }

  /**
   * The same decisions as signals, for callers that want no answer (each is recorded, applied or
   * not). A signal's payload stays in the workflow's history whatever the workflow keeps of it, so
   * one larger than its fields allow is refused here, before it is sent (updates need no such
   * check: a rejected update leaves nothing in history).
   */
  async signalApprove(workflowId: string, approval: ApproveSignal): Promise<void> {
    await this.handle(workflowId).signal(approveSignal, boundedSignal(approval));
  }

  async signalRollback(workflowId: string, request: RollbackSignal): Promise<void> {
    await this.handle(workflowId).signal(rollbackSignal, boundedSignal(request));
  }

  private async decide(send: () => Promise<DecisionReply>): Promise<DecisionReply> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw new DecisionRejectedError(error.cause?.message ?? error.message);
      throw error;
    }
  }
}

/**
 * A migration's result, completed or rolled back. A rollback ends the execution as failed (so the
 * Web UI tells it from a completion) with the result in the failure's details; this reads it back.
 * Any other failure is rethrown as the WorkflowFailedError it is.
 */
export async function migrationResult(handle: WorkflowHandle): Promise<MigrationResult> {
  try {
    return (await handle.result()) as MigrationResult;
  } catch (error) {
    const rolledBack = rolledBackResult(error);
    if (rolledBack) return rolledBack;
    throw error;
  }
}

/** The MigrationResult a rolled-back migration's failure carries, or undefined for any other error. */
export function rolledBackResult(error: unknown): MigrationResult | undefined {
  if (!(error instanceof WorkflowFailedError)) return undefined;
  const cause = error.cause;
  if (!(cause instanceof ApplicationFailure) || cause.type !== MIGRATION_ROLLED_BACK) return undefined;
  return cause.details?.[0] as MigrationResult | undefined;
}

/** What the Web UI shows under a migration started here: where from, where to, what moves, how. */
function startDetails(spec: MigrationSpec): string {
  const where = (l: MigrationSpec['source']) => `${l.cloud}:${l.bucket}/${l.prefix} (profile ${l.profile})`;
  return [
    `**source** ${where(spec.source)}`,
    `**target** ${where(spec.target)}`,
    spec.workload ? `**model** ${spec.workload.model.path}; shadow on ${spec.workload.holdout.path}` : '**data only** (no workload)',
    spec.workload ? `**canary** ${spec.canary.steps.join(' → ')} % through ${spec.canary.router.kind}` : '',
    `**gates** after shadow ${spec.approval.afterShadow}, between canary steps ${spec.approval.betweenCanarySteps}, before teardown ${spec.approval.beforeTeardown}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/** The top-level fields (and the source and target's own) in which two specs differ; unreadable counts as every field. */
export function specDifferences(a: MigrationSpec, b: MigrationSpec | undefined): string[] {
  if (!b) return ['(the running spec could not be read)'];
  const fields = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const field of [...fields].sort()) {
    const x = (a as Record<string, unknown>)[field];
    const y = (b as Record<string, unknown>)[field];
    if (JSON.stringify(x) === JSON.stringify(y)) continue;
    if ((field === 'source' || field === 'target') && x && y) {
      for (const sub of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (JSON.stringify((x as Record<string, unknown>)[sub]) !== JSON.stringify((y as Record<string, unknown>)[sub])) out.push(`${field}.${sub}`);
      }
    } else out.push(field);
  }
  return out;
}

/** A signal's payload at most what its fields allow, with room for the JSON around them. */
export const MAX_SIGNAL_BYTES = Object.values(SIGNAL_LIMITS).reduce((sum, n) => sum + n * 4, 0) + 256;

function boundedSignal<T extends object>(payload: T): T {
  const size = Buffer.byteLength(JSON.stringify(payload));
  if (size > MAX_SIGNAL_BYTES) {
    throw new DecisionRejectedError(`a decision of ${size} bytes is refused before it is sent (at most ${MAX_SIGNAL_BYTES}): a signal stays in the workflow's history whatever its size, and Temporal terminates a workflow whose history passes its limit`);
  }
  return payload;
}
