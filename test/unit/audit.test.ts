import { describe, expect, it } from 'vitest';
import { loadPriceTable } from '../../src/activities/audit.js';
import { CATALOG } from '../../src/audit/catalog.js';
import { classifyDependency } from '../../src/audit/dependencies.js';
import { estimateEgress, type PriceTable } from '../../src/audit/egress.js';
import { buildAuditReport, estimateCopyTime, renderAuditReport } from '../../src/audit/report.js';
import type { Cloud, Dependency } from '../../src/spec.js';
import { CLOUDS } from '../../src/spec.js';
import type { SourceInventory } from '../../src/workflows/status.js';

const GiB = 1024 ** 3;
const dep = (kind: Dependency['kind'], service: string, name: string, settings: Dependency['settings'] = {}): Dependency => ({ kind, service, name, settings });
const inventory = (byStorageClass: SourceInventory['byStorageClass']): SourceInventory => {
  const objects = Object.values(byStorageClass).reduce((n, t) => n + t.objects, 0);
  const bytes = Object.values(byStorageClass).reduce((n, t) => n + t.bytes, 0);
  return { location: 's3://b/p/', objects, bytes, largest: [{ key: 'p/big.bin', size: 5 * GiB }], byStorageClass };
};

/** One manifest per source cloud, each with the findings it must produce. */
const MANIFESTS: Record<Cloud, { target: Cloud; deps: Dependency[]; expect: Record<string, { classification: string; equivalent?: RegExp; reason?: RegExp }> }> = {
  aws: {
    target: 'gcp',
    deps: [
      dep('mlService', 'sagemaker-endpoint', 'fraud-ep', { instanceType: 'ml.inf1.xlarge' }),
      dep('objectStorage', 's3', 'ml-artifacts'),
      dep('queue', 'sqs', 'scoring-requests'),
      dep('queue', 'sns', 'score-events'),
      dep('secrets', 'secrets-manager', 'db-password'),
      dep('monitoring', 'cloudwatch', 'fraud-dashboard'),
      dep('compute', 'eks', 'ml-cluster'),
      dep('database', 'dynamodb', 'features'),
      dep('dns', 'route53', 'api.example.com', { ttlSeconds: 3600 }),
      dep('network', 'direct-connect', 'dc-link'),
    ],
    expect: {
      'fraud-ep': { classification: 'blocking', reason: /Inferentia/ },
      'ml-artifacts': { classification: 'mapped', equivalent: /^Cloud Storage$/ },
      'scoring-requests': { classification: 'mapped', equivalent: /Pub\/Sub/ },
      'score-events': { classification: 'mapped', equivalent: /Pub\/Sub topic/ },
      'db-password': { classification: 'manual', equivalent: /Secret Manager/, reason: /never reads them/ },
      'fraud-dashboard': { classification: 'mapped', equivalent: /Cloud Monitoring or Prometheus/ },
      'ml-cluster': { classification: 'portable', equivalent: /GKE/ },
      features: { classification: 'manual', equivalent: /Firestore or Bigtable/ },
      'api.example.com': { classification: 'manual', equivalent: /Cloud DNS/, reason: /TTL 3600s/ },
      'dc-link': { classification: 'manual', reason: /not in cloudshift's catalog/ },
    },
  },
  gcp: {
    target: 'azure',
    deps: [
      dep('mlService', 'vertex-ai-endpoint', 'recsys', { builtinAlgorithm: 'automl-tables' }),
      dep('objectStorage', 'gcs', 'features-bucket'),
      dep('queue', 'pubsub', 'events'),
      dep('database', 'cloud-sql-postgres', 'catalog', { sizeGiB: 200 }),
      dep('secrets', 'cloud-kms', 'cmek', { exportable: false }),
    ],
    expect: {
      recsys: { classification: 'blocking', reason: /built-in algorithm container \(automl-tables\)/ },
      'features-bucket': { classification: 'mapped', equivalent: /Azure Blob Storage/ },
      events: { classification: 'mapped', equivalent: /Service Bus/ },
      catalog: { classification: 'mapped', equivalent: /Azure Database for PostgreSQL/ },
      cmek: { classification: 'blocking', reason: /not exportable/ },
    },
  },
  azure: {
    target: 'aws',
    deps: [
      dep('mlService', 'azureml-endpoint', 'churn', { instanceType: 'Standard_NC6s_v3' }),
      dep('containerRegistry', 'acr', 'models-acr'),
      dep('secrets', 'key-vault', 'kv-prod'),
      dep('database', 'postgres-flexible', 'big-db', { sizeGiB: 4096 }),
      dep('monitoring', 'azure-monitor', 'alerts'),
    ],
    expect: {
      churn: { classification: 'mapped', equivalent: /SageMaker/ },
      'models-acr': { classification: 'mapped', equivalent: /Amazon ECR/ },
      'kv-prod': { classification: 'manual', equivalent: /Secrets Manager/ },
      'big-db': { classification: 'manual', equivalent: /RDS for PostgreSQL/, reason: /replication-based cutover/ },
      alerts: { classification: 'mapped', equivalent: /CloudWatch/ },
    },
  },
  onprem: {
    target: 'gcp',
    deps: [
      dep('mlService', 'triton', 'triton-prod'),
      dep('compute', 'kubernetes', 'rack-cluster'),
      dep('queue', 'kafka', 'clickstream'),
      dep('monitoring', 'prometheus', 'prom'),
      dep('secrets', 'vault', 'vault'),
      dep('database', 'bigtable', 'already-there'),
    ],
    expect: {
      'triton-prod': { classification: 'portable', equivalent: /GKE/ },
      'rack-cluster': { classification: 'portable', equivalent: /GKE/ },
      clickstream: { classification: 'mapped', equivalent: /Kafka/ },
      prom: { classification: 'portable' },
      vault: { classification: 'manual', equivalent: /Secret Manager/ },
      'already-there': { classification: 'portable', reason: /already a gcp service/ },
    },
  },
};

describe('dependency classification', () => {
  it.each(CLOUDS)('a %s manifest gives its known findings', (source) => {
    const { target, deps, expect: expected } = MANIFESTS[source];
    const findings = deps.map((d) => classifyDependency(d, source, target));
    for (const f of findings) {
      const want = expected[f.name]!;
      expect(f.classification, f.name).toBe(want.classification);
      if (want.equivalent) expect(f.equivalent, f.name).toMatch(want.equivalent);
      if (want.reason) expect(f.reason, f.name).toMatch(want.reason);
    }
  });

  it('names a counterpart on every other cloud for every catalog entry', () => {
    for (const entry of CATALOG) {
      for (const other of CLOUDS.filter((c) => c !== entry.cloud)) {
        expect(entry.equivalents[other], `${entry.cloud}/${entry.service} → ${other}`).toMatch(/\w{2,}/);
      }
    }
  });

  it('does not block Inferentia when the target is AWS itself', () => {
    expect(classifyDependency(dep('mlService', 'sagemaker-endpoint', 'x', { instanceType: 'ml.inf2.xlarge' }), 'aws', 'aws').classification).toBe('mapped');
  });
});

describe('egress cost', () => {
  const table: PriceTable = {
    asOf: '2026-11-01',
    currency: 'USD',
    note: 'test',
    providers: {
      aws: { service: 'test', tiers: [{ upToGiB: 10, perGiB: 0.1 }, { upToGiB: 30, perGiB: 0.05 }, { upToGiB: null, perGiB: 0.01 }] },
    } as PriceTable['providers'],
  };

  it('charges each tier its own price over the volume', () => {
    expect(estimateEgress(5 * GiB, 'aws', table).cost).toBeCloseTo(0.5, 10);
    expect(estimateEgress(10 * GiB, 'aws', table).cost).toBeCloseTo(1, 10);
    const e = estimateEgress(50 * GiB, 'aws', table);
    expect(e.tiers).toEqual([
      { gib: 10, perGiB: 0.1, cost: expect.closeTo(1, 10) },
      { gib: 20, perGiB: 0.05, cost: expect.closeTo(1, 10) },
      { gib: 20, perGiB: 0.01, cost: expect.closeTo(0.2, 10) },
    ]);
    expect(e.cost).toBeCloseTo(2.2, 10);
    expect(estimateEgress(0, 'aws', table).cost).toBe(0);
  });

  it('uses the dated table kept in the repo', () => {
    const prices = loadPriceTable();
    expect(prices.asOf).toMatch(/^\d{4}-\d\d-\d\d$/);
    // 12 TiB out of AWS: 10 TiB at 0.09 and 2 TiB at 0.085.
    expect(estimateEgress(12 * 1024 * GiB, 'aws', prices).cost).toBeCloseTo(10240 * 0.09 + 2048 * 0.085, 6);
    expect(estimateEgress(100 * GiB, 'onprem', prices).cost).toBe(0);
  });
});

describe('audit report', () => {
  const prices = loadPriceTable();

  it('flags objects in archive tiers as blocking, with counts', () => {
    const report = buildAuditReport({
      source: 'aws',
      target: 'gcp',
      dependencies: [],
      inventory: inventory({ STANDARD: { objects: 10, bytes: 10 * GiB }, DEEP_ARCHIVE: { objects: 3, bytes: 3 * GiB }, GLACIER_IR: { objects: 2, bytes: 1 } }),
      prices,
      concurrency: 16,
      configuredMiBps: 100,
    });
    expect(report.inventory.archived).toEqual({ objects: 3, bytes: 3 * GiB, tiers: ['DEEP_ARCHIVE'] });
    expect(report.blocking).toEqual([expect.stringMatching(/^3 objects \(3\.0 GiB\) are in archive tiers \(DEEP_ARCHIVE\) and must be restored/)]);
  });

  it('estimates copy time from throughput and per-object cost', () => {
    const t = estimateCopyTime(10_000, 10 * GiB, { concurrency: 10, measured: { mibPerSecond: 100, perObjectMs: 20, sampledBytes: 1, streams: 4 } });
    // 10 GiB at 100 MiB/s = 102.4 s, plus 10,000 × 20 ms over 10 copies = 20 s.
    expect(t.seconds).toBeCloseTo(122.4, 6);
    expect(t.basis).toBe('measured');
    expect(estimateCopyTime(1, GiB, { concurrency: 1, configuredMiBps: 1024 }).seconds).toBeCloseTo(1, 6);
    expect(() => estimateCopyTime(1, GiB, { concurrency: 1 })).toThrow(/audit.throughputMiBps/);
    // A sample of small objects measures round trips, not bandwidth: the estimate is those alone.
    const latencyBound = estimateCopyTime(3000, 1_200_000, { concurrency: 16, measured: { mibPerSecond: 0, perObjectMs: 8, sampledBytes: 4000, streams: 10 } });
    expect(latencyBound.seconds).toBeCloseTo(1.5, 6);
  });

  it('renders every section an operator needs', () => {
    const { target, deps } = MANIFESTS.aws;
    const report = buildAuditReport({ source: 'aws', target, dependencies: deps, inventory: inventory({ STANDARD: { objects: 5, bytes: 2 * GiB } }), prices, concurrency: 16, configuredMiBps: 50 });
    const text = renderAuditReport(report);
    expect(text).toContain('Inventory: 5 objects, 2.0 GiB');
    expect(text).toContain('Egress: 2.00 GiB → USD 0.18');
    expect(text).toMatch(/Copy time: about 41s at 50\.0 MiB\/s \(configured\)/);
    expect(text).toContain('Dependencies: 1 portable, 4 mapped, 4 manual, 1 blocking');
    expect(text).toContain('[BLOCKING] mlService sagemaker-endpoint "fraud-ep"');
    expect(text).toMatch(/BLOCKING \(1\): the migration waits/);
  });
});
