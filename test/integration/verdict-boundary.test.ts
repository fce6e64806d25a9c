/**
 * Whatever the comparison returns — a null, a NaN, an absent statistic, no criteria at all — the
 * migration workflow reads it without failing a workflow task: it rolls back with a reason, stays
 * queryable, and stops the target endpoint.
 */
import { Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../src/activities/index.js';
import { taskQueueOf } from '../../src/config.js';
import { seedWorkload, workloadSpec } from '../../src/dev/workload.js';
import { closeLocalDeps, localActivityDeps } from '../../src/worker.js';
import { recordQuery } from '../../src/workflows/definitions.js';
import { migrationResult } from '../../src/client/index.js';
import { uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, startMigration, type TemporalTestContext } from '../support/temporal.js';

let temporal: TemporalTestContext;
const stores = testResolver();
const bucket = uniqueBucket('verdict');

beforeAll(async () => {
  temporal = await connectTemporal();
  const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
  await source.ensureContainer();
  await seedWorkload(source, 'w/');
});
afterAll(async () => {
  await temporal?.close();
});

const poisoned: [string, unknown][] = [
  ['a null statistic', { passed: false, failed: ['aucDelta'], criteria: [{ name: 'aucDelta', value: null, threshold: 0.001, comparator: '<=', gate: true, passed: false }], reportHtml: 'r.html', rows: 200 }],
  ['a NaN statistic', { passed: false, failed: ['x'], criteria: [{ name: 'x', value: Number.NaN, threshold: Number.NaN, comparator: '<=', gate: true, passed: false }], reportHtml: 'r.html', rows: 1 }],
  ['an absent statistic', { passed: false, criteria: [{ name: 'y', gate: true, passed: false }] }],
  ['no criteria and no verdict', { passed: false }],
  ['not an object', null],
  ['inconclusive with junk', { verdict: 'inconclusive', passed: false, inconclusive: [42], criteria: 'junk', reportHtml: null }],
];

describe('the migration workflow reads any verdict', () => {
  it.each(poisoned)('%s', { timeout: 120_000 }, async (_, verdict) => {
    const name = `verdict-${randomBytes(4).toString('hex')}`;
    const deps = localActivityDeps({ stores });
    const activities = { ...createActivities(deps), compareShadow: async () => verdict };
    const workers = await Promise.all(
      (['control', 'aws', 'gcp'] as const).map((queue) =>
        Worker.create({
          connection: temporal.nativeConnection,
          namespace: 'default',
          taskQueue: taskQueueOf(queue),
          activities,
          identity: 'verdict-boundary',
          ...(queue === 'control' ? { workflowBundle: temporal.workflowBundle } : {}),
        }),
      ),
    );
    const runs = workers.map((w) => w.run());
    try {
      const handle = await startMigration(temporal, {
        name,
        source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'w/' },
        target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t`, prefix: `${name}/` },
        workload: workloadSpec(),
        audit: { throughputMiBps: 50 },
        shadow: { executionProvider: 'cpu', onInconclusive: 'fail' },
      });
      const result = await migrationResult(handle);
      const history = await handle.fetchHistory();
      expect(history.events?.filter((e) => e.workflowTaskFailedEventAttributes)).toHaveLength(0);
      expect(result.outcome).toBe('rolledBack');
      expect(result.status.reason).toMatch(/the shadow gate (failed|is inconclusive)/);
      expect(result.status.reason).not.toMatch(/undefined|null\.|toPrecision/);
      expect(result.status.compensations).toContainEqual(expect.objectContaining({ what: 'stop the target endpoint', outcome: 'done' }));
      expect((await handle.query(recordQuery)).state).toBe('rolledBack');
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.all(runs);
      await closeLocalDeps(deps);
    }
  });
});
