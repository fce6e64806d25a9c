import {
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { formatSpecIssues, type MigrationSpec, parseSpec } from '../spec.js';
import {
  approveSignal,
  CONTROL_TASK_QUEUE,
  CLOUD_RETRY,
  phaseSearchAttribute,
  rollbackSignal,
  sourceSearchAttribute,
  statusQuery,
  targetSearchAttribute,
  taskQueueFor,
} from './definitions.js';
import { copyDataWorkflow } from './copy-data.js';
import { Gatekeeper } from './gates.js';
import { type MigrationStatus, type Phase, PHASES, type PhaseRecord } from './status.js';

export interface MigrationResult {
  name: string;
  outcome: 'completed' | 'rolledBack';
  status: MigrationStatus;
}


function cloudActivities(spec: MigrationSpec, side: 'source' | 'target') {
  return proxyActivities<Activities>({
    taskQueue: taskQueueFor(spec[side].cloud),
    startToCloseTimeout: '2h',
    // Long listings heartbeat every page; a silent worker is presumed dead after this.
    heartbeatTimeout: '2m',
    retry: CLOUD_RETRY,
  });
}

const control = proxyActivities<Activities>({
  taskQueue: CONTROL_TASK_QUEUE,
  startToCloseTimeout: '1m',
  retry: CLOUD_RETRY,
});

/** Raised inside the workflow to end it as rolled back rather than failed. */
class RollbackRequested {
  constructor(readonly reason: string) {}
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
    decisions: [],
  };
  const gates = new Gatekeeper(() => status.phase);
  status.decisions = gates.decisions;
  setHandler(statusQuery, () => ({ ...status, pendingGate: gates.pending }));
  setHandler(approveSignal, (signal) => gates.onApprove(signal));
  setHandler(rollbackSignal, (signal) => gates.onRollback(signal));
  upsertSearchAttributes([
    { key: sourceSearchAttribute, value: spec.source.cloud },
    { key: targetSearchAttribute, value: spec.target.cloud },
  ]);

  const details = (text: string) => setCurrentDetails(`**${spec.name}**: ${spec.source.cloud} → ${spec.target.cloud}, ${text}`);
  const record = (phase: Phase) => status.phases.find((p) => p.phase === phase)!;
  const enter = (phase: Phase, detail: string) => {
    status.phase = phase;
    Object.assign(record(phase), { state: 'running', startedAt: new Date().toISOString(), detail });
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: phase }]);
    details(`phase *${phase}*: ${detail}`);
  };
  const leave = (phase: Phase, state: PhaseRecord['state'], detail?: string) => {
    Object.assign(record(phase), { state, endedAt: new Date().toISOString(), ...(detail ? { detail } : {}) });
  };
  const gate = async (phase: Phase, waitingFor: string, evidence: string | undefined) => {
    details(`waiting: ${waitingFor}`);
    const outcome = await gates.wait(phase, waitingFor, evidence, spec.approval);
    if (outcome === 'timedOut') throw new RollbackRequested(`no approval of ${phase} within ${spec.approval.timeoutSeconds}s`);
    if (outcome === 'rollback') throw new RollbackRequested(`rollback by ${gates.rollbackRequested!.by}: ${gates.rollbackRequested!.reason}`);
  };

  /** Runs a step, abandoning (and cancelling) it if an operator asks for a rollback meanwhile. */
  const untilRollback = async <T>(step: () => Promise<T>): Promise<T> => {
    const scope = new CancellationScope();
    const running = scope.run(step);
    const rollback = condition(() => gates.rollbackRequested !== undefined).then(() => undefined);
    const first = await Promise.race([running.then((value) => ({ value })), rollback]);
    if (first) return first.value;
    scope.cancel();
    await running.catch(() => undefined);
    throw new RollbackRequested(`rollback by ${gates.rollbackRequested!.by}: ${gates.rollbackRequested!.reason}`);
  };

  try {
    enter('validate', 'spec parsed');
    leave('validate', 'succeeded');

    enter('audit', `inventory of ${spec.source.cloud}:${spec.source.bucket}/${spec.source.prefix}`);
    const source = cloudActivities(spec, 'source');
    const inventory = await source.inventorySource({ location: spec.source });
    status.inventory = inventory;
    const measured = spec.audit.throughputMiBps
      ? undefined
      : await source.measureSourceThroughput({
          location: spec.source,
          objects: inventory.largest,
          sampleMiB: spec.audit.sampleMiB,
          streams: spec.copy.concurrency,
        });
    const report = await control.auditReport({
      source: spec.source.cloud,
      target: spec.target.cloud,
      dependencies: spec.deployment.dependencies,
      inventory,
      concurrency: spec.copy.concurrency,
      configuredMiBps: spec.audit.throughputMiBps,
      measured,
    });
    status.audit = report;
    if (report.blocking.length > 0) {
      const summary = `${report.blocking.length} blocking audit finding(s): ${report.blocking.join(' | ')}`;
      if (spec.approval.onBlockingFindings === 'fail') {
        leave('audit', 'failed', summary);
        throw ApplicationFailure.nonRetryable(`${summary}. The spec says to fail on blocking findings (approval.onBlockingFindings).`, 'BlockingAuditFindings', { blocking: report.blocking });
      }
      record('audit').detail = summary;
      await gate('audit', `an approve (phase audit) acknowledging ${summary}`, 'the audit report in status.audit');
    }
    leave('audit', 'succeeded', `${inventory.objects} objects, ${inventory.bytes} bytes; ${report.counts.blocking} blocking, ${report.counts.manual} manual`);

    enter('standUpTarget', `${spec.target.cloud}:${spec.target.bucket}`);
    await untilRollback(() => cloudActivities(spec, 'target').ensureTargetContainer({ target: spec.target }));
    // The container is left in place on rollback: it may hold other data, and removing it
    // would lose nothing a rollback needs back.
    leave('standUpTarget', 'succeeded', 'target container ready (the inference endpoint comes with the canary work)');

    enter('copyData', `${inventory.objects} objects, ${inventory.bytes} bytes`);
    const copyId = `${workflowInfo().workflowId}/copy/1`;
    status.copy = { workflowId: copyId };
    const copied = await untilRollback(() =>
      executeChild(copyDataWorkflow, {
        workflowId: copyId,
        args: [
          {
            migration: spec.name,
            source: spec.source,
            target: spec.target,
            copy: spec.copy,
            mode: 'initial',
            expected: { objects: inventory.objects, bytes: inventory.bytes },
            estimatedMiBps: report.copyTime.mibPerSecond || undefined,
          },
        ],
      }),
    );
    status.copy = { workflowId: copyId, ...copied };
    if (copied.plan) {
      leave('copyData', 'succeeded', `dry run: ${copied.plan.objects} objects, ${copied.plan.bytes} bytes would be copied`);
      status.state = 'completed';
      details('dry run done; nothing was copied');
      return { name: spec.name, outcome: 'completed', status };
    }
    const p = copied.progress;
    leave(
      'copyData',
      'succeeded',
      `${p.copiedObjects} copied, ${p.skippedObjects} already there, ${p.verifiedObjects} verified; manifest ${copied.manifestPrefix}` +
        (p.vanishedCount ? `; ${p.vanishedCount} vanished from the source during the copy` : ''),
    );

    status.state = 'completed';
    details(`copied and verified ${p.verifiedObjects} objects; shadow, canary and teardown are not built yet`);
    return { name: spec.name, outcome: 'completed', status };
  } catch (error) {
    if (error instanceof RollbackRequested) {
      // Nothing has been created on the target yet at these phases: there is nothing to undo.
      leave(status.phase, 'compensated', error.reason);
      status.state = 'rolledBack';
      status.reason = error.reason;
      upsertSearchAttributes([{ key: phaseSearchAttribute, value: 'rolledBack' }]);
      details(`rolled back: ${error.reason}`);
      return { name: spec.name, outcome: 'rolledBack', status };
    }
    status.state = 'failed';
    throw error;
  }
}
