/**
 * A whole migration whose canary moves weighted DNS on Route 53 (moto's server), on the dev
 * server: the records read back after each step, the analysis on the endpoints' own metrics, and a
 * rollback that puts the records back at 100/0. The test is the DNS client: it resolves the name
 * by the weights Route 53 holds, as a resolver picks among weighted records, and sends each request
 * to the side it picked.
 */
import { CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import type { WorkflowHandle } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ENDPOINTS } from '../../src/dev/local-stack.js';
import { holdoutRows, seedWorkload } from '../../src/dev/workload.js';
import { rollbackSignal, recordQuery } from '../../src/workflows/definitions.js';
import { migrationResult } from '../../src/client/index.js';
import { uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, startMigration, type TemporalTestContext, testWorkers } from '../support/temporal.js';
import { recordWhen } from '../support/record.js';
import { eventually } from '../support/wait.js';
import { workloadMigration } from '../support/workload-migration.js';

let temporal: TemporalTestContext;
const stores = testResolver();
const rows = holdoutRows();
const dns = new Route53Client({ region: 'us-east-1', endpoint: LOCAL_ENDPOINTS.route53, credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } });
const zone = `cs-${randomBytes(3).toString('hex')}.example.com`;
let zoneId: string;
let bucket: string;

beforeAll(async () => {
  temporal = await connectTemporal();
  bucket = uniqueBucket('r53');
  const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
  await source.ensureContainer();
  await seedWorkload(source, 'fraud/');
  const created = await dns.send(new CreateHostedZoneCommand({ Name: zone, CallerReference: randomBytes(8).toString('hex') }));
  zoneId = created.HostedZone!.Id!.split('/').pop()!;
});
afterAll(async () => {
  await temporal?.close();
});

function specFor(name: string, approval: Record<string, unknown> = {}) {
  return {
    ...workloadMigration(name, bucket),
    canary: {
      steps: [20, 100],
      intervalSeconds: 2,
      router: { kind: 'route53', profile: 'local-route53', hostedZoneId: zoneId, recordName: `${name}.${zone}`, ttlSeconds: 5 },
      thresholds: { minRequests: 5, maxP50LatencyRatio: 5, maxP99LatencyRatio: 10 },
    },
    approval: { beforeTeardown: 'auto', ...approval },
  };
}

/** The weights Route 53 holds for the migration's name, by side. */
async function weightsOf(name: string): Promise<{ source: number; target: number } | undefined> {
  const sets = (await dns.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: `${name}.${zone}` }))).ResourceRecordSets ?? [];
  const weight = (side: string) => sets.find((s) => s.SetIdentifier === `cloudshift-${name}-${side}`)?.Weight;
  const [source, target] = [weight('source'), weight('target')];
  return source === undefined || target === undefined ? undefined : { source, target };
}

/** A weighted resolver and its client: each request goes to the side a weighted pick names. */
function resolveAndSend(handle: WorkflowHandle, name: string) {
  let stopped = false;
  const sent = { source: 0, target: 0 };
  const running = (async () => {
    const endpoints = await eventually(async () => (await handle.query(recordQuery)).canary && (await handle.query(recordQuery)).endpoints, 120_000);
    let i = 0;
    while (!stopped) {
      const weights = await weightsOf(name);
      if (weights) {
        for (let n = 0; n < 20; n++) {
          const side = Math.random() * (weights.source + weights.target) < weights.source ? 'source' : 'target';
          const url = endpoints![side];
          if (!url) continue;
          await fetch(new URL('/v1/predict', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: [rows[i++ % rows.length]] }) }).then((r) => r.arrayBuffer(), () => undefined);
          sent[side]++;
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return async () => {
    stopped = true;
    await running.catch(() => undefined);
    return sent;
  };
}

describe('a canary on weighted DNS (Route 53)', () => {
  it('moves the records step by step, judged on the endpoints\' metrics, and ends with all weight on the target', async () => {
    const name = `r53-${randomBytes(3).toString('hex')}`;
    const { result, sent } = await runWorkersUntil(await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, identity: 'r53-test' }), async () => {
      const handle = await startMigration(temporal, specFor(name));
      const stop = resolveAndSend(handle, name);
      const result = await migrationResult(handle);
      return { result, sent: await stop() };
    });
    expect(result.outcome).toBe('completed');
    expect(result.status.canary).toMatchObject({ router: 'route53', trafficUrl: expect.stringContaining(`${name}.${zone}`), mirror: false, targetPercent: 100 });
    expect(result.status.canary?.analyses.map((a) => [a.targetPercent, a.verdict])).toEqual([[20, 'passed'], [100, 'passed']]);
    expect(result.status.canary?.queries?.find((q) => q.name === 'target.requests')?.query).toContain('cloudshift_endpoint_requests_total');
    expect(await weightsOf(name)).toEqual({ source: 0, target: 100 });
    expect(sent.source).toBeGreaterThan(0);
    expect(sent.target).toBeGreaterThan(0);
  });

  it('puts the records back at 100/0 on a rollback', async () => {
    const name = `r53-rb-${randomBytes(3).toString('hex')}`;
    const result = await runWorkersUntil(await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, identity: 'r53-test' }), async () => {
      const handle = await startMigration(temporal, specFor(name, { betweenCanarySteps: 'manual' }));
      const stop = resolveAndSend(handle, name);
      await recordWhen(handle, (s) => s.pendingGate?.phase === 'canary', 120_000);
      expect(await weightsOf(name)).toEqual({ source: 80, target: 20 });
      await handle.signal(rollbackSignal, { by: 'ruth', reason: 'dns test' });
      const result = await migrationResult(handle);
      await stop();
      return result;
    });
    expect(result.outcome).toBe('rolledBack');
    expect(result.status.compensations?.[0]).toMatchObject({ what: 'all traffic back to the source', outcome: 'done' });
    expect(await weightsOf(name)).toEqual({ source: 100, target: 0 });
  });
});
