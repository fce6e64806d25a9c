import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { LOCAL_ENDPOINTS } from '../../src/dev/local-stack.js';
import type { StoreResolver } from '../../src/clouds/profiles.js';
import type { QueueSelector } from '../../src/config.js';
import { closeLocalDeps, createWorkers, type LocalDeps, localActivityDeps, WORKFLOWS_PATH } from '../../src/worker.js';
import { CONTROL_TASK_QUEUE, MIGRATION_WORKFLOW_TYPE } from '../../src/workflows/definitions.js';

export interface TemporalTestContext {
  client: Client;
  nativeConnection: NativeConnection;
  workflowBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
  close(): Promise<void>;
}

/** Starts a migration as the Web UI does: one JSON argument, the workflow id its name. */
export function startMigration(temporal: TemporalTestContext, spec: { name: string } & Record<string, unknown>) {
  return temporal.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { taskQueue: CONTROL_TASK_QUEUE, workflowId: spec.name, args: [spec] });
}

/** Connects to the stack's dev server and bundles the workflows once for the file. */
export async function connectTemporal(): Promise<TemporalTestContext> {
  // Worker state changes at INFO would bury the test output; warnings and errors still show.
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed by an earlier file in this process.
  }
  const [connection, nativeConnection, workflowBundle] = await Promise.all([
    Connection.connect({ address: LOCAL_ENDPOINTS.temporal }),
    NativeConnection.connect({ address: LOCAL_ENDPOINTS.temporal }),
    bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }),
  ]);
  return {
    client: new Client({ connection }),
    nativeConnection,
    workflowBundle,
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

const noop = () => {};
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };

/** Endpoints and gateways the test workers started in this process, stopped with them. */
const localDeps = new Set<ReturnType<typeof localActivityDeps>>();

/** Runs every worker until `work` settles, then shuts them all down with what they served. */
export async function runWorkersUntil<T>(workers: Worker[], work: () => Promise<T>): Promise<T> {
  const runs = workers.map((w) => w.run());
  try {
    return await work();
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.all(runs);
    const started = [...localDeps];
    localDeps.clear();
    await Promise.all(started.map(closeLocalDeps));
  }
}

/** Workers on the dev server for one test, with the test's stores and the file's bundle. */
export function testWorkers(
  temporal: TemporalTestContext,
  options: { queues: QueueSelector[]; stores: StoreResolver; pageSize?: number; identity: string; faults?: LocalDeps['faults']; stateDir?: string; keysDir?: string },
): Promise<Worker[]> {
  const deps = localActivityDeps({ stores: options.stores, pageSize: options.pageSize, faults: options.faults, stateDir: options.stateDir, keysDir: options.keysDir });
  localDeps.add(deps);
  return createWorkers({
    connection: temporal.nativeConnection,
    namespace: 'default',
    queues: options.queues,
    activityDeps: deps,
    workflowBundle: temporal.workflowBundle,
    identity: options.identity,
  });
}
