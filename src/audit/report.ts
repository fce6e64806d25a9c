import type { ArtifactCheck } from '../artifacts/check.js';
import { NonRetryableError } from '../errors.js';
import type { Cloud, Dependency } from '../spec.js';
import { isArchiveTier, type SourceInventory, type ThroughputMeasurement } from './inventory.js';
import { classifyDependency, type DependencyFinding } from './dependencies.js';
import { type EgressEstimate, estimateEgress, type PriceTable } from './egress.js';

export { isArchiveTier, type ThroughputMeasurement } from './inventory.js';

export interface CopyTimeEstimate {
  seconds: number;
  mibPerSecond: number;
  perObjectMs: number;
  concurrency: number;
  basis: 'configured' | 'measured';
}

export interface AuditReport {
  source: { cloud: Cloud; location: string };
  target: { cloud: Cloud };
  dependencies: DependencyFinding[];
  inventory: SourceInventory & { archived: { objects: number; bytes: number; tiers: string[] } };
  egress: EgressEstimate;
  copyTime: CopyTimeEstimate;
  counts: Record<DependencyFinding['classification'], number>;
  /** The model's artifact at the source, when the workload names one. */
  artifact?: ArtifactCheck;
  /** Each one holds the migration for an approval that acknowledges it (or fails it). */
  blocking: string[];
}

export interface AuditInput {
  source: Cloud;
  target: Cloud;
  dependencies: Dependency[];
  inventory: SourceInventory;
  prices: PriceTable;
  concurrency: number;
  /** A configured throughput wins over the measured one. */
  configuredMiBps?: number;
  measured?: ThroughputMeasurement;
  artifact?: ArtifactCheck;
}

export function estimateCopyTime(objects: number, bytes: number, input: Pick<AuditInput, 'concurrency' | 'configuredMiBps' | 'measured'>): CopyTimeEstimate {
  const basis = input.configuredMiBps ? 'configured' : 'measured';
  const mibPerSecond = input.configuredMiBps ?? input.measured?.mibPerSecond ?? 0;
  if (bytes === 0 && objects === 0) return { seconds: 0, mibPerSecond, perObjectMs: 0, concurrency: input.concurrency, basis };
  const perObjectMs = input.measured?.perObjectMs ?? 0;
  if (!mibPerSecond && !perObjectMs) throw new NonRetryableError('InvalidAuditInput', 'a copy-time estimate needs audit.throughputMiBps in the spec or a measured throughput');
  // Bytes flow at the aggregate rate; per-object round trips overlap across the parallel copies.
  // A latency-bound sample gives no byte rate: then the round trips are the estimate.
  const byteSeconds = mibPerSecond ? bytes / (mibPerSecond * 1024 * 1024) : 0;
  const seconds = byteSeconds + (objects * perObjectMs) / 1000 / input.concurrency;
  return { seconds, mibPerSecond, perObjectMs, concurrency: input.concurrency, basis };
}

export function buildAuditReport(input: AuditInput): AuditReport {
  const dependencies = input.dependencies.map((d) => classifyDependency(d, input.source, input.target));
  const archivedTiers = Object.entries(input.inventory.byStorageClass).filter(([tier]) => isArchiveTier(tier));
  const archived = {
    objects: archivedTiers.reduce((n, [, t]) => n + t.objects, 0),
    bytes: archivedTiers.reduce((n, [, t]) => n + t.bytes, 0),
    tiers: archivedTiers.map(([tier]) => tier),
  };
  const blocking = dependencies.filter((d) => d.classification === 'blocking').map((d) => `${d.kind} ${d.service} "${d.name}": ${d.reason}`);
  if (archived.objects > 0) {
    blocking.push(
      `${archived.objects} objects (${formatBytes(archived.bytes)}) are in archive tiers (${archived.tiers.join(', ')}) and must be restored before they can be copied`,
    );
  }
  if (input.artifact?.problem && input.artifact.severity === 'blocking') blocking.push(`artifact ${input.artifact.folder}: ${input.artifact.problem}`);
  const counts = { portable: 0, mapped: 0, manual: 0, blocking: 0 };
  for (const d of dependencies) counts[d.classification]++;
  return {
    source: { cloud: input.source, location: input.inventory.location },
    target: { cloud: input.target },
    dependencies,
    inventory: { ...input.inventory, archived },
    egress: estimateEgress(input.inventory.bytes, input.source, input.prices),
    copyTime: estimateCopyTime(input.inventory.objects, input.inventory.bytes, input),
    counts,
    ...(input.artifact ? { artifact: input.artifact } : {}),
    blocking,
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function artifactLine(a: ArtifactCheck): string {
  if (a.state === 'verified') return `Artifact: ${a.folder} signed by ${a.signer} (key ${a.keyHint?.slice(0, 16)}…), ${a.files} files, ${formatBytes(a.bytes)}, every digest as signed`;
  return `Artifact: [${(a.severity ?? 'manual').toUpperCase()}] ${a.folder}: ${a.problem}`;
}

/** The report as an operator reads it in a terminal. */
export function renderAuditReport(r: AuditReport): string {
  const lines = [
    `Audit: ${r.source.location} (${r.source.cloud}) → ${r.target.cloud}`,
    '',
    `Inventory: ${r.inventory.objects} objects, ${formatBytes(r.inventory.bytes)}`,
    ...Object.entries(r.inventory.byStorageClass).map(([tier, t]) => `  ${tier}: ${t.objects} objects, ${formatBytes(t.bytes)}`),
    ...(r.inventory.largest.length ? ['  largest:', ...r.inventory.largest.slice(0, 5).map((o) => `    ${formatBytes(o.size).padStart(10)}  ${o.key}`)] : []),
    '',
    `Egress: ${r.egress.gib.toFixed(2)} GiB → ${r.egress.currency} ${r.egress.cost.toFixed(2)} (${r.egress.service}, prices as of ${r.egress.pricesAsOf})`,
    `Copy time: about ${formatDuration(r.copyTime.seconds)} ${r.copyTime.mibPerSecond ? `at ${r.copyTime.mibPerSecond.toFixed(1)} MiB/s` : '(objects too small to measure a byte rate; round trips only)'} (${r.copyTime.basis}), ${r.copyTime.perObjectMs.toFixed(1)} ms per object over ${r.copyTime.concurrency} parallel copies`,
    '',
    `Dependencies: ${r.counts.portable} portable, ${r.counts.mapped} mapped, ${r.counts.manual} manual, ${r.counts.blocking} blocking`,
    ...r.dependencies.map(
      (d) => `  [${d.classification.toUpperCase()}] ${d.kind} ${d.service} "${d.name}"${d.equivalent ? ` → ${d.equivalent}` : ''}: ${d.reason}`,
    ),
  ];
  if (r.artifact) lines.push('', artifactLine(r.artifact));
  lines.push('', r.blocking.length ? `BLOCKING (${r.blocking.length}): the migration waits for an approval that acknowledges these, or fails, as the spec says:` : 'No blocking findings.');
  lines.push(...r.blocking.map((b) => `  - ${b}`));
  return lines.join('\n');
}
