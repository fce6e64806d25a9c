/**
 * One migration of one ML workload: the spec parsed, the handlers set, the phases in order, and
 * the rollback path. Each phase is a function of the run in phases/; the run (run.ts) holds the
 * status, gates, saga and activity proxies they share.
 */
import { ApplicationFailure, CancellationScope, patched, setDefaultSignalHandler, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { formatSpecIssues, parseSpec } from '../spec.js';
import {
  approveSignal,
  approveUpdate,
  copyProgressSignal,
  MIGRATION_ROLLED_BACK,
  phaseSearchAttribute,
  rollbackSignal,
  rollbackUpdate,
  sourceSearchAttribute,
  recordQuery,
  statusQuery,
  targetSearchAttribute,
} from './definitions.js';
import { Gatekeeper } from './gates.js';
import { overviewOf } from './overview.js';
import { audit } from './phases/audit.js';
import { canary } from './phases/canary.js';
import { copyData } from './phases/copy-data.js';
import { shadow } from './phases/shadow.js';
import { standUpTarget } from './phases/stand-up-target.js';
import { teardown } from './phases/teardown.js';
import { MigrationRun, RollbackRequested } from './run.js';
import { failureMessage } from './saga.js';
import { type CopyStatus, type MigrationStatus, PHASES, type PhaseRecord } from './status.js';

export { AWAITING_APPROVAL } from './definitions.js';

export interface MigrationResult {
  name: string;
  outcome: 'completed' | 'rolledBack';
  status: MigrationStatus;
}

/** Marks runs whose cancelled activities are awaited before compensations (see run.ts). */
export const WAIT_FOR_CANCELLATION_PATCH = 'rollback-waits-for-cancellation';
/** Marks runs whose dry run undoes nothing (it wrote nothing); before it, a dry run ran the compensations. */
export const DRY_RUN_UNDOES_NOTHING_PATCH = 'dry-run-undoes-nothing';
/** Marks runs that record a failure after the point of no return on the teardown phase and in CloudshiftPhase. */
export const FAILURE_AFTER_NO_RETURN_PATCH = 'failure-after-no-return-recorded';
/**
 * Marks runs that end a rollback as a failed execution (MigrationRolledBack, the result in its
 * details), so the Web UI's list tells it from a completed migration; before it, both completed.
 */
export const ROLLBACK_ENDS_FAILED_PATCH = 'rollback-ends-failed';
/** Marks runs that write the migration report at their end. */
export const MIGRATION_REPORT_PATCH = 'migration-report-written';
/** Marks runs that mark their writes and claim their folder by their own run id, not the name (run.ts). */
export const RUN_MARK_PATCH = 'writes-marked-by-run';
/** Marks runs that roll themselves back when signals have grown their history near Temporal's limit. */
export const HISTORY_GUARD_PATCH = 'history-guarded-from-signals';
/** Temporal terminates a workflow at 50 MiB of history (its default limit); this leaves room for the clean-up. */
export const HISTORY_GUARD_BYTES = 40 * 1024 * 1024;
/** Marks runs whose approve reply waits for what the gate did with it (a rollback may overtake it). */
export const DECISION_REPLY_PATCH = 'decision-reply-after-gate';
/** Marks runs that release their canary's data plane (and its ports) when they end. */
export const DATA_PLANE_RELEASE_PATCH = 'data-plane-released-at-end';

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
  const migration = spec.name;
  const { workflowId } = workflowInfo();
  if (workflowId !== migration) {
    // Folders, gateways and records are keyed by the name; the UI lets a user type both.
    throw ApplicationFailure.nonRetryable(
      `Invalid migration spec: the workflow id "${workflowId}" is not the spec's name "${migration}". Start it with the name as its workflow id (the CLI and the client do).`,
      'InvalidMigrationSpec',
    );
  }
  const status: MigrationStatus = {
    name: migration,
    source: { cloud: spec.source.cloud, bucket: spec.source.bucket, prefix: spec.source.prefix },
    target: { cloud: spec.target.cloud, bucket: spec.target.bucket, prefix: spec.target.prefix, profile: spec.target.profile },
    phase: 'validate',
    state: 'running',
    phases: PHASES.map((phase): PhaseRecord => ({ phase, state: 'pending' })),
    decisions: [],
  };
  const gates = new Gatekeeper(() => status.phase);
  status.decisions = gates.decisions;
  const record = (): MigrationStatus => ({ ...status, pendingGate: gates.pending, ...(gates.droppedDecisions ? { decisionsDropped: gates.droppedDecisions } : {}) });
  setHandler(recordQuery, record, { description: 'The whole record: phases, inventory, audit, copy, shadow, canary, decisions' });
  setHandler(statusQuery, () => overviewOf(record(), workflowInfo().namespace), { description: 'What it is doing, what it waits for and how to answer, the last verdict or analysis' });
  // Signals stay in history whatever their size: a flood of large ones would get the migration
  // terminated by Temporal (at 50 MiB by default), with no clean-up and no report. Before that,
  // while a rollback is still possible, the migration rolls itself back.
  const guardHistory = () => {
    if (!patched(HISTORY_GUARD_PATCH) || workflowInfo().historySize < HISTORY_GUARD_BYTES || gates.pointOfNoReturn || gates.rollbackRequested) return;
    gates.onRollback({ by: 'cloudshift', reason: `the workflow's history reached ${Math.round(workflowInfo().historySize / 1024 / 1024)} MiB (signals with large payloads); Temporal terminates a workflow past its limit, so it rolls back while it still can clean up` });
  };
  setHandler(approveSignal, (signal) => {
    gates.onApprove(signal);
    guardHistory();
  });
  setHandler(rollbackSignal, (signal) => {
    gates.onRollback(signal);
    guardHistory();
  });
  const rejectIf = (refusal: string | undefined) => {
    if (refusal) throw ApplicationFailure.create({ type: 'DecisionRejected', message: refusal.replace(/^(ignored|refused): /, ''), nonRetryable: true });
  };
  setHandler(
    approveUpdate,
    async (input) => {
      const decision = gates.onApprove(input);
      // The reply is what the gate then did: an approve a rollback overtook is told so.
      if (patched(DECISION_REPLY_PATCH) && (await gates.outcomeOf(decision)) !== 'approved') {
        throw ApplicationFailure.create({ type: 'DecisionRejected', message: decision.note ?? 'overtaken by a rollback; the migration rolls back', nonRetryable: true });
      }
      return { action: 'approve', phase: decision.phase ?? '', message: `approved ${decision.phase}: the migration goes on from its ${decision.phase} gate` };
    },
    { validator: (input) => rejectIf(gates.approveRefusal(input)) },
  );
  setHandler(
    rollbackUpdate,
    (input) => {
      const decision = gates.onRollback(input);
      return { action: 'rollback', phase: decision.phase ?? '', message: `rolling back from ${decision.phase}: the compensations run, then the migration ends rolled back` };
    },
    { validator: (input) => rejectIf(gates.rollbackRefusal(input)) },
  );
  // The copy child's progress comes by a signal of its own, received by the default handler: the
  // workflow's metadata lists only named handlers, so the Web UI never offers it to an operator.
  // Only the running child's report is taken, whoever sends it.
  setDefaultSignalHandler((name, ...args) => {
    if (name !== copyProgressSignal.name) return;
    const report = args[0] as { workflowId?: unknown; status?: unknown } | undefined;
    if (!report || typeof report.workflowId !== 'string' || typeof report.status !== 'object' || report.status === null) return;
    const child = report.workflowId;
    const live = report.status as CopyStatus;
    if (status.copy?.workflowId === child && status.copy.progress === undefined) status.copy.live = live;
    else if (status.teardown?.catchUp?.workflowId === child && status.teardown.catchUp.progress === undefined) status.teardown.catchUp.live = live;
  });
  upsertSearchAttributes([
    { key: sourceSearchAttribute, value: spec.source.cloud },
    { key: targetSearchAttribute, value: spec.target.cloud },
  ]);

  const run = new MigrationRun(spec, status, gates, patched(WAIT_FOR_CANCELLATION_PATCH), patched(RUN_MARK_PATCH));
  try {
    run.enter('validate', 'spec parsed');
    run.leave('validate', 'succeeded');
    const { inventory, report } = await audit(run);
    const workload = await standUpTarget(run);
    const { dryRun } = await copyData(run, inventory, report);
    if (dryRun) {
      // A dry run wrote nothing, so it has nothing to undo (the clean-up would delete earlier copies).
      if (!patched(DRY_RUN_UNDOES_NOTHING_PATCH)) await run.compensate();
      status.state = 'completed';
      run.details('dry run done; nothing was copied');
      return { name: migration, outcome: 'completed', status };
    }
    if (workload) await shadow(run, workload);
    else run.leave('shadow', 'skipped', 'no workload in the spec: no model to compare');
    if (workload) await canary(run);
    else run.leave('canary', 'skipped', 'no workload in the spec: no traffic to move');
    await teardown(run, workload);

    status.state = 'completed';
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: 'completed' }]);
    await endRun(run);
    run.details(`migration completed${status.report ? `; report ${status.report.html}` : ''}`);
    return { name: migration, outcome: 'completed', status };
  } catch (error) {
    const rolledBack = error instanceof RollbackRequested;
    const reason = rolledBack ? error.reason : failureMessage(error);
    if (gates.pointOfNoReturn) {
      // Past the point of no return there is nothing to undo: say so where an operator looks.
      if (patched(FAILURE_AFTER_NO_RETURN_PATCH)) {
        run.leave(status.phase, 'failed', reason);
        upsertSearchAttributes([{ key: phaseSearchAttribute, value: 'failed' }]);
        run.details(`failed after the point of no return: ${reason}`);
      }
      status.state = 'failed';
      status.reason = reason;
      await endRun(run);
      throw error;
    }
    run.leave(status.phase, rolledBack && !error.failedCheck ? 'compensated' : 'failed', reason);
    await run.compensate();
    // The clean-up removed everything this migration wrote to the target; a report there would undo that.
    const targetCleanedUp = spec.teardown.deleteTargetDataOnRollback;
    status.reason = reason;
    if (!rolledBack) {
      // A failure before the point of no return still leaves traffic on the source.
      status.state = 'failed';
      upsertSearchAttributes([{ key: phaseSearchAttribute, value: 'failed' }]);
      await endRun(run, targetCleanedUp);
      throw error;
    }
    status.state = 'rolledBack';
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: 'rolledBack' }]);
    await endRun(run, targetCleanedUp);
    run.details(`rolled back: ${reason}${status.report ? `; report ${status.report.html}` : ''}`);
    const result: MigrationResult = { name: migration, outcome: 'rolledBack', status };
    if (patched(ROLLBACK_ENDS_FAILED_PATCH)) {
      throw ApplicationFailure.create({
        type: MIGRATION_ROLLED_BACK,
        message: `rolled back, traffic and data on the source as before: ${reason}`,
        nonRetryable: true,
        details: [result],
      });
    }
    return result;
  } finally {
    run.gauges.end(status.state);
  }
}

/** What every ending does, whatever the outcome: the data plane released, then the report. */
async function endRun(run: MigrationRun, targetCleanedUp = false): Promise<void> {
  await releaseDataPlane(run);
  await writeReport(run, targetCleanedUp);
}

/**
 * Writes the migration report to the target once the outcome is known. Never changes the outcome:
 * a report that cannot be written is said in the record, and the migration ends as it would have.
 */
async function writeReport(run: MigrationRun, targetCleanedUp = false): Promise<void> {
  if (!patched(MIGRATION_REPORT_PATCH)) return;
  if (targetCleanedUp) {
    run.status.reportSkipped = 'not written to the target: teardown.deleteTargetDataOnRollback removed everything this migration wrote there; `cloudshift report` builds it from the final record';
    return;
  }
  try {
    // Not cancellable: a cancelled migration still leaves its report.
    run.status.report = await CancellationScope.nonCancellable(() => run.reporting.writeMigrationReport({ target: run.spec.target, source: run.spec.source, ...run.markInput, status: run.status }));
  } catch (error) {
    run.status.reportError = failureMessage(error);
  }
}

/**
 * The canary's router lets go of what it ran for this migration once the migration has ended
 * (HAProxy stops and its ports return to the range; DNS records stay as the last change left
 * them). Never changes the outcome: a release that fails is said in the record.
 */
async function releaseDataPlane(run: MigrationRun): Promise<void> {
  const canary = run.status.canary;
  if (!canary || !patched(DATA_PLANE_RELEASE_PATCH)) return;
  try {
    const final = await CancellationScope.nonCancellable(() =>
      run.reporting.releaseRouter.executeWithOptions({ summary: `the ${canary.router} data plane released: the migration has ended` }, [{ migration: run.migration, router: run.spec.canary.router }]),
    );
    if (typeof final?.targetPercent === 'number') canary.finalTargetPercent = final.targetPercent;
    canary.released = canary.router === 'haproxy' ? `released when the migration ended: the traffic URL no longer answers; the ${canary.targetPercent === 100 ? 'target' : 'source'} endpoint serves at ${run.status.endpoints?.[canary.targetPercent === 100 ? 'target' : 'source'] ?? 'its own URL'}` : 'released when the migration ended: the records stay as the last change left them';
  } catch (error) {
    canary.released = `not released: ${failureMessage(error)}`;
  }
}
