/**
 * One migration's run: its spec, its status, the gates, the saga, the activity proxies, and the
 * small verbs every phase uses (enter and leave a phase, wait at a gate, run a step that a
 * rollback may abandon). Phases (phases/*.ts) are functions of a run.
 */
import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { MigrationSpec } from '../spec.js';
import type { CopyDataInput } from './copy-data.js';
import { AWAITING_APPROVAL, CLOUD_RETRY, CONTROL_TASK_QUEUE, phaseSearchAttribute, taskQueueFor } from './definitions.js';
import type { Gatekeeper } from './gates.js';
import { MigrationGauges, migrationTags, type MigrationTags } from './metrics.js';
import { Saga } from './saga.js';
import type { MigrationStatus, Phase, PhaseRecord } from './status.js';

/** Why a migration is being rolled back: an operator asked, a gate timed out, or a check failed. */
export type RollbackCause = 'operator' | 'timeout' | 'failedCheck';

/** Raised inside the workflow to end it as rolled back rather than failed. */
export class RollbackRequested {
  constructor(
    readonly reason: string,
    readonly cause: RollbackCause,
  ) {}

  /** A failed check marks its phase failed; an operator's or a timeout's rollback marks it compensated. */
  get failedCheck(): boolean {
    return this.cause === 'failedCheck';
  }
}

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

/** The report is a courtesy at the end: a few tries, then the outcome stands without it. */
const reporting = proxyActivities<Activities>({
  taskQueue: CONTROL_TASK_QUEUE,
  startToCloseTimeout: '2m',
  retry: { ...CLOUD_RETRY, maximumAttempts: 3 },
});

export class MigrationRun {
  readonly migration: string;
  readonly source: ReturnType<typeof cloudActivities>;
  readonly target: ReturnType<typeof cloudActivities>;
  readonly control = control;
  readonly comparison = comparison;
  readonly reporting = reporting;
  readonly saga = new Saga();
  readonly tags: MigrationTags;
  readonly gauges: MigrationGauges;
  /** Bytes copied out of the source so far and their estimated cost, for the metrics. */
  readonly egress = { bytes: 0, cost: 0 };
  /**
   * Route revisions must rise across runs of a migration with the same name, so they start
   * from this run's start time (workflow time, deterministic on replay).
   */
  private revision = workflowInfo().runStartTime.getTime() * 1000;

  /**
   * What this run marks its writes with and claims the target's folder by: its first run id, so a
   * later run of the same name (a workflow id can be reused once a run ends) touches none of it.
   * Runs recorded before marks used the name, and still do on replay.
   */
  readonly mark: string | undefined;

  constructor(
    readonly spec: MigrationSpec,
    readonly status: MigrationStatus,
    readonly gates: Gatekeeper,
    waitForCancellation: boolean,
    markedByRun: boolean,
  ) {
    this.migration = spec.name;
    this.mark = markedByRun ? workflowInfo().firstExecutionRunId : undefined;
    if (this.mark) status.runMark = this.mark;
    this.tags = migrationTags(spec.name, spec.source.cloud, spec.target.cloud);
    this.gauges = new MigrationGauges(this.tags);
    this.source = cloudActivities(spec, 'source', waitForCancellation);
    this.target = cloudActivities(spec, 'target', waitForCancellation);
  }

  /** `{ mark }` for activity inputs, or nothing in runs recorded before marks. */
  get markInput(): { mark?: string } {
    return this.mark ? { mark: this.mark } : {};
  }

  setWeights(targetPercent: number, mirror: boolean) {
    return this.control.setWeights({ migration: this.migration, router: this.spec.canary.router, targetPercent, mirror, revision: ++this.revision });
  }

  details(text: string): void {
    setCurrentDetails(`**${this.migration}**: ${this.spec.source.cloud} → ${this.spec.target.cloud}, ${text}`);
  }

  record(phase: Phase): PhaseRecord {
    return this.status.phases.find((p) => p.phase === phase)!;
  }

  enter(phase: Phase, detail: string): void {
    this.status.phase = phase;
    this.gauges.enter(phase);
    Object.assign(this.record(phase), { state: 'running', startedAt: new Date().toISOString(), detail });
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: phase }]);
    this.details(`phase *${phase}*: ${detail}`);
  }

  leave(phase: Phase, state: PhaseRecord['state'], detail?: string): void {
    Object.assign(this.record(phase), { state, endedAt: new Date().toISOString(), ...(detail ? { detail } : {}) });
  }

  /** Waits at a gate; a timeout or a rollback there ends the migration rolled back. */
  async gate(phase: Phase, waitingFor: string, evidence: string | undefined): Promise<void> {
    this.details(`waiting: ${waitingFor}`);
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: AWAITING_APPROVAL }]);
    this.gauges.waiting(new Date().getTime());
    const outcome = await this.gates.wait(phase, waitingFor, evidence, this.spec.approval).finally(() => this.gauges.waiting(undefined));
    upsertSearchAttributes([{ key: phaseSearchAttribute, value: this.status.phase }]);
    if (outcome === 'timedOut') throw new RollbackRequested(`no approval of ${phase} within ${this.spec.approval.timeoutSeconds}s`, 'timeout');
    if (outcome === 'rollback') throw this.operatorRollback();
  }

  /** Runs a step, abandoning (and cancelling) it if an operator asks for a rollback meanwhile. */
  async untilRollback<T>(step: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    const running = scope.run(step);
    const rollback = condition(() => this.gates.rollbackRequested !== undefined).then(() => undefined);
    const first = await Promise.race([running.then((value) => ({ value })), rollback]);
    if (first) return first.value;
    scope.cancel();
    await running.catch(() => undefined);
    throw this.operatorRollback();
  }

  private operatorRollback(): RollbackRequested {
    const request = this.gates.rollbackRequested!;
    return new RollbackRequested(`rollback by ${request.by}: ${request.reason}`, 'operator');
  }

  copyInput(mode: CopyDataInput['mode']): CopyDataInput {
    const initial = this.status.copy;
    // The catch-up compares the source with what the initial copy verified, not with the target.
    const baseline = mode === 'catchUp' && initial?.manifestPrefix && initial.manifestParts ? { baseline: { parts: initial.manifestParts } } : {};
    return { migration: this.migration, ...this.markInput, source: this.spec.source, target: this.spec.target, copy: this.spec.copy, mode, reportTo: workflowInfo().workflowId, ...baseline };
  }

  /** Runs the saga's compensations, marking each compensated phase. */
  async compensate(): Promise<void> {
    const outcomes: NonNullable<MigrationStatus['compensations']> = [];
    this.status.compensations = outcomes;
    await this.saga.compensate((outcome) => {
      outcomes.push(outcome);
      if (outcome.outcome === 'done' && this.record(outcome.phase).state === 'succeeded') this.record(outcome.phase).state = 'compensated';
    });
  }
}
