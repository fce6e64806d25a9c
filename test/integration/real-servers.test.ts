/**
 * A whole migration between two real serving stacks, neither of them cloudshift's: Seldon
 * MLServer serving production today, adopted as the source; NVIDIA Triton deployed by cloudshift
 * from the target bucket. Shadow, canary through HAProxy judged at the data plane (neither server
 * exports cloudshift's histograms), teardown; the adopted source never stopped. And a Triton
 * target killed mid-canary: rolled back, traffic on the source, MLServer untouched.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationResult } from '../../src/client/index.js';
import { holdoutRows, seedWorkload, WORKLOAD_TOLERANCES, workloadSpec } from '../../src/dev/workload.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { alive } from '../../src/processes.js';
import { LoadGenerator } from '../../src/traffic/load.js';
import { CONTROL_TASK_QUEUE, MIGRATION_WORKFLOW_TYPE, recordQuery } from '../../src/workflows/definitions.js';
import type { WorkflowHandle } from '@temporalio/client';
import { uniqueBucket } from '../support/data.js';
import { type RunningMlserver, startMlserver } from '../support/mlserver.js';
import { recordWhen } from '../support/record.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, type TemporalTestContext, testWorkers } from '../support/temporal.js';
import { eventually } from '../support/wait.js';
import { STATE_DIR } from '../../src/paths.js';

let temporal: TemporalTestContext;
let mlserver: RunningMlserver;
const stores = testResolver();
const rows = holdoutRows();
let bucket: string;

beforeAll(async () => {
  temporal = await connectTemporal();
  bucket = uniqueBucket('real');
  const source = stores.store({ cloud: 'gcp', profile: 'local-gcs', bucket });
  await source.ensureContainer();
  await seedWorkload(source, 'fraud/');
  mlserver = await startMlserver({ model: readFileSync(join(PROJECT_ROOT, 'assets', 'breast-cancer.onnx')), name: 'fraud' });
}, 120_000);
afterAll(async () => {
  await mlserver?.stop();
  await temporal?.close();
});

const specFor = (name: string, canary: Record<string, unknown> = {}, targetServer: 'triton' | 'cloudshift' = 'triton') => ({
  name,
  source: { cloud: 'gcp', profile: 'local-gcs', bucket, prefix: 'fraud/' },
  target: { cloud: 'aws', profile: 'local-s3', bucket: `${bucket}-t`, prefix: `${name}/` },
  workload: { ...workloadSpec(), endpoints: { source: { url: mlserver.url, model: 'fraud' }, target: { server: targetServer } } },
  // The gate judges what the two servers answer, not the model files.
  shadow: { tolerances: WORKLOAD_TOLERANCES, through: 'endpoints' },
  audit: { throughputMiBps: 50 },
  canary: { steps: [50, 100], intervalSeconds: 2, thresholds: { minRequests: 10, maxP50LatencyRatio: 20, maxP99LatencyRatio: 20 }, ...canary },
  approval: { beforeTeardown: 'auto' },
});

/** V2 requests through the migration's data plane, from the moment it exists until stopped. */
function loadThrough(handle: WorkflowHandle) {
  let load: LoadGenerator | undefined;
  let stopped = false;
  const started = eventually(async () => {
    const s = await handle.query(recordQuery);
    return s.canary?.trafficUrl && s.served ? { url: s.canary.trafficUrl, input: s.served.source.input.name } : s.state === 'running' ? undefined : null;
  }, 120_000).then((found) => {
    if (found && !stopped) load = new LoadGenerator({ url: found.url, rows, rps: 60, concurrency: 2, v2: { model: 'fraud', input: found.input } }).start();
  });
  return async () => {
    stopped = true;
    await started.catch(() => undefined);
    return load?.stop();
  };
}

const uniqueName = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
const start = (spec: { name: string }) => temporal.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { taskQueue: CONTROL_TASK_QUEUE, workflowId: spec.name, args: [spec] });

describe('a migration from an adopted MLServer to a Triton cloudshift deploys', () => {
  it('runs every phase between the two real servers, judged at the data plane, and leaves MLServer serving', async () => {
    const name = uniqueName('mls-triton');
    const { result, load } = await runWorkersUntil(await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, identity: 'real-servers' }), async () => {
      const handle = await start(specFor(name));
      const stop = loadThrough(handle);
      // Stopped once the canary is over: the data plane is released when the migration ends.
      await recordWhen(handle, (s) => s.phase === 'teardown' || s.state !== 'running', 240_000);
      const load = await stop();
      return { result: await migrationResult(handle), load };
    });
    expect(result.outcome, result.status.reason).toBe('completed');
    expect(result.status.served?.source).toMatchObject({ url: mlserver.url, model: 'fraud', adopted: true, input: { name: 'X' } });
    expect(result.status.targetServer).toMatchObject({ server: 'triton', repository: expect.stringMatching(/^s3:\/\/http:\/\/127\.0\.0\.1:9000\//) });
    expect(result.status.shadow?.verdict).toMatchObject({ passed: true, rows: 200 });
    expect(result.status.shadow?.sides?.source?.runtime.onnxruntime).toBe(`served by ${mlserver.url} (model fraud)`);
    expect(result.status.shadow?.sides?.target?.runtime.onnxruntime).toMatch(/^served by http:\/\/127\.0\.0\.1:\d+ \(model fraud\)$/);
    // Every step judged on the V2 requests both servers answered, latency from the data plane.
    expect(result.status.canary?.analyses.map((a) => [a.targetPercent, a.verdict])).toEqual([[50, 'passed'], [100, 'passed']]);
    expect(result.status.canary?.analyses[0]?.values['target.mean']).toBeGreaterThan(0);
    // Mirrored agreement measured from what MLServer and Triton answered, captured by the data plane.
    expect(result.status.canary?.analyses[0]?.window.mirror).toMatchObject({ agreement: 1, maxProbabilityDelta: expect.any(Number) });
    expect(result.status.canary?.analyses[0]?.window.mirror.rows).toBeGreaterThan(0);
    expect(result.status.canary?.analyses[0]?.window.mirror.maxProbabilityDelta).toBeLessThan(1e-6);
    // Every answer was a 200 (a request after the data plane's release at the end gets no answer at all).
    expect(Object.keys(load?.byStatus ?? {}).filter((status) => status !== '200' && status !== 'connection'), JSON.stringify(load?.byStatus)).toEqual([]);
    for (const a of result.status.canary!.analyses) expect([a.window.source.errors, a.window.target.errors]).toEqual([0, 0]);
    expect(load?.byBackend.target).toBeGreaterThan(0);
    expect(load?.byBackend.source).toBeGreaterThan(0);
    // The adopted source was left running, and said so.
    expect(result.status.teardown).toMatchObject({ sourceEndpointStopped: false, sourceEndpointNote: expect.stringContaining('was left running') });
    expect(alive(mlserver.pid)).toBe(true);
    expect((await fetch(`${mlserver.url}/v2/models/fraud/ready`)).status).toBe(200);
  }, 300_000);

  it('rolls back when Triton dies mid-canary: traffic back on the source, MLServer untouched', async () => {
    const name = uniqueName('triton-dies');
    const result = await runWorkersUntil(await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, identity: 'real-servers' }), async () => {
      const handle = await start(specFor(name, { steps: [50, 100], intervalSeconds: 3 }));
      const stop = loadThrough(handle);
      await recordWhen(handle, (s) => s.canary?.targetPercent === 50, 180_000);
      const state = JSON.parse(readFileSync(join(STATE_DIR, 'triton', name, 'target', 'endpoint.json'), 'utf8')) as { pid: number };
      process.kill(state.pid, 'SIGKILL');
      const result = await migrationResult(handle);
      await stop();
      return result;
    });
    expect(result.outcome).toBe('rolledBack');
    expect(result.status.reason).toMatch(/canary step 50 % failed: target error rate/);
    expect(result.status.canary?.finalTargetPercent).toBe(0);
    expect(alive(mlserver.pid)).toBe(true);
    expect((await fetch(`${mlserver.url}/v2/health/ready`)).status).toBe(200);
  }, 300_000);

  it('catches a target that serves the classes swapped in the shadow through the servers, before any traffic moves', async () => {
    const name = uniqueName('swapped');
    const workers = await testWorkers(temporal, {
      queues: ['control', 'aws', 'gcp'],
      stores,
      identity: 'real-servers',
      faults: (migration, side) => (migration === name && side === 'target' ? { swapClasses: true } : undefined),
    });
    const result = await runWorkersUntil(workers, async () => migrationResult(await start(specFor(name, {}, 'cloudshift'))));
    expect(result.outcome).toBe('rolledBack');
    expect(result.status.reason).toMatch(/^the shadow gate failed: .*labelAgreement/);
    expect(result.status.canary).toBeUndefined();
    expect(alive(mlserver.pid)).toBe(true);
  }, 300_000);

  it('catches the same target by mirrored agreement when the shadow judged only the model files', async () => {
    const name = uniqueName('swapped-canary');
    const workers = await testWorkers(temporal, {
      queues: ['control', 'aws', 'gcp'],
      stores,
      identity: 'real-servers',
      faults: (migration, side) => (migration === name && side === 'target' ? { swapClasses: true } : undefined),
    });
    const result = await runWorkersUntil(workers, async () => {
      const spec = { ...specFor(name, { steps: [10, 100], thresholds: { minRequests: 5, maxP50LatencyRatio: 20, maxP99LatencyRatio: 20 } }, 'cloudshift'), shadow: { tolerances: WORKLOAD_TOLERANCES, through: 'models' } };
      const handle = await start(spec);
      const stop = loadThrough(handle);
      const result = await migrationResult(handle);
      await stop();
      return result;
    });
    expect(result.outcome).toBe('rolledBack');
    expect(result.status.shadow?.verdict?.passed).toBe(true);
    expect(result.status.reason).toMatch(/canary step 10 % failed: .*mirrored predictions agree on 0\.00 % of \d+ rows/);
    expect(result.status.canary?.finalTargetPercent).toBe(0);
    expect(alive(mlserver.pid)).toBe(true);
  }, 300_000);
});
