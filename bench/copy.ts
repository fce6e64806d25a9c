/**
 * Copy throughput, S3 (MinIO) → GCS (fake-gcs-server), on the same emulators and data:
 * - cloudshift: copyDataWorkflow on the dev server (listing, batches, verify pass, manifest);
 * - rclone: `rclone copy` with the same concurrency (--transfers/--checkers);
 * - raw: a bare SDK loop, GetObject stream → GCS upload, same concurrency, no Temporal and no
 *   verification: the limit.
 * Prints one JSON line per workload: the medians over BENCH_COPY_ROUNDS rounds (3 unless told),
 * each tool once a round in a turning order, and every run's seconds. Throughputs are MiB/s;
 * object rates objects/s.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { countCpu, type CpuSeconds } from './cpu-time.js';
import { StoreResolver } from '../src/clouds/profiles.js';
import { bundleInChild } from '../src/workflow-bundle.js';
import { loadConfig } from '../src/config.js';
import { ensureStack, LOCAL_ENDPOINTS } from '../src/dev/local-stack.js';
import { STATE_DIR } from '../src/paths.js';
import { parseSpec } from '../src/spec.js';
import type { CopyDataResult } from '../src/workflows/copy-data.js';
import { CONTROL_TASK_QUEUE } from '../src/workflows/definitions.js';
import { createWorkers, localActivityDeps } from '../src/worker.js';

const MiB = 1024 * 1024;
const CONCURRENCY = 16;
const WORKLOADS = [
  { workload: 'large', objects: 16, size: 64 * MiB },
  { workload: 'small', objects: 10_000, size: 4 * 1024 },
] as const;

Runtime.install({ logger: new DefaultLogger('WARN') });
const log = (line: string) => console.error(`[bench copy] ${line}`);
await ensureStack({ log });
const config = loadConfig();
const stores = new StoreResolver(config.profiles);
const credentials = JSON.parse(readFileSync(join(STATE_DIR, 'minio-credentials.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
const s3 = new S3Client({ region: 'us-east-1', endpoint: LOCAL_ENDPOINTS.s3, forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
const gcs = new Storage({ projectId: 'cloudshift-local', apiEndpoint: LOCAL_ENDPOINTS.gcs });

async function seed(bucket: string, objects: number, size: number): Promise<void> {
  const store = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
  await store.ensureContainer();
  let present = 0;
  let cursor: string | undefined;
  do {
    const page = await store.list('', { cursor });
    present += page.objects.length;
    cursor = page.cursor;
  } while (cursor);
  if (present === objects) return;
  log(`seeding s3://${bucket}: ${objects} × ${size} bytes`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < objects) {
        const i = next++;
        await store.write(`obj-${String(i).padStart(6, '0')}`, Readable.from([randomBytes(size)]), { size });
      }
    }),
  );
}

async function timed(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

async function freshTarget(label: string): Promise<string> {
  const bucket = `bench-${label}-${randomBytes(3).toString('hex')}`;
  await gcs.createBucket(bucket);
  return bucket;
}

/**
 * Workers start once, before any timing, as they run in a deployment (bundling the workflow code
 * alone takes seconds); the timed part is the copy workflow from start to verified result.
 */
async function startCloudshift(): Promise<{ run: (source: string, target: string) => Promise<void>; stop: () => Promise<void> }> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  // The workflow code bundled in a child, as scripts/worker.sh does: bundled here, webpack's
  // leftovers stayed in this heap and every full collection during a copy walked them.
  const workflowBundle = await bundleInChild();
  const workers = await createWorkers({ connection, namespace: 'default', queues: ['control', 'aws', 'gcp'], activityDeps: localActivityDeps({ stores }), workflowBundle });
  const runs = workers.map((w) => w.run());
  const client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  const run = async (source: string, target: string) => {
    const parsed = parseSpec({
      name: 'bench',
      source: { cloud: 'aws', profile: 'local-s3', bucket: source },
      target: { cloud: 'gcp', profile: 'local-gcs', bucket: target },
      copy: { concurrency: CONCURRENCY },
    });
    if (!parsed.ok) throw new Error('bad bench spec');
    const handle = await client.workflow.start('copyDataWorkflow', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: `bench-copy-${target}`,
      args: [{ migration: 'bench', source: parsed.spec.source, target: parsed.spec.target, copy: parsed.spec.copy, mode: 'initial' }],
    });
    const result = (await handle.result()) as CopyDataResult;
    if (result.progress.mismatches || result.progress.verifiedObjects === 0) throw new Error(`cloudshift copy did not verify: ${JSON.stringify(result.progress)}`);
  };
  const stop = async () => {
    for (const w of workers) w.shutdown();
    await Promise.all(runs);
    await client.connection.close();
    await connection.close();
  };
  return { run, stop };
}

async function runRclone(source: string, target: string): Promise<void> {
  await promisify(execFile)(
    join(STATE_DIR, 'venv', 'bin', 'rclone'),
    ['copy', `src:${source}`, `dst:${target}`, '--transfers', String(CONCURRENCY), '--checkers', String(CONCURRENCY)],
    {
      env: {
        ...process.env,
        RCLONE_CONFIG_SRC_TYPE: 's3',
        RCLONE_CONFIG_SRC_PROVIDER: 'Minio',
        RCLONE_CONFIG_SRC_ENDPOINT: LOCAL_ENDPOINTS.s3,
        RCLONE_CONFIG_SRC_ACCESS_KEY_ID: credentials.accessKeyId,
        RCLONE_CONFIG_SRC_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        RCLONE_CONFIG_DST_TYPE: 'gcs',
        RCLONE_CONFIG_DST_ENDPOINT: `${LOCAL_ENDPOINTS.gcs}/storage/v1/`,
        RCLONE_CONFIG_DST_ANONYMOUS: 'true',
        RCLONE_CONFIG_DST_PROJECT_NUMBER: 'cloudshift-local',
        RCLONE_CONFIG_DST_BUCKET_POLICY_ONLY: 'true',
      },
      maxBuffer: 64 * MiB,
    },
  );
}

async function runRaw(source: string, target: string, partSize: number): Promise<void> {
  const keys: { key: string; size: number }[] = [];
  const store = stores.store({ cloud: 'aws', profile: 'local-s3', bucket: source });
  let cursor: string | undefined;
  do {
    const page = await store.list('', { cursor });
    keys.push(...page.objects.map((o) => ({ key: o.key, size: o.size })));
    cursor = page.cursor;
  } while (cursor);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < keys.length) {
        const { key, size } = keys[next++]!;
        const object = await s3.send(new GetObjectCommand({ Bucket: source, Key: key }));
        await pipeline(object.Body as Readable, gcs.bucket(target).file(key).createWriteStream({ resumable: size > partSize, validation: false }));
      }
    }),
  );
}

// For working on one side: BENCH_COPY_WORKLOADS=large BENCH_COPY_TOOLS=cloudshift (figures for the
// tools left out are printed as null).
const only = (name: string) => process.env[name]?.split(',').filter(Boolean);
const workloads = only('BENCH_COPY_WORKLOADS');
const tools = only('BENCH_COPY_TOOLS');
const wanted = (tool: string) => !tools || tools.includes(tool);
// Each tool runs once per round, the order turning by one each round, and the median counts:
// on two shared cores one run varies by ±20 %, and whichever tool runs after another's copy of
// the same data meets the emulators still writing it back.
const ROUNDS = Number(process.env.BENCH_COPY_ROUNDS ?? 3);
const TOOLS = ['raw', 'rclone', 'cloudshift'] as const;
type Tool = (typeof TOOLS)[number];

const median = (xs: number[]) => {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const cloudshift = await startCloudshift();
for (const w of WORKLOADS.filter((w) => !workloads || workloads.includes(w.workload))) {
  const source = `bench-src-${w.workload}`;
  await seed(source, w.objects, w.size);
  const bytes = w.objects * w.size;
  const runners: Record<Tool, (target: string) => Promise<void>> = {
    raw: (target) => runRaw(source, target, 16 * MiB),
    rclone: (target) => runRclone(source, target),
    cloudshift: (target) => cloudshift.run(source, target),
  };
  const measure = async (tool: Tool) => {
    const target = await freshTarget(`${tool}-${w.workload}`);
    try {
      const cpu = countCpu();
      const seconds = await timed(() => runners[tool](target));
      return { seconds, cpu: cpu() };
    } finally {
      // Gone again, also after a failed run, or each run leaves another GiB in the emulator's
      // data folder (and slows every later listing of it).
      await gcs.bucket(target).deleteFiles({ force: true });
      await gcs.bucket(target).delete();
    }
  };
  const samples: Record<Tool, number[]> = { raw: [], rclone: [], cloudshift: [] };
  const cpuSamples: Record<Tool, CpuSeconds[]> = { raw: [], rclone: [], cloudshift: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const tool of TOOLS.map((_, i) => TOOLS[(i + round) % TOOLS.length]!).filter(wanted)) {
      const { seconds, cpu } = await measure(tool);
      samples[tool].push(seconds);
      cpuSamples[tool].push(cpu);
      log(`${w.workload} round ${round + 1}/${ROUNDS}: ${tool} ${seconds.toFixed(1)} s, CPU s ${JSON.stringify(cpu)}`);
    }
  }
  const seconds = { raw: median(samples.raw), rclone: median(samples.rclone), cloudshift: median(samples.cloudshift) };
  const figure = (value: number, digits: number) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);
  const mbps = (s: number) => figure(bytes / MiB / s, 2);
  const objps = (s: number) => figure(w.objects / s, 1);
  console.log(
    JSON.stringify({
      bench: 'copy',
      workload: w.workload,
      objects: w.objects,
      bytes,
      cloudshift_mbps: mbps(seconds.cloudshift),
      rclone_mbps: mbps(seconds.rclone),
      raw_mbps: mbps(seconds.raw),
      cloudshift_objps: objps(seconds.cloudshift),
      rclone_objps: objps(seconds.rclone),
      raw_objps: objps(seconds.raw),
      ratio_vs_rclone: figure(seconds.rclone / seconds.cloudshift, 3),
      ratio_vs_raw: figure(seconds.raw / seconds.cloudshift, 3),
      rounds: ROUNDS,
      seconds: Object.fromEntries(TOOLS.map((t) => [t, samples[t].map((s) => figure(s, 2))])),
      // Per run, in the same order: CPU seconds of the machine, this process (bench and
      // cloudshift's workers), each emulator, the Temporal server, and the rest (rclone itself).
      cpu_seconds: Object.fromEntries(TOOLS.map((t) => [t, cpuSamples[t]])),
    }),
  );
}
await cloudshift.stop();
process.exit(0);
