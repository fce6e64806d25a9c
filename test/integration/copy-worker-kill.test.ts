/**
 * A worker killed with SIGKILL while a large object is in flight: the batch is retried on a
 * restarted worker, resumes from its heartbeat, and does not copy finished objects again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, STATE_DIR } from '../../src/paths.js';
import { parseSpec } from '../../src/spec.js';
import type { CopyDataResult } from '../../src/workflows/copy-data.js';
import { CONTROL_TASK_QUEUE } from '../../src/workflows/definitions.js';
import { createWorkers, localActivityDeps } from '../../src/worker.js';
import { md5OfStream, patternMd5, patternStream, uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, type TemporalTestContext } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

let temporal: TemporalTestContext;
const stores = testResolver();
const MiB = 1024 * 1024;
const children: ChildProcess[] = [];

beforeAll(async () => {
  temporal = await connectTemporal();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await temporal?.close();
});

/** A worker process serving the cloud queues only; the test's own worker runs the workflows. */
function startCloudWorker(): ChildProcess {
  const log = openSync(join(STATE_DIR, 'logs', `kill-test-worker-${children.length}.log`), 'a');
  // One process (node with tsx as a loader), not the tsx launcher: SIGKILL to a launcher would
  // leave its worker child running.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts', '--queues', 'aws,gcp,azure,onprem'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', log, log],
  });
  children.push(child);
  return child;
}


describe('copy survives a killed worker', () => {
  it('resumes the batch from its heartbeat after SIGKILL, finished objects not copied twice', async () => {
    const srcBucket = uniqueBucket('kill-s');
    const dstBucket = uniqueBucket('kill-t');
    const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket: srcBucket });
    const target = stores.store({ cloud: 'gcp', profile: 'local-gcs', bucket: dstBucket });
    await Promise.all([source.ensureContainer(), target.ensureContainer()]);
    const small = Array.from({ length: 5 }, (_, i) => `a-${i}.bin`);
    await Promise.all(small.map((key, i) => source.write(key, patternStream(10_000, i + 1))));
    const largeSize = 120 * MiB + 3;
    await source.write('z-large.bin', patternStream(largeSize, 42));

    const parsed = parseSpec({
      name: 'kill',
      source: { cloud: 'aws', profile: 'local-s3', bucket: srcBucket },
      target: { cloud: 'gcp', profile: 'local-gcs', bucket: dstBucket },
      // One object at a time at 10 MiB/s: the small ones finish first, the large one takes ~12 s.
      copy: { concurrency: 1, bandwidthMiBps: 10, partSizeMiB: 8 },
    });
    if (!parsed.ok) throw new Error('bad spec');
    const { source: src, target: dst, copy } = parsed.spec;

    let first = startCloudWorker();
    const controlOnly = await createWorkers({
      connection: temporal.nativeConnection,
      namespace: 'default',
      queues: ['control'],
      activityDeps: localActivityDeps({ stores }),
      workflowBundle: temporal.workflowBundle,
    });
    const { result, versionsBefore } = await runWorkersUntil(controlOnly, async () => {
      const handle = await temporal.client.workflow.start('copyDataWorkflow', {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: `kill-${dstBucket}`,
        args: [{ migration: 'kill', source: src, target: dst, copy, mode: 'initial', heartbeatTimeoutSeconds: 5 }],
      });
      const versionsBefore = await eventually(async () => {
        const heads = await Promise.all(small.map((k) => target.head(k)));
        return heads.map((h) => h.version);
      }, 60_000);
      // Past the heartbeat throttle, so the finished indexes have reached the server.
      await new Promise((r) => setTimeout(r, 6000));
      await expect(target.head('z-large.bin')).rejects.toMatchObject({ kind: 'NotFound' });
      const killed = new Promise<NodeJS.Signals | null>((r) => first.once('exit', (_code, signal) => r(signal)));
      first.kill('SIGKILL');
      expect(await killed).toBe('SIGKILL');
      first = startCloudWorker();
      const result = (await handle.result()) as CopyDataResult;
      // The batch really was retried: its completion names an attempt after the first.
      const history = await handle.fetchHistory();
      const attempts = (history.events ?? []).map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
      return { result, versionsBefore };
    });
    const stopped = new Promise((r) => first.once('exit', r));
    first.kill('SIGTERM');
    await stopped;

    expect(result.progress).toMatchObject({ copiedObjects: 6, verifiedObjects: 6, mismatches: 0 });
    const versionsAfter = await Promise.all(small.map(async (k) => (await target.head(k)).version));
    expect(versionsAfter).toEqual(versionsBefore);
    expect(await md5OfStream(await target.read('z-large.bin'))).toEqual({ md5: patternMd5(largeSize, 42), size: largeSize });
  });
});
