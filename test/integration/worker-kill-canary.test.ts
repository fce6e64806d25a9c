/**
 * Production never depends on the orchestrator's process: a worker killed with SIGKILL in the
 * middle of a canary leaves both endpoints and the data plane answering (every request through
 * it answered while no worker runs), and a new worker takes the migration on to the end,
 * adopting the endpoints the dead one started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationResult } from '../../src/client/index.js';
import { LocalEndpointDeployer } from '../../src/endpoints/deployer.js';
import { holdoutRows, seedWorkload } from '../../src/dev/workload.js';
import { PROJECT_ROOT, STATE_DIR } from '../../src/paths.js';
import { LoadGenerator } from '../../src/traffic/load.js';
import { approveUpdate, CONTROL_TASK_QUEUE, MIGRATION_WORKFLOW_TYPE } from '../../src/workflows/definitions.js';
import { uniqueBucket } from '../support/data.js';
import { recordWhen } from '../support/record.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, type TemporalTestContext } from '../support/temporal.js';
import { workloadMigration } from '../support/workload-migration.js';

let temporal: TemporalTestContext;
const stores = testResolver();
const workers: ChildProcess[] = [];
let migration: string | undefined;

beforeAll(async () => {
  temporal = await connectTemporal();
});
afterAll(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  // The target endpoint serves on after its migration, as production would: the test stops it.
  if (migration) {
    const endpoints = new LocalEndpointDeployer({ stateDir: join(STATE_DIR, 'endpoints') });
    await Promise.all([endpoints.stop(migration, 'source'), endpoints.stop(migration, 'target')]);
  }
  await temporal?.close();
});

/** A whole worker as users start it (every queue), in a process of its own. */
function startWorker(): ChildProcess {
  mkdirSync(join(STATE_DIR, 'logs'), { recursive: true });
  const log = openSync(join(STATE_DIR, 'logs', `canary-kill-worker-${workers.length}.log`), 'a');
  const worker = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], { cwd: PROJECT_ROOT, stdio: ['ignore', log, log] });
  workers.push(worker);
  return worker;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a worker killed mid-canary', () => {
  it('leaves traffic answered while no worker runs, and a new worker completes the migration', async () => {
    const bucket = uniqueBucket('ckill');
    const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
    await source.ensureContainer();
    await seedWorkload(source, 'fraud/');
    const name = `canary-kill-${randomBytes(4).toString('hex')}`;
    migration = name;
    const spec = {
      ...workloadMigration(name, bucket),
      canary: { steps: [50, 100], intervalSeconds: 2, thresholds: { minRequests: 10, maxP50LatencyRatio: 20, maxP99LatencyRatio: 20 } },
      approval: { betweenCanarySteps: 'manual', beforeTeardown: 'auto' },
    };
    const first = startWorker();
    const handle = await temporal.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { taskQueue: CONTROL_TASK_QUEUE, workflowId: name, args: [spec] });
    // Traffic from the moment the data plane exists: the first step is judged on it.
    const routed = await recordWhen(handle, (s) => s.canary?.trafficUrl, 240_000);
    const load = new LoadGenerator({ url: routed.canary!.trafficUrl, rows: holdoutRows(), rps: 50, concurrency: 2 }).start();
    await recordWhen(handle, (s) => s.pendingGate?.phase === 'canary', 120_000);

    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const before = { sent: load.tally.sent, errors: load.tally.errors, byBackend: { ...load.tally.byBackend } };
    await sleep(4000);
    const during = { sent: load.tally.sent - before.sent, errors: load.tally.errors - before.errors };
    // No worker ran for those 4 s; both endpoints and the data plane did.
    expect(during.sent).toBeGreaterThan(100);
    expect(during.errors).toBe(0);
    expect(load.tally.byBackend.target ?? 0).toBeGreaterThan(before.byBackend.target ?? 0);
    expect(load.tally.byBackend.source ?? 0).toBeGreaterThan(before.byBackend.source ?? 0);

    startWorker();
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'oncall', phase: 'canary', comment: 'worker replaced' }] });
    await recordWhen(handle, (s) => s.phase === 'teardown' || s.state !== 'running', 240_000);
    await load.stop();
    const result = await migrationResult(handle);
    expect(result.outcome, result.status.reason).toBe('completed');
    expect(result.status.canary?.analyses.map((a) => [a.targetPercent, a.verdict])).toEqual([[50, 'passed'], [100, 'passed']]);
    for (const a of result.status.canary!.analyses) expect([a.window.source.errors, a.window.target.errors]).toEqual([0, 0]);
  }, 600_000);
});
