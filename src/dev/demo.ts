/**
 * The README's main job: a whole migration on the local stack. Starts what is missing, seeds the
 * source cloud, runs a worker in this process, starts the migration as any client would, and
 * prints the result with the link to it in the Temporal Web UI.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { Readable } from 'node:stream';
import { mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { renderAuditReport } from '../audit/report.js';
import { MigrationClient, type Progress } from '../client/index.js';
import { progressLine, resultLines } from '../client/progress.js';
import { fetchReport } from '../client/report.js';
import type { MigrationStatus } from '../workflows/status.js';
import type { ObjectStore } from '../clouds/object-store.js';
import { StoreResolver } from '../clouds/profiles.js';
import { loadConfig } from '../config.js';
import type { Cloud, Dependency, MigrationSpecInput } from '../spec.js';
import { closeLocalDeps, createWorkers, localActivityDeps } from '../worker.js';
import { ensureStack, LOCAL_ENDPOINTS } from './local-stack.js';
import { STATE_DIR } from '../paths.js';
import { seedSignedArtifact, seedWorkload, WORKLOAD_TOLERANCES, workloadSpec } from './workload.js';

export const LOCAL_PROFILE_OF: Record<Cloud, string> = { aws: 'local-s3', gcp: 'local-gcs', azure: 'local-azure', onprem: 'local-fs' };

export interface DemoOptions {
  /** @default 'aws' */
  source?: Cloud;
  /** @default 'gcp' */
  target?: Cloud;
  /** Objects in the seeded data set. @default 3000 */
  objects?: number;
  /** Leave the approval gates to an operator (`cloudshift approve …`) instead of approving them itself. */
  waitForApproval?: boolean;
}

/** A typical deployment of the fraud detector on the source cloud, for the audit to read. */
function demoDeployment(source: Cloud): Dependency[] {
  const d = (kind: Dependency['kind'], service: string, name: string, settings: Dependency['settings'] = {}): Dependency => ({ kind, service, name, settings });
  switch (source) {
    case 'aws':
      return [d('mlService', 'sagemaker-endpoint', 'fraud-detector', { instanceType: 'ml.g5.xlarge' }), d('objectStorage', 's3', 'cloudshift-demo-source'), d('queue', 'sqs', 'scoring-requests'), d('secrets', 'secrets-manager', 'feature-store-password'), d('monitoring', 'cloudwatch', 'fraud-dashboard'), d('dns', 'route53', 'fraud.api.internal', { ttlSeconds: 60 })];
    case 'gcp':
      return [d('mlService', 'vertex-ai-endpoint', 'fraud-detector'), d('objectStorage', 'gcs', 'cloudshift-demo-source'), d('queue', 'pubsub', 'scoring-requests'), d('secrets', 'secret-manager', 'feature-store-password'), d('monitoring', 'cloud-monitoring', 'fraud-dashboard')];
    case 'azure':
      return [d('mlService', 'azureml-endpoint', 'fraud-detector'), d('objectStorage', 'blob-storage', 'cloudshift-demo-source'), d('queue', 'service-bus', 'scoring-requests'), d('secrets', 'key-vault', 'fraud-kv'), d('monitoring', 'azure-monitor', 'fraud-alerts')];
    case 'onprem':
      return [d('mlService', 'triton', 'fraud-detector'), d('compute', 'kubernetes', 'rack-a'), d('queue', 'kafka', 'scoring-requests'), d('secrets', 'vault', 'ml-secrets'), d('monitoring', 'prometheus', 'prom')];
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Seeds a data set of small feature-shard files, skipping what an earlier demo already wrote. */
async function seedDataSet(store: ObjectStore, prefix: string, count: number): Promise<void> {
  const existing = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await store.list(prefix, { cursor });
    for (const o of page.objects) existing.add(o.key);
    cursor = page.cursor;
  } while (cursor);
  const keys = Array.from({ length: count }, (_, i) => `${prefix}shard-${String(i).padStart(5, '0')}.csv`).filter((k) => !existing.has(k));
  const body = (i: number) => `id,amount,merchant,label\n${Array.from({ length: 20 }, (_, r) => `${i * 20 + r},${((i * 7919 + r * 104729) % 100000) / 100},m${(i + r) % 97},${(i + r) % 11 === 0 ? 1 : 0}`).join('\n')}\n`;
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        await store.write(key, Readable.from([Buffer.from(body(Number(key.match(/(\d+)\.csv$/)![1])))]), { contentType: 'text/csv' });
      }
    }),
  );
}

/** The migration report lives in the (emulated) target cloud; a copy on disk opens in a browser. */
async function saveMigrationReport(status: MigrationStatus): Promise<string> {
  const { bytes } = await fetchReport(status, 'html');
  const path = join(STATE_DIR, 'reports', `${status.name}.html`);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return path;
}

export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const source = options.source ?? 'aws';
  const target = options.target ?? 'gcp';
  const objects = options.objects ?? 3000;
  const log = (line: string) => console.log(`[demo] ${line}`);

  // The demo prints its own story; the SDK's worker lifecycle lines would drown it.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  await ensureStack({ log: (line) => log(`stack: ${line}`) });
  const config = loadConfig();
  const stores = new StoreResolver(config.profiles);

  const sourceLocation = { cloud: source, profile: LOCAL_PROFILE_OF[source], bucket: 'cloudshift-demo-source', prefix: 'fraud-detector/' };
  const sourceStore = stores.store(sourceLocation);
  await sourceStore.ensureContainer();
  log(`seeding the model, its holdout set and ${objects} data objects into ${sourceStore.uri}/${sourceLocation.prefix}`);
  await seedWorkload(sourceStore, sourceLocation.prefix);
  // The model travels signed: a key of the demo's own in the keys folder, the bundle over the model folder.
  const artifact = await seedSignedArtifact(sourceStore, sourceLocation.prefix, config.keysDir, 'cloudshift-demo');
  log(`signed the model folder with the key "cloudshift-demo" (${config.keysDir}); each worker verifies it with the public half`);
  await seedDataSet(sourceStore, `${sourceLocation.prefix}data/`, objects);

  const now = new Date();
  const stamp = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}-${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  const name = `demo-${source}-to-${target}-${stamp}`;
  const spec: MigrationSpecInput = {
    name,
    source: sourceLocation,
    // A prefix per run, so every demo copies (and verifies) the whole data set afresh.
    target: { cloud: target, profile: LOCAL_PROFILE_OF[target], bucket: 'cloudshift-demo-target', prefix: `${name}/` },
    workload: { ...workloadSpec(), artifact },
    shadow: { tolerances: WORKLOAD_TOLERANCES },
    deployment: { dependencies: demoDeployment(source) },
    // Real requests for every step: the holdout's rows, sent by the canary's own load activity
    // through the HAProxy data plane, as a user who starts from the Web UI gets them.
    canary: { steps: [1, 5, 25, 50, 100], intervalSeconds: 3, load: { requestsPerSecond: 200, concurrency: 4 } },
    // The demo's audit finds blocking items (it is a real SageMaker-style deployment): a person
    // acknowledges them, and approves the teardown, the point of no return.
    approval: { onBlockingFindings: 'approve', beforeTeardown: 'manual' },
  };

  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const deps = localActivityDeps({ stores, keysDir: config.keysDir });
  const workers = await createWorkers({ connection, namespace: config.temporal.namespace, queues: config.queues, activityDeps: deps });
  const runs = workers.map((w) => w.run());
  const client = await MigrationClient.connect(config.temporal.address, config.temporal.namespace);
  const approved = new Set<string>();
  try {
    const { workflowId } = await client.startMigration(spec);
    log(`started ${workflowId}: ${source} → ${target}`);
    log(`watch it: ${LOCAL_ENDPOINTS.temporalUi}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`);
    let last = '';
    const onProgress = (progress: Progress) => {
      const { status } = progress;
      const line = progressLine(progress);
      if (line !== last) log((last = line));
      const gate = status.pendingGate;
      if (gate && !approved.has(`${gate.phase}@${gate.since}`)) {
        approved.add(`${gate.phase}@${gate.since}`);
        if (options.waitForApproval) {
          log(`waiting for you: cloudshift approve ${workflowId} --phase ${gate.phase}   (or: cloudshift rollback ${workflowId} --reason …)`);
        } else {
          log(`approving the ${gate.phase} gate as ${userInfo().username} (run with --wait-for-approval to decide yourself)`);
          client.approve(workflowId, { by: userInfo().username, phase: gate.phase, comment: 'approved by the demo' }).then(
            (reply) => log(`the migration answered: ${reply.message}`),
            (error: unknown) => log(`the approval was not taken: ${error instanceof Error ? error.message : String(error)}`),
          );
        }
      }
    };
    const result = await client.followMigration(workflowId, onProgress, 500);
    if (result.status.audit) console.log(`\n${renderAuditReport(result.status.audit)}\n`);
    console.log(resultLines(result.status).join('\n'));
    // The copy's figures are in resultLines' summary; the manifest's place is not.
    if (result.status.copy?.manifestPrefix) log(`manifest: ${result.status.copy.manifestPrefix}`);
    if (result.status.canary) log(`traffic: went through ${result.status.canary.trafficUrl} (HAProxy; Prometheus at http://127.0.0.1:9090 holds every step's metrics); the data plane ${result.status.canary.released ?? 'is still held'}`);
    log(`${result.outcome}: ${result.status.phases.filter((p) => p.state === 'succeeded').map((p) => p.phase).join(' → ')}`);
    const report = await saveMigrationReport(result.status).catch((error: unknown) => `not saved (${error instanceof Error ? error.message : String(error)})`);
    log(`the migration report: ${result.status.report?.html ?? '(not written)'}; for your browser: ${report}`);
    log(`in the Temporal Web UI: ${LOCAL_ENDPOINTS.temporalUi}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`);
    log('the stack stays up for the Web UI; stop it with: bash scripts/stack.sh stop');
    return result.outcome === 'completed' ? 0 : 4;
  } finally {
    for (const w of workers) w.shutdown();
    await Promise.all(runs);
    await closeLocalDeps(deps);
    await client.close();
    await connection.close();
  }
}
