/**
 * A real data-only migration at scale, through the real stores: N small objects S3 (MinIO) →
 * GCS (fake-gcs-server) on the local stack, run by a worker in a process of its own so its memory
 * is its own. Prints one JSON line per size: seconds per stage (copy, catch-up, the whole
 * migration) and the worker's peak resident memory, sampled every 250 ms and read from the
 * kernel's high-water mark (VmHWM). The source is seeded once per size and kept for later runs;
 * each run copies to a fresh target bucket. BENCH_SCALE_REAL sets the sizes (default 10000,100000;
 * "0" skips the real runs).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { MigrationClient, migrationResult } from '../src/client/index.js';
import { StoreResolver } from '../src/clouds/profiles.js';
import { loadConfig } from '../src/config.js';
import { PROJECT_ROOT } from '../src/paths.js';
import type { MigrationStatus } from '../src/workflows/status.js';

const SIZE = 4096;
const log = (line: string) => console.error(`[bench scale] ${line}`);

const sizes = (process.env.BENCH_SCALE_REAL ?? '10000,100000')
  .split(',')
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0);

const config = loadConfig();
const stores = new StoreResolver(config.profiles);

/** Seeds `count` 4 KiB objects once; a bucket that already holds them is reused. */
async function seed(bucket: string, count: number): Promise<void> {
  const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
  await source.ensureContainer();
  let present = 0;
  for (let cursor: string | undefined, first = true; first || cursor; first = false) {
    const page = await source.list('data/', { cursor, pageSize: 1000 });
    present += page.objects.length;
    cursor = page.cursor;
  }
  if (present >= count) return log(`${bucket}: ${present} objects already seeded`);
  log(`${bucket}: seeding ${count} objects`);
  const body = Buffer.alloc(SIZE, 7);
  let next = present;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++;
        await source.write(`data/obj-${String(i).padStart(7, '0')}.bin`, Readable.from([body]), { size: SIZE });
      }
    }),
  );
}

/** The worker's resident memory now and its peak, from /proc. */
function memoryOf(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(/^\S+:\s+(\d+) kB$/m.exec(status.split('\n').find((l) => l.startsWith(field)) ?? '')?.[1] ?? 0) * 1024;
    return { rss: kib('VmRSS:'), hwm: kib('VmHWM:') };
  } catch {
    return undefined;
  }
}

const seconds = (from?: string, to?: string) => (from && to ? Number(((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)) : undefined);

async function run(count: number): Promise<void> {
  const sourceBucket = `bench-scale-src-${count}`;
  await seed(sourceBucket, count);
  // As users run it (scripts/worker.sh, heap cap included); the script execs node, so /proc
  // shows the worker itself, not a launcher.
  const worker = spawn('bash', ['scripts/worker.sh', '--queues', 'all'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CLOUDSHIFT_METRICS_ADDRESS: '' } });
  let heapLimitMiB: number | undefined;
  worker.stdout!.on('data', (chunk: Buffer) => {
    const limit = /V8 heap limit (\d+) MiB/.exec(chunk.toString());
    if (limit) heapLimitMiB = Number(limit[1]);
  });
  let peakRss = 0;
  const sampler = setInterval(() => {
    const m = worker.pid ? memoryOf(worker.pid) : undefined;
    if (m) peakRss = Math.max(peakRss, m.rss, m.hwm);
  }, 250);
  const client = await MigrationClient.connect(config.temporal.address, config.temporal.namespace);
  // What the worker holds before any migration (runtime, SDKs, the workflow bundle): the floor.
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  const idleRss = (worker.pid ? memoryOf(worker.pid)?.rss : undefined) ?? 0;
  try {
    const name = `bench-scale-${count}-${randomBytes(3).toString('hex')}`;
    const spec = {
      name,
      source: { cloud: 'aws', profile: 'local-s3', bucket: sourceBucket, prefix: 'data/' },
      target: { cloud: 'gcp', profile: 'local-gcs', bucket: `bench-scale-dst-${randomBytes(4).toString('hex')}`, prefix: 'data/' },
      audit: { throughputMiBps: 50 },
      copy: { concurrency: 16, batchSize: 256 },
      approval: { beforeTeardown: 'auto' },
      teardown: { deleteSourceData: false },
    };
    log(`${count} objects: ${name}`);
    const started = performance.now();
    await client.startMigration(spec as never);
    const result = await migrationResult(client.handle(name));
    const total = (performance.now() - started) / 1000;
    const status: MigrationStatus = result.status;
    const phase = (p: string) => status.phases.find((r) => r.phase === p);
    const copy = status.copy?.progress;
    const catchUp = status.teardown?.catchUp?.progress;
    if (result.outcome !== 'completed' || copy?.verifiedObjects !== count || catchUp?.verifiedObjects !== count) {
      throw new Error(`the run did not copy and verify every object: ${result.outcome}, ${JSON.stringify({ copy, catchUp })}`);
    }
    const m = worker.pid ? memoryOf(worker.pid) : undefined;
    if (m) peakRss = Math.max(peakRss, m.hwm);
    console.log(
      JSON.stringify({
        bench: 'scale-real',
        objects: count,
        object_bytes: SIZE,
        seconds_total: Number(total.toFixed(1)),
        seconds_audit: seconds(phase('audit')?.startedAt, phase('audit')?.endedAt),
        seconds_copy_phase: seconds(phase('copyData')?.startedAt, phase('copyData')?.endedAt),
        seconds_copy: Number((status.copy?.seconds ?? 0).toFixed(1)),
        copy_objects_per_s: Math.round(count / (status.copy?.seconds ?? Infinity)),
        seconds_teardown_phase: seconds(phase('teardown')?.startedAt, phase('teardown')?.endedAt),
        seconds_catch_up: Number((status.teardown?.catchUp?.seconds ?? 0).toFixed(1)),
        catch_up_unchanged: catchUp?.unchangedObjects ?? 0,
        catch_up_copied: catchUp?.copiedObjects ?? 0,
        catch_up_share_of_copy: Number(((status.teardown?.catchUp?.seconds ?? 0) / (status.copy?.seconds ?? 1)).toFixed(3)),
        worker_heap_limit_mib: heapLimitMiB ?? null,
        worker_idle_rss_mib: Math.round(idleRss / 1024 / 1024),
        worker_peak_rss_mib: Math.round(peakRss / 1024 / 1024),
      }),
    );
  } finally {
    clearInterval(sampler);
    await client.close();
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
}

export async function runRealScale(): Promise<void> {
  for (const count of sizes) await run(count);
}
