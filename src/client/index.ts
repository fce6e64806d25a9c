/**
 * The programmatic way in, for services that start and drive migrations. Validates specs before
 * they reach Temporal, so a caller gets field-level errors at once rather than a failed run.
 */
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { formatSpecIssues, type MigrationSpec, type MigrationSpecInput, parseSpec, type SpecIssue } from '../spec.js';
import {
  type ApproveSignal,
  approveSignal,
  CONTROL_TASK_QUEUE,
  MIGRATION_WORKFLOW_TYPE,
  type RollbackSignal,
  rollbackSignal,
  statusQuery,
} from '../workflows/definitions.js';
import type { MigrationResult } from '../workflows/migration.js';
import type { MigrationStatus } from '../workflows/status.js';

export type { MigrationSpec, MigrationSpecInput, MigrationResult, MigrationStatus, ApproveSignal, RollbackSignal, SpecIssue };

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
}

export interface StartedMigration {
  workflowId: string;
  /** The run this call started, or the one already running under the same id. */
  runId: string;
}

export class MigrationClient {
  constructor(private readonly client: Client) {}

  static async connect(address = '127.0.0.1:7233', namespace = 'default'): Promise<MigrationClient> {
    return new MigrationClient(new Client({ connection: await Connection.connect({ address }), namespace }));
  }

  async close(): Promise<void> {
    await this.client.connection.close();
  }

  /** Starts a migration, or returns the one already running under the same id. */
  async startMigration(spec: MigrationSpecInput, options: StartMigrationOptions = {}): Promise<StartedMigration> {
    const parsed = parseSpec(spec);
    if (!parsed.ok) throw new InvalidMigrationSpecError(parsed.issues);
    const workflowId = options.workflowId ?? parsed.spec.name;
    const handle = await this.client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      taskQueue: options.taskQueue ?? CONTROL_TASK_QUEUE,
      workflowId,
      // The workflow gets the spec as written; it parses (and defaults) it again itself.
      args: [spec],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `${parsed.spec.source.cloud} → ${parsed.spec.target.cloud}: ${parsed.spec.name}`,
    });
    return { workflowId, runId: handle.firstExecutionRunId };
  }

  handle(workflowId: string): WorkflowHandle {
    return this.client.workflow.getHandle(workflowId);
  }

  async getStatus(workflowId: string): Promise<MigrationStatus> {
    return this.handle(workflowId).query(statusQuery);
  }

  async waitForResult(workflowId: string): Promise<MigrationResult> {
    return (await this.handle(workflowId).result()) as MigrationResult;
  }

  async approve(workflowId: string, approval: ApproveSignal): Promise<void> {
    await this.handle(workflowId).signal(approveSignal, approval);
  }

  async rollback(workflowId: string, request: RollbackSignal): Promise<void> {
    await this.handle(workflowId).signal(rollbackSignal, request);
  }
}
