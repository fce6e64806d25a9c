/**
 * The workflow tests' harness: Temporal's time-skipping test server (Java, installed by
 * scripts/install.sh) with cloudshift's search attributes, one workflow bundle per file, stub
 * workers on the control and cloud queues, and a small valid spec.
 */
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';
import { WORKFLOWS_PATH } from '../../src/worker.js';
import { CONTROL_TASK_QUEUE, MIGRATION_WORKFLOW_TYPE, SEARCH_ATTRIBUTE_NAMES, taskQueueFor } from '../../src/workflows/definitions.js';
import { type StubOptions, stubActivities } from './stub-activities.js';

const TEST_SERVER = join(PROJECT_ROOT, '.stack/temporal-test-server/temporal-test-server');

export interface Harness {
  env: TestWorkflowEnvironment;
  /** Runs workers on the control, aws and gcp queues with the stubs until `work` settles. */
  withWorkers<T>(options: StubOptions, work: (calls: string[]) => Promise<T>): Promise<{ value: T; calls: string[] }>;
  spec(overrides?: Record<string, unknown>): ReturnType<typeof baseSpec>;
  start(s: { name: string }): ReturnType<TestWorkflowEnvironment['client']['workflow']['start']>;
  /** Polls `check`, skipping the test server's time a minute per poll (a query does not skip it). */
  waitFor(check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
}

let counter = 0;
const baseSpec = (overrides: Record<string, unknown> = {}) => ({
  name: `wf-${process.pid}-${++counter}`,
  source: { cloud: 'aws', profile: 'p', bucket: 'src-bucket', prefix: 'data/' },
  target: { cloud: 'gcp', profile: 'p', bucket: 'dst-bucket', prefix: 'data/' },
  workload: { model: { path: 'm.onnx' }, holdout: { path: 'h.csv', format: 'csv', features: ['a'], label: 'y', task: 'binary' } },
  audit: { throughputMiBps: 10 },
  canary: { steps: [50, 100], intervalSeconds: 60 },
  approval: { beforeTeardown: 'auto' },
  ...overrides,
});

/** Registers the environment's set-up and tear-down with the file's hooks. */
export function timeSkippingHarness(): Harness {
  let env: TestWorkflowEnvironment;
  let workflowBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>;
  beforeAll(async () => {
    if (!existsSync(TEST_SERVER)) throw new Error(`${TEST_SERVER} is missing: bash scripts/install.sh installs it`);
    const noop = () => {};
    [env, workflowBundle] = await Promise.all([
      TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } }),
      bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error } }),
    ]);
    // The test server knows no custom search attributes until they are added, as the dev server's are at start.
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTE_NAMES.map((name) => [name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  return {
    get env() {
      return env;
    },
    async withWorkers(options, work) {
      const { activities, calls } = stubActivities(options);
      const workers = await Promise.all(
        [CONTROL_TASK_QUEUE, taskQueueFor('aws'), taskQueueFor('gcp')].map((taskQueue) =>
          // Heartbeats go out at once, so a cancellation reaches a running stub in a second, not a minute.
          Worker.create({ connection: env.nativeConnection, taskQueue, activities, maxHeartbeatThrottleInterval: '200ms', ...(taskQueue === CONTROL_TASK_QUEUE ? { workflowBundle } : {}) }),
        ),
      );
      const runs = workers.map((w) => w.run());
      try {
        return { value: await work(calls), calls };
      } finally {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await Promise.all(runs);
      }
    },
    spec: baseSpec,
    start: (s) => env.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { taskQueue: CONTROL_TASK_QUEUE, workflowId: s.name, args: [s] }),
    async waitFor(check, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('timed out waiting');
        await env.sleep(60_000);
      }
    },
  };
}
