/**
 * cloudshift's own metrics, emitted from the workflows through the Temporal SDK's metric meter:
 * the worker's Prometheus exporter serves them beside the SDK's (CLOUDSHIFT_METRICS_ADDRESS).
 * The SDK drops what a workflow emits while it replays, so each event counts once per worker.
 * Every series carries the migration and both clouds; the SDK adds the namespace, the task queue
 * and the workflow type. Names follow Prometheus's conventions (the exporter adds `_total` to
 * counters); docs/architecture.md (Observability) lists them.
 */
import { metricMeter } from '@temporalio/workflow';
import type { EgressEstimate } from '../audit/egress.js';
import type { Cloud } from '../spec.js';
import type { Phase } from './status.js';

export interface MigrationTags {
  migration: string;
  source_cloud: Cloud;
  target_cloud: Cloud;
}

export const migrationTags = (migration: string, source: Cloud, target: Cloud): MigrationTags => ({ migration, source_cloud: source, target_cloud: target });

export interface CopyDone {
  copied?: number; copiedBytes?: number; skipped?: number; skippedBytes?: number; verified?: number; verifiedBytes?: number; mismatched?: number; vanished?: number; retries?: number;
}

/** Counts what each copy batch or verify page did, as it arrives; the instruments are made once per run. */
export function copyCounter(tags: MigrationTags, stage: 'copy' | 'catchUp'): (done: CopyDone) => void {
  const objects = metricMeter.createCounter('cloudshift_copy_objects', 'objects', 'Objects the copy handled, by stage (copy, catchUp) and outcome (copied, skipped, verified, mismatched, vanished)').withTags({ ...tags, stage });
  const bytes = metricMeter.createCounter('cloudshift_copy_bytes', 'bytes', 'Bytes the copy handled, by stage and outcome (copied, skipped, verified)').withTags({ ...tags, stage });
  const retries = metricMeter.createCounter('cloudshift_copy_retries', 'attempts', 'Copy and verify activities retried after a failed attempt, by stage').withTags({ ...tags, stage });
  const add = (counter: typeof objects, outcome: string, value: number | undefined) => {
    if (value) counter.add(value, { outcome });
  };
  // Each labelled series from the start, at 0: a counter that first appears at 1 has no earlier
  // sample, so increase() stays 0 and an alert on its first mismatch never fires.
  for (const outcome of ['copied', 'skipped', 'verified', 'mismatched', 'vanished']) objects.add(0, { outcome });
  for (const outcome of ['copied', 'skipped', 'verified']) bytes.add(0, { outcome });
  retries.add(0);
  return (done) => {
    add(objects, 'copied', done.copied);
    add(objects, 'skipped', done.skipped);
    add(objects, 'verified', done.verified);
    add(objects, 'mismatched', done.mismatched);
    add(objects, 'vanished', done.vanished);
    add(bytes, 'copied', done.copiedBytes);
    add(bytes, 'skipped', done.skippedBytes);
    add(bytes, 'verified', done.verifiedBytes);
    if (done.retries) retries.add(done.retries);
  };
}

/** What the first `gib` GiB cost at the audit's estimate's tiers; past them, at the last tier's price. */
function costOf(tiers: EgressEstimate['tiers'], gib: number): number {
  let cost = 0;
  let left = gib;
  for (const [i, tier] of tiers.entries()) {
    const inTier = i === tiers.length - 1 ? left : Math.min(left, tier.gib);
    cost += inTier * tier.perGiB;
    left -= inTier;
    if (left <= 0) break;
  }
  return cost;
}

/** The cost of the bytes between two running totals (a catch-up after the copy), from the audit's estimate. */
export function egressCostBetween(estimate: Pick<EgressEstimate, 'tiers'>, fromBytes: number, toBytes: number): number {
  const GiB = 1024 ** 3;
  return costOf(estimate.tiers, toBytes / GiB) - costOf(estimate.tiers, fromBytes / GiB);
}

/**
 * Bytes that left the source cloud in a copy pass, and the migration's estimated egress cost so
 * far at the audit's prices: a gauge, since the SDK's counters count whole numbers only.
 */
export function countEgressOf(run: { tags: MigrationTags; egress: { bytes: number; cost: number } }, bytes: number, estimate: Pick<EgressEstimate, 'tiers' | 'currency'>): void {
  if (bytes <= 0) return;
  run.egress.cost += egressCostBetween(estimate, run.egress.bytes, run.egress.bytes + bytes);
  run.egress.bytes += bytes;
  metricMeter.createCounter('cloudshift_egress_bytes', 'bytes', 'Bytes copied out of the source cloud (charged by it as egress)').add(bytes, { ...run.tags });
  metricMeter
    .createGauge('cloudshift_egress_estimated_cost', 'float', estimate.currency, 'Estimated egress cost of the bytes copied so far, from the audit\'s price table')
    .set(run.egress.cost, { ...run.tags, currency: estimate.currency });
}

/** How a migration ends, as cloudshift_migrations_ended counts it. */
const MIGRATION_OUTCOMES = ['completed', 'rolledBack', 'failed'] as const;

/** Gauges the workflow keeps up to date as it moves: its phase, a gate it waits at, the canary's weight. */
export class MigrationGauges {
  private phase?: Phase;
  private readonly phaseGauge = metricMeter.createGauge('cloudshift_migration_phase', 'int', '', 'The phase a migration is in (1), one series per phase');
  private readonly gateSince = metricMeter.createGauge('cloudshift_migration_gate_waiting_since_seconds', 'float', 's', 'When a migration began to wait at a gate (Unix seconds); 0 when it waits at none');
  private readonly weight = metricMeter.createGauge('cloudshift_canary_weight_percent', 'int', '%', 'Share of traffic on the target at the canary\'s current step');
  private readonly step = metricMeter.createGauge('cloudshift_canary_step', 'int', '', 'The canary step in force (1-based; 0 before the canary)');

  private readonly ended = metricMeter.createCounter('cloudshift_migrations_ended', 'migrations', 'Migrations that ended, by outcome (completed, rolledBack, failed)');

  constructor(private readonly tags: MigrationTags) {
    // Every outcome's series at 0 from the start, so increase() sees the end (see copyCounter).
    for (const outcome of MIGRATION_OUTCOMES) this.ended.add(0, { ...this.tags, outcome });
  }

  enter(phase: Phase): void {
    if (this.phase) this.phaseGauge.set(0, { ...this.tags, phase: this.phase });
    this.phase = phase;
    this.phaseGauge.set(1, { ...this.tags, phase });
  }

  /** The migration ended: no phase is current any more, and its outcome is counted. */
  end(outcome: string): void {
    if (this.phase) this.phaseGauge.set(0, { ...this.tags, phase: this.phase });
    this.gateSince.set(0, { ...this.tags });
    this.ended.add(1, { ...this.tags, outcome });
  }

  waiting(since: number | undefined): void {
    this.gateSince.set(since === undefined ? 0 : since / 1000, { ...this.tags });
  }

  canary(step: number, targetPercent: number): void {
    this.step.set(step, { ...this.tags });
    this.weight.set(targetPercent, { ...this.tags });
  }
}

/** The shadow comparison's result: rows compared, the verdict, and each criterion against its limit (the drift monitors). */
export function recordShadow(tags: MigrationTags, verdict: string, rows: number, criteria: readonly { name: string; value?: number | undefined; threshold?: number | undefined; passed: boolean; status?: string | undefined }[]): void {
  metricMeter.createCounter('cloudshift_shadow_rows', 'rows', 'Holdout rows compared by the shadow gate').add(rows, { ...tags });
  metricMeter.createCounter('cloudshift_shadow_verdicts', 'verdicts', 'Shadow gate verdicts, by verdict').add(1, { ...tags, verdict });
  const value = metricMeter.createGauge('cloudshift_shadow_criterion_value', 'float', '', 'Each shadow criterion\'s measured value (a drift monitor)');
  const limit = metricMeter.createGauge('cloudshift_shadow_criterion_limit', 'float', '', 'Each shadow criterion\'s limit');
  const passed = metricMeter.createGauge('cloudshift_shadow_criterion_passed', 'int', '', 'Whether each shadow criterion is within its limit (1) or not (0)');
  for (const c of criteria) {
    const labels = { ...tags, criterion: c.name };
    if (c.value !== undefined && Number.isFinite(c.value)) value.set(c.value, labels);
    if (c.threshold !== undefined) limit.set(c.threshold, labels);
    if (c.status !== 'notApplicable') passed.set(c.passed ? 1 : 0, labels);
  }
}
