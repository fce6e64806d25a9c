import type { StoreResolver } from '../clouds/profiles.js';
import type { MigrationSpec } from '../spec.js';
import type { PriceTable } from './egress.js';
import { measureThroughput, takeInventory } from './inventory.js';
import { type AuditReport, buildAuditReport } from './report.js';

/**
 * The audit alone, outside any workflow: what `cloudshift audit` runs. The migration workflow
 * runs the same steps as activities (inventory and measurement on the source cloud's queue).
 */
export async function runAudit(spec: MigrationSpec, stores: StoreResolver, prices: PriceTable): Promise<AuditReport> {
  const store = stores.store(spec.source);
  const inventory = await takeInventory(store, spec.source.prefix, { filter: { include: spec.copy.include, exclude: spec.copy.exclude } });
  const measured = spec.audit.throughputMiBps
    ? undefined
    : await measureThroughput(store, inventory.largest, { sampleBytes: spec.audit.sampleMiB * 1024 * 1024, streams: spec.copy.concurrency });
  return buildAuditReport({
    source: spec.source.cloud,
    target: spec.target.cloud,
    dependencies: spec.deployment.dependencies,
    inventory,
    prices,
    concurrency: spec.copy.concurrency,
    configuredMiBps: spec.audit.throughputMiBps,
    measured,
  });
}
