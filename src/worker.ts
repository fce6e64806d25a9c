/**
 * The cloudshift worker. Serves the control queue (workflows and control activities) and the
 * per-cloud queues it is told to: `--queues control,aws` or CLOUDSHIFT_QUEUES; locally one worker
 * serves them all. SIGINT or SIGTERM drains in-flight tasks and exits cleanly (the Temporal
 * runtime installs those handlers and shuts every worker down).
 */
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { hostname } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { requireSearchAttributes } from './client/search-attributes.js';
import { fileURLToPath } from 'node:url';
import { bundleInChild, WORKFLOWS_PATH } from './workflow-bundle.js';
import { createActivities, type ActivityDeps } from './activities/index.js';
import { errorBoundary } from './activities/failures.js';
import { join } from 'node:path';
import { StoreResolver } from './clouds/profiles.js';
import { loadConfig, type QueueSelector, taskQueueOf } from './config.js';
import { STATE_DIR } from './paths.js';
import { type LocalDeployerOptions, LocalEndpointDeployer, ServingStacks } from './endpoints/deployer.js';
import { TritonDeployer } from './endpoints/triton.js';
import { HaproxyRouter } from './traffic/haproxy.js';
import { PrometheusClient } from './traffic/prometheus.js';
import { removeDeadWorkersTargets, removeScrapeTargets, writeScrapeTargets } from './traffic/discovery.js';
import { alive } from './processes.js';
import { Route53Router } from './traffic/route53.js';
import type { TrafficRouter } from './traffic/router.js';
import type { RouterSpec } from './activities/canary.js';

export { WORKFLOWS_PATH } from './workflow-bundle.js';

export interface LocalDeps {
  stores: StoreResolver;
  /** Where the data plane keeps each migration's configuration and route. @default .stack */
  stateDir?: string;
  /** @default http://127.0.0.1:9090 (the local stack's) */
  prometheusUrl?: string;
  /** @default .stack/prometheus/targets (the folder the local stack's Prometheus watches) */
  scrapeTargetsDir?: string;
  /** @default 18080–18199 */
  dataPlanePorts?: { first: number; last: number };
  pageSize?: number;
  /** Where trusted public keys are found by name. @default <stateDir>/keys */
  keysDir?: string;
  faults?: LocalDeployerOptions['faults'];
  largeObjectsAtOnce?: number;
  /** Where endpoints and data planes listen, and the host others reach them at. @default 127.0.0.1 for both */
  network?: { listenHost: string; advertiseHost: string };
}

/**
 * Activity dependencies for a worker that runs endpoints and the data plane itself: the local
 * stack's way, and a single-host deployment's. Close them with `closeLocalDeps` when the worker stops.
 */
export function localActivityDeps(options: LocalDeps): ActivityDeps & { deployer: ServingStacks; haproxy: HaproxyRouter } {
  const dir = join(options.stateDir ?? STATE_DIR, 'dataplane');
  const ports = options.dataPlanePorts ?? { first: 18_080, last: 18_199 };
  const network = options.network ?? { listenHost: '127.0.0.1', advertiseHost: '127.0.0.1' };
  const haproxy = new HaproxyRouter({ dir, ports, host: network.listenHost, advertiseHost: network.advertiseHost });
  // One Route 53 client per zone and name; HAProxy is one router whatever port a spec chooses.
  const route53 = new Map<string, Route53Router>();
  const routerFor = (spec: RouterSpec): TrafficRouter => {
    if (spec.kind === 'haproxy') return spec.port === undefined ? haproxy : haproxy.atPort(spec.port);
    const key = JSON.stringify(spec);
    let router = route53.get(key);
    if (!router) {
      router = new Route53Router({ profile: options.stores.awsProfile(spec.profile), hostedZoneId: spec.hostedZoneId, recordName: spec.recordName, ttlSeconds: spec.ttlSeconds });
      route53.set(key, router);
    }
    return router;
  };
  return {
    stores: options.stores,
    keysDir: options.keysDir ?? join(options.stateDir ?? STATE_DIR, 'keys'),
    pageSize: options.pageSize,
    largeObjectsAtOnce: options.largeObjectsAtOnce,
    deployer: new ServingStacks({
      cloudshift: new LocalEndpointDeployer({ stateDir: join(options.stateDir ?? STATE_DIR, 'endpoints'), faults: options.faults, host: network.listenHost, advertiseHost: network.advertiseHost }),
      triton: new TritonDeployer({
        stateDir: join(options.stateDir ?? STATE_DIR, 'triton'),
        profileOf: (location) => options.stores.profileOf(location),
        host: network.listenHost,
        advertiseHost: network.advertiseHost,
      }),
    }),
    haproxy,
    routerFor,
    prometheus: new PrometheusClient(options.prometheusUrl ?? 'http://127.0.0.1:9090'),
    scrapeTargetsDir: options.scrapeTargetsDir ?? join(STATE_DIR, 'prometheus', 'targets'),
  };
}

/**
 * Stops the endpoints and the data planes this worker started; Prometheus stops scraping them.
 * For tests and one-off runs: a worker that serves migrations leaves them serving when it stops
 * (runWorker), since production traffic must not depend on the worker's process.
 */
export async function closeLocalDeps(deps: ReturnType<typeof localActivityDeps>): Promise<void> {
  const [, released] = await Promise.all([deps.deployer.stopAll(), deps.haproxy.releaseAll()]);
  await Promise.all(released.map((migration) => removeScrapeTargets(deps.scrapeTargetsDir, migration)));
}

export interface CreateWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  queues: readonly QueueSelector[];
  activityDeps: ActivityDeps;
  /** A prebuilt bundle (tests build one per file); absent means bundle from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** @default 'cloudshift-worker@<pid>' */
  identity?: string;
}

export async function createWorkers(options: CreateWorkersOptions): Promise<Worker[]> {
  const activities = createActivities(options.activityDeps);
  return Promise.all(
    options.queues.map((queue) =>
      Worker.create({
        connection: options.connection,
        namespace: options.namespace,
        taskQueue: taskQueueOf(queue),
        activities,
        interceptors: { activity: [errorBoundary] },
        identity: options.identity ?? `cloudshift-worker@${process.pid}`,
        // A heartbeat carries a rollback's cancellation to a running copy or inference. The SDK
        // throttles them to 80 % of the heartbeat timeout (48 s for a copy batch): a rollback then
        // waited that long for the copy to stop before it could clean up. Five seconds keeps the
        // wait short for one small request per running activity every five seconds.
        maxHeartbeatThrottleInterval: '5s',
        ...(queue === 'control'
          ? options.workflowBundle
            ? { workflowBundle: options.workflowBundle }
            : { workflowsPath: WORKFLOWS_PATH }
          : {}),
      }),
    ),
  );
}

function queuesFlag(argv: readonly string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--queues' || a.startsWith('--queues='));
  if (i < 0) return undefined;
  const arg = argv[i]!;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
}

/** What V8 lets this process's heap grow to (scripts/worker.sh caps it; see there why). */
function heapLimitMiB(): number {
  return Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024);
}

export async function runWorker(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const config = loadConfig(process.env, queuesFlag(argv));
  // The SDK's own metrics (task latencies, slots, polls) and cloudshift's (src/workflows/metrics.ts)
  // for Prometheus, before anything connects; counters end in _total and durations are in seconds.
  if (config.metricsAddress) {
    Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: config.metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true } } } });
  }
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  // Workflows upsert cloudshift's search attributes: without them every workflow task would fail.
  if (config.queues.includes('control')) await requireSearchAttributes(connection, config.temporal.namespace);
  const deps = localActivityDeps({
    stores: new StoreResolver(config.profiles),
    stateDir: config.stateDir,
    keysDir: config.keysDir,
    largeObjectsAtOnce: config.largeObjectsAtOnce,
    prometheusUrl: config.prometheusUrl,
    scrapeTargetsDir: config.scrapeTargetsDir,
    dataPlanePorts: config.dataPlanePorts,
    network: config.network,
  });
  try {
    const workers = await createWorkers({
      connection,
      namespace: config.temporal.namespace,
      queues: config.queues,
      activityDeps: deps,
      ...(config.queues.includes('control') ? { workflowBundle: await bundleInChild() } : {}),
    });
    const scrapeName = `worker-${hostname()}-${process.pid}`;
    await removeDeadWorkersTargets(config.scrapeTargetsDir, hostname(), alive);
    if (config.metricsAddress) {
      await writeScrapeTargets(config.scrapeTargetsDir, scrapeName, [{ address: `${config.network.advertiseHost}:${config.metricsAddress.split(':').at(-1)}`, job: 'cloudshift-worker', labels: { queues: config.queues.join(',') } }], {});
    }
    console.log(
      `cloudshift worker: ${config.temporal.address} (${config.temporal.namespace}), queues ${config.queues.map(taskQueueOf).join(', ')}${config.metricsAddress ? `; metrics on http://${config.metricsAddress}/metrics` : ''}; V8 heap limit ${heapLimitMiB()} MiB`,
    );
    await Promise.all(workers.map((w) => w.run())).finally(() => removeScrapeTargets(config.scrapeTargetsDir, scrapeName));
    console.log('cloudshift worker: shut down cleanly');
  } finally {
    // Endpoints and data planes keep serving: the next worker adopts them, or their migration
    // stops them when it ends.
    await connection.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runWorker().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
