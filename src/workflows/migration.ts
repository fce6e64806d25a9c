import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ShadowInferenceInput } from '../activities/shadow.js';
import { formatSpecIssues, type MigrationSpec, parseSpec } from '../spec.js';
import { copyDataWorkflow, type CopyDataInput, copyProgressSignal } from './copy-data.js';
import {
  approveSignal,
  CLOUD_RETRY,
  CONTROL_TASK_QUEUE,
  phaseSearchAttribute,
  rollbackSignal,
  sourceSearchAttribute,
  statusQuery,
  targetSearchAttribute,
  taskQueueFor,
} from './definitions.js';
import { Gatekeeper } from './gates.js';
import { readShadowVerdict } from './verdict.js';
import { type MigrationStatus, type Phase, PHASES, type PhaseRecord } from './status.js';

export interface MigrationResult {
  name: string;
  outcome: 'completed' | 'rolledBack';
  status: MigrationStatus;
}

/** The search attribute's value while a gate waits, so the UI can list every migration waiting. */
export const AWAITING_APPROVAL = 'awaitingApproval';

function cloudActivities(spec: MigrationSpec, side: 'source' | 'target', waitForCancellation: boolean) {
  return proxyActivities<Activities>({
    taskQueue: taskQueueFor(spec[side].cloud),
    startToCloseTimeout: '2h',
    // A rollback's compensations (the clean-up deletes) run only once a cancelled activity has
    // stopped: with the default (try cancel) a copy kept writing after the clean-up ran. Runs
    // recorded before this (no patch marker) replay as they ran.
    cancellationType: waitForCancellation ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL,
    // Long listings and inference runs heartbeat; a silent worker is presumed dead after this.
    heartbeatTimeout: '2m',
    retry: CLOUD_RETRY,
  });
}

const control = proxyActivities<Activities>({
  taskQueue: CONTROL_TASK_QUEUE,
  startToCloseTimeout: '1m',
  retry: CLOUD_RETRY,
});

/**
 * Reading both prediction sets and writing the report takes longer than a control call. It
 * computes on a thread and heartbeats, so a silent worker is presumed dead within a minute rather
 * than after the whole timeout.
 */
const comparison = proxyActivities<Activities>({
  taskQueue: CONTROL_TASK_QUEUE,
  startToCloseTimeout: '30m',
  heartbeatTimeout: '1m',
  retry: CLOUD_RETRY,
});

/** Marks runs whose cancelled activities are awaited before compensations (see cloudActivities). */
export const WAIT_FOR_CANCELLATION_PATCH = 'rollback-waits-for-cancellation';

/** Raised inside the workflow to end it as rolled back rather than failed. */
class RollbackRequested {
  constructor(
    readonly reason: string,
    /** Set when a check failed (rather than an operator asking): that phase is marked failed. */
    readonly failedCheck = false,
  ) {}
}

interface Compensation {
  phase: Phase;
  what: string;
  undo: () => Promise<unknown>;
}

const RETIRE_PAGE = 1000;

const targetModelPath = (workload: NonNullable<MigrationSpec['workload']>) => workload.model.targetPath ?? workload.model.path;

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
  const status: MigrationStatus = {
    name: migration,
    source: { cloud: spec.source.cloud, bucket: spec.source.bucket, prefix: spec.source.prefix },
    target: { cloud: spec.target.cloud, bucket: spec.target.bucket, prefix: spec.target.prefix },
    phase: 'validate',
    state: 'running',
    phases: PHASES.map((phase): PhaseRecord => ({ phase, state: 'pending' })),
    decisions: [],
  };
  const gates = new Gatekeeper(() => status.phase);
  status.decisions = gates.decisions;
  setHandler(statusQuery, () => ({ ...status, pendingGate: gates.pending, ...(gates.droppedDecisions ? { decisionsDropped: gates.droppedDecisions } : {}) }));
  setHandler(approveSignal, (signal) => gates.onApprove(signal));
  setHandler(rollbackSignal, (signal) => gates.onRollback(signal));
  setHandler(copyProgressSignal, ({ workflowId, status: live }) => {
    if (status.copy?.workflowId === workflowId && status.copy.progress === undefined) status.copy.live = live;
    else if (status.teardown?.catchUp?.workflowId === workflowId && status.teardown.catchUp.progress === undefined) status.teardown.catchUp.live = live;
  });
  upsertSearchAttributes([
    { key: sourceSearchAttribute, value: spec.source.cloud },
    { key: targetSearchAttribute, value: spec.target.cloud },
  ]);

  const waitForCancellation = patched(WAIT_FOR_CANCELLATION_PATCH);
  const source = cloudActivities(spec, 'source', waitForCancellation);
  const target = cloudActivities(spec, 'target', waitForCancellation);
  const compensations: Compensation[] = [];
  // Gateway revisions must rise across runs of a migration with the same name, so they start
  // from this run's start time (workflow time, deterministic on replay).
  let revision = workflowInfo().runStartTime.getTime() * 1000;
  const setWeights = (targetPercent: number, mirror: boolean) => control.setWeights({ migration, targetPercent, mirror, revision: ++revision });

  const details = (text: string) => setCurrentDetails(`**${migration}**: ${spec.source.cloud} → ${spec.target.cloud}, ${text}`);
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
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: AWAITING_APPROVAL }]);
    const outcome = await gates.wait(phase, waitingFor, evidence, spec.approval);
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: status.phase }]);
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

  const copyInput = (mode: CopyDataInput['mode']): CopyDataInput => ({
    migration,
    source: spec.source,
    target: spec.target,
    copy: spec.copy,
    mode,
    reportTo: workflowInfo().workflowId,
  });

  try {
    enter('validate', 'spec parsed');
    leave('validate', 'succeeded');

    // ── audit ──────────────────────────────────────────────────────────────────────────────
    enter('audit', `inventory of ${spec.source.cloud}:${spec.source.bucket}/${spec.source.prefix}`);
    const inventory = await untilRollback(() => source.inventorySource({ location: spec.source }));
    status.inventory = inventory;
    const measured = spec.audit.throughputMiBps
      ? undefined
      : await untilRollback(() =>
          source.measureSourceThroughput({ location: spec.source, objects: inventory.largest, sampleMiB: spec.audit.sampleMiB, streams: spec.copy.concurrency }),
        );
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

    // ── standUpTarget ──────────────────────────────────────────────────────────────────────
    enter('standUpTarget', `${spec.target.cloud}:${spec.target.bucket}`);
    await untilRollback(() => target.ensureTargetContainer({ target: spec.target, source: spec.source }));
    // The container itself stays on rollback: it may hold other data, and keeping it loses nothing.
    if (spec.teardown.deleteTargetDataOnRollback) {
      compensations.push({ phase: 'standUpTarget', what: `delete what the migration wrote under ${spec.target.bucket}/${spec.target.prefix}`, undo: () => deleteMigratedTargetData() });
    }
    // A dry run writes nothing, so it stands up no endpoint either.
    const workload = spec.copy.dryRun ? undefined : spec.workload;
    if (workload) {
      // The model goes first, so the target endpoint loads it from target storage; the copy
      // phase then finds it in place and skips it.
      const model = await untilRollback(() => source.describeSourceObject({ source: spec.source, relativeKey: targetModelPath(workload) }));
      await untilRollback(() => target.copyBatch({ migration, source: spec.source, target: spec.target, objects: [model], concurrency: 1, partSizeMiB: spec.copy.partSizeMiB }));
      const endpoint = (side: 'source' | 'target') => ({
        migration,
        side,
        location: spec[side],
        modelPath: side === 'target' ? targetModelPath(workload) : workload.model.path,
        executionProvider: spec.shadow.executionProvider,
        verifyRecordedChecksum: side === 'target',
      });
      // The source's endpoint is the one serving today (the local deployer starts it if need be).
      const sourceEndpoint = await untilRollback(() => source.deployEndpoint(endpoint('source')));
      compensations.push({ phase: 'standUpTarget', what: 'stop the target endpoint', undo: () => target.stopEndpoint({ migration, side: 'target' }) });
      record('standUpTarget').detail = `deploying the target endpoint (source endpoint ${sourceEndpoint.url})`;
      const targetEndpoint = await untilRollback(() => target.deployEndpoint(endpoint('target')));
      status.endpoints = { source: sourceEndpoint.url, target: targetEndpoint.url };
    }
    leave('standUpTarget', 'succeeded', workload ? `container ready; target endpoint ${status.endpoints!.target} serving the copied model` : 'container ready; no endpoint (no workload in the spec, or a dry run)');

    // ── copyData ───────────────────────────────────────────────────────────────────────────
    enter('copyData', `${inventory.objects} objects, ${inventory.bytes} bytes`);
    const copyId = `${workflowInfo().workflowId}/copy/1`;
    status.copy = { workflowId: copyId };
    const copied = await untilRollback(() =>
      executeChild(copyDataWorkflow, {
        workflowId: copyId,
        args: [{ ...copyInput('initial'), expected: { objects: inventory.objects, bytes: inventory.bytes }, estimatedMiBps: report.copyTime.mibPerSecond || undefined }],
      }),
    );
    status.copy = { workflowId: copyId, ...copied };
    if (copied.plan) {
      leave('copyData', 'succeeded', `dry run: ${copied.plan.objects} objects, ${copied.plan.bytes} bytes would be copied`);
      for (const phase of ['shadow', 'canary', 'teardown'] as const) leave(phase, 'skipped', 'dry run');
      await compensate();
      status.state = 'completed';
      details('dry run done; nothing was copied');
      return { name: migration, outcome: 'completed', status };
    }
    const p = copied.progress;
    leave(
      'copyData',
      'succeeded',
      `${p.copiedObjects} copied, ${p.skippedObjects} already there, ${p.verifiedObjects} verified; manifest ${copied.manifestPrefix}` +
        (p.vanishedCount ? `; ${p.vanishedCount} vanished from the source during the copy` : ''),
    );

    // ── shadow ─────────────────────────────────────────────────────────────────────────────
    if (!workload) {
      leave('shadow', 'skipped', 'no workload in the spec: no model to compare');
    } else {
      enter('shadow', `${workload.holdout.path} through the model on both clouds`);
      const modelPaths = [workload.model.path, targetModelPath(workload)];
      const checksums = await untilRollback(() => target.modelChecksums({ migration, source: spec.source, target: spec.target, modelPaths }));
      const expected = { source: checksums[modelPaths[0]!]!, target: checksums[modelPaths[1]!]! };
      const side = (which: 'source' | 'target'): ShadowInferenceInput => ({
        migration,
        side: which,
        location: spec[which],
        predictionsLocation: spec.target,
        workload: which === 'target' ? { ...workload, model: { path: targetModelPath(workload) } } : workload,
        executionProvider: spec.shadow.executionProvider,
        batchSize: spec.shadow.batchSize,
        expectedModelSha256: expected[which],
        // Both sides: either side's jitter can be mistaken for drift. A sample of rows bounds it.
        measureNoise: true,
      });
      const [sourceRun, targetRun] = await untilRollback(() => Promise.all([source.runShadowInference(side('source')), target.runShadowInference(side('target'))]));
      const { location: _s, predictionsLocation: _sp, ...sourceSummary } = sourceRun;
      const { location: _t, predictionsLocation: _tp, ...targetSummary } = targetRun;
      status.shadow = { sides: { source: sourceSummary, target: targetSummary } };
      const verdict = await untilRollback(() =>
        comparison.compareShadow({ migration, task: workload.holdout.task, source: sourceRun, target: targetRun, shadow: spec.shadow }),
      );
      status.shadow.verdict = verdict;
      const read = readShadowVerdict(verdict);
      if (read.kind === 'failed') {
        throw new RollbackRequested(`the shadow gate failed: ${read.failures.join(', ')}; report ${read.reportHtml}`, true);
      }
      if (read.kind === 'inconclusive') {
        const why = `the shadow gate is inconclusive: ${read.inconclusive.join('; ') || 'the holdout cannot resolve the tolerance'}`;
        if (spec.shadow.onInconclusive === 'fail') throw new RollbackRequested(`${why} (shadow.onInconclusive is fail); report ${read.reportHtml}`, true);
        if (spec.shadow.onInconclusive === 'approve') await gate('shadow', `an approve (phase shadow): ${why}`, read.reportHtml);
        record('shadow').detail = `${why}; ${spec.shadow.onInconclusive === 'pass' ? 'passed on, as shadow.onInconclusive says' : 'approved'}`;
      } else if (spec.approval.afterShadow === 'manual') {
        await gate('shadow', 'an approve (phase shadow) after reviewing the shadow report', read.reportHtml);
      }
      leave('shadow', 'succeeded', `${read.rows} rows ${read.kind === 'passed' ? 'within tolerance' : 'inconclusive'}; report ${read.reportHtml}`);
    }

    // ── canary ─────────────────────────────────────────────────────────────────────────────
    if (!workload) {
      leave('canary', 'skipped', 'no workload in the spec: no traffic to move');
    } else {
      enter('canary', `steps ${spec.canary.steps.join(', ')} %`);
      const gateway = await untilRollback(() => control.ensureGateway({ migration, source: status.endpoints!.source!, target: status.endpoints!.target! }));
      compensations.push({ phase: 'canary', what: 'all traffic back to the source', undo: () => setWeights(0, false) });
      const canary = {
        gatewayUrl: gateway.url,
        steps: spec.canary.steps,
        step: 0,
        targetPercent: gateway.route.targetPercent,
        mirror: gateway.route.mirror,
        analyses: [] as NonNullable<MigrationStatus['canary']>['analyses'],
      };
      status.canary = canary;
      for (const [index, weight] of spec.canary.steps.entries()) {
        const mirror = spec.canary.mirror && weight < 100;
        canary.step = index + 1;
        details(`canary step ${index + 1}/${spec.canary.steps.length}: ${weight} % on the target`);
        await untilRollback(() => setWeights(weight, mirror));
        Object.assign(canary, { targetPercent: weight, mirror });
        await untilRollback(() => control.openCanaryWindow({ migration }));
        await untilRollback(() => sleep(spec.canary.intervalSeconds * 1000));
        const analysis = await untilRollback(() => control.analyseCanaryWindow({ migration, thresholds: spec.canary.thresholds }));
        const { route: _route, ...window } = analysis.window;
        canary.analyses.push({ targetPercent: weight, passed: analysis.passed, reasons: analysis.reasons, window });
        if (!analysis.passed) throw new RollbackRequested(`canary step ${weight} % failed: ${analysis.reasons.join('; ')}`, true);
        const next = spec.canary.steps[index + 1];
        if (next !== undefined && spec.approval.betweenCanarySteps === 'manual') {
          await gate('canary', `an approve (phase canary) to go from ${weight} % to ${next} %`, `canary analysis at ${weight} %: status.canary.analyses[${index}]`);
        }
      }
      leave('canary', 'succeeded', `100 % of traffic on the target through ${gateway.url}`);
    }

    // ── teardown ───────────────────────────────────────────────────────────────────────────
    if (spec.approval.beforeTeardown === 'manual') {
      await gate('teardown', 'an approve (phase teardown) to retire the source: after it, no rollback', 'status.canary and status.copy');
    }
    // The point of no return: from here a rollback is refused (and recorded as refused).
    gates.pointOfNoReturn = true;
    enter('teardown', 'catch-up sync, then retiring the source');
    const catchUpId = `${workflowInfo().workflowId}/copy/catch-up`;
    status.teardown = { catchUp: { workflowId: catchUpId } };
    const caughtUp = await executeChild(copyDataWorkflow, { workflowId: catchUpId, args: [copyInput('catchUp')] });
    status.teardown.catchUp = { workflowId: catchUpId, ...caughtUp };
    if (workload && spec.teardown.stopSourceEndpoint) {
      await source.stopEndpoint({ migration, side: 'source' });
      status.teardown.sourceEndpointStopped = true;
    }
    if (spec.teardown.deleteSourceData) await retireSourceData();
    const t = status.teardown;
    leave(
      'teardown',
      'succeeded',
      `catch-up copied ${caughtUp.progress.copiedObjects}, verified ${caughtUp.progress.verifiedObjects}` +
        (t.sourceEndpointStopped ? '; source endpoint stopped' : '') +
        (spec.teardown.deleteSourceData ? `; ${t.sourceDeleted} source objects deleted, ${t.sourceKept} kept (not verified at the target)` : '; source data kept'),
    );

    status.state = 'completed';
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: 'completed' }]);
    details('migration completed');
    return { name: migration, outcome: 'completed', status };
  } catch (error) {
    const rolledBack = error instanceof RollbackRequested;
    if (gates.pointOfNoReturn) {
      status.state = 'failed';
      status.reason = error instanceof Error ? error.message : String(error);
      throw error;
    }
    const reason = rolledBack ? error.reason : error instanceof Error ? error.message : String(error);
    leave(status.phase, rolledBack && !error.failedCheck ? 'compensated' : 'failed', reason);
    await compensate();
    status.reason = reason;
    if (!rolledBack) {
      // A failure before the point of no return still leaves traffic on the source.
      status.state = 'failed';
      upsertSearchAttributes([{ key: phaseSearchAttribute, value: 'failed' }]);
      throw error;
    }
    status.state = 'rolledBack';
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: 'rolledBack' }]);
    details(`rolled back: ${reason}`);
    return { name: migration, outcome: 'rolledBack', status };
  }

  /** Runs the compensations in reverse, each to the end even if an earlier one failed. */
  async function compensate(): Promise<void> {
    status.compensations = [];
    await CancellationScope.nonCancellable(async () => {
      for (const c of compensations.reverse()) {
        try {
          await c.undo();
          status.compensations!.push({ phase: c.phase, what: c.what, outcome: 'done' });
          if (record(c.phase).state === 'succeeded') record(c.phase).state = 'compensated';
        } catch (error) {
          status.compensations!.push({ phase: c.phase, what: c.what, outcome: 'failed', error: error instanceof Error ? error.message : String(error) });
        }
      }
    });
    compensations.length = 0;
  }

  async function deleteMigratedTargetData(): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await target.deleteMigratedTargetPage({ migration, source: spec.source, target: spec.target, cursor, pageSize: RETIRE_PAGE, concurrency: spec.copy.concurrency });
      cursor = page.cursor;
    } while (cursor);
  }

  async function retireSourceData(): Promise<void> {
    const t = status.teardown!;
    Object.assign(t, { sourceDeleted: 0, sourceKept: 0, sourceKeptKeys: [] });
    let cursor: string | undefined;
    do {
      const page = await source.deleteVerifiedSourcePage({
        migration,
        source: spec.source,
        target: spec.target,
        include: spec.copy.include,
        exclude: spec.copy.exclude,
        cursor,
        pageSize: RETIRE_PAGE,
        concurrency: spec.copy.concurrency,
      });
      t.sourceDeleted! += page.deleted;
      t.sourceKept! += page.kept;
      t.sourceKeptKeys = [...t.sourceKeptKeys!, ...page.keptKeys].slice(0, 20);
      cursor = page.cursor;
    } while (cursor);
  }
}
