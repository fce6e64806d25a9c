/**
 * The copy workflow's side of "carry a migration of 1,000,000 objects": copyDataWorkflow on the
 * real dev server over a listing of a million objects, with stand-in activities on the cloud
 * queues that answer from arithmetic instead of storage (a page of keys from its cursor, a batch
 * counted as copied, a verify page counted as matching). What it measures is the orchestration:
 * how many runs continue-as-new makes, how long each run's history grows, how large an activity's
 * input gets, and how long the workflow itself takes to drive a million objects. The storage side
 * is measured by `bench copy` and tested at 20,000 objects.
 * Prints one JSON line. BENCH_SCALE_OBJECTS sets the count (default 1,000,000). Then the real runs
 * of scale-real.ts (a data-only migration through MinIO and fake-gcs-server, BENCH_SCALE_REAL).
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import type { CopyBatchInput, CopyBatchResult, ListPageInput, ListPageResult, VerifyPageInput, VerifyPageResult } from '../src/activities/copy-data.js';
import { loadConfig } from '../src/config.js';
import { ensureStack } from '../src/dev/local-stack.js';
import { parseSpec } from '../src/spec.js';
import type { CopyDataResult } from '../src/workflows/copy-data.js';
import { CONTROL_TASK_QUEUE, taskQueueFor } from '../src/workflows/definitions.js';
import { createWorkers, localActivityDeps } from '../src/worker.js';
import { StoreResolver } from '../src/clouds/profiles.js';
import { runRealScale } from './scale-real.js';

const OBJECTS = Number(process.env.BENCH_SCALE_OBJECTS ?? 1_000_000);
const SIZE = 4096;
const log = (line: string) => console.error(`[bench scale] ${line}`);

Runtime.install({ logger: new DefaultLogger('WARN') });
await ensureStack({ log });
const config = loadConfig();

let largestInput = 0;
let activities = 0;
const measured = <I, O>(run: (input: I) => O) => (input: I): O => {
  activities++;
  largestInput = Math.max(largestInput, Buffer.byteLength(JSON.stringify(input)));
  return run(input);
};
/** The page a cursor stands for: keys from the cursor's index on. */
const page = (cursor: string | undefined, pageSize: number) => {
  const start = cursor ? Number(cursor) : 0;
  const end = Math.min(OBJECTS, start + pageSize);
  return { start, end, cursor: end < OBJECTS ? String(end) : undefined };
};
const standIns = {
  listSourcePage: measured(async (input: ListPageInput): Promise<ListPageResult> => {
    const { start, end, cursor } = page(input.cursor, input.pageSize);
    const objects = Array.from({ length: end - start }, (_, i) => ({ key: `data/part-${String(start + i).padStart(7, '0')}.bin`, size: SIZE, version: `"${(start + i).toString(16)}"` }));
    return { objects, ...(cursor ? { cursor } : {}) };
  }),
  copyBatch: measured(async (input: CopyBatchInput): Promise<CopyBatchResult> => ({
    copied: input.objects.length,
    copiedBytes: input.objects.length * SIZE,
    skipped: 0,
    skippedBytes: 0,
    vanished: [],
  })),
  verifyPage: measured(async (input: VerifyPageInput): Promise<VerifyPageResult> => {
    const { start, end, cursor } = page(input.cursor, input.pageSize);
    return { objects: end - start, bytes: (end - start) * SIZE, mismatches: 0, mismatchKeys: [], ...(cursor ? { cursor } : {}) };
  }),
};

// BENCH_SCALE_OBJECTS=0 skips the stand-in run (the real runs below still go).
if (OBJECTS > 0) {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const [control] = await createWorkers({ connection, namespace: 'default', queues: ['control'], activityDeps: localActivityDeps({ stores: new StoreResolver(config.profiles) }) });
  const clouds = await Promise.all(
    (['aws', 'gcp'] as const).map((cloud) => Worker.create({ connection, namespace: 'default', taskQueue: taskQueueFor(cloud), activities: standIns })),
  );
  const workers = [control!, ...clouds];
  const running = workers.map((w) => w.run());
  const client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });

  const parsed = parseSpec({
    name: 'scale',
    source: { cloud: 'aws', profile: 'local-s3', bucket: 'scale-source' },
    target: { cloud: 'gcp', profile: 'local-gcs', bucket: 'scale-target' },
    copy: { batchSize: 1000, concurrency: 16 },
  });
  if (!parsed.ok) throw new Error('bad scale spec');
  const workflowId = `bench-scale-${randomBytes(3).toString('hex')}`;
  log(`${OBJECTS} objects through ${workflowId}`);
  const started = performance.now();
  const handle = await client.workflow.start('copyDataWorkflow', {
    taskQueue: CONTROL_TASK_QUEUE,
    workflowId,
    args: [{ migration: 'scale', source: parsed.spec.source, target: parsed.spec.target, copy: parsed.spec.copy, mode: 'initial' }],
  });
  const result = (await handle.result()) as CopyDataResult;
  const seconds = (performance.now() - started) / 1000;

  const runs: number[] = [];
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(execution.historyLength);
  for (const w of workers) w.shutdown();
  await Promise.all(running);

  const p = result.progress;
  if (p.copiedObjects !== OBJECTS || p.verifiedObjects !== OBJECTS) throw new Error(`the workflow lost count: ${JSON.stringify(p)}`);
  console.log(
    JSON.stringify({
      bench: 'scale',
      objects: OBJECTS,
      listed: p.listedObjects,
      copied: p.copiedObjects,
      verified: p.verifiedObjects,
      seconds: Number(seconds.toFixed(1)),
      objects_per_s: Math.round(OBJECTS / seconds),
      runs: runs.length,
      max_history_events: Math.max(...runs),
      activities,
      largest_activity_input_bytes: largestInput,
    }),
  );
}

await runRealScale();
process.exit(0);
