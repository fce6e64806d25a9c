import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATION_WORKFLOW_TYPE, CONTROL_TASK_QUEUE, phaseSearchAttribute } from '../../src/workflows/definitions.js';
import type { MigrationResult } from '../../src/workflows/migration.js';
import { createWorkers } from '../../src/worker.js';
import { patternStream, uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, type TemporalTestContext } from '../support/temporal.js';

let temporal: TemporalTestContext;
const stores = testResolver();

beforeAll(async () => {
  temporal = await connectTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

const workers = () =>
  createWorkers({
    connection: temporal.nativeConnection,
    namespace: 'default',
    queues: ['control', 'aws'],
    activityDeps: { stores, pageSize: 7 },
    workflowBundle: temporal.workflowBundle,
    identity: 'migration-workflow-test',
  });

const uniqueName = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

describe('migrationWorkflow on the dev server', () => {
  it('validates the spec and inventories the source on the source cloud queue', async () => {
    const bucket = uniqueBucket('inv');
    const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
    await source.ensureContainer();
    const sizes = Array.from({ length: 20 }, (_, i) => 1000 + i * 10);
    await Promise.all(sizes.map((size, i) => source.write(`data/part-${i}.bin`, patternStream(size, i + 1))));
    await source.write('elsewhere/not-counted.bin', patternStream(5000, 1));

    const name = uniqueName('inventory');
    const result = await runWorkersUntil(await workers(), async () => {
      const handle = await temporal.client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: name,
        args: [
          {
            name,
            source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'data/' },
            target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-target` },
          },
        ],
      });
      const result = (await handle.result()) as MigrationResult;
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(phaseSearchAttribute)).toBe('audit');
      return result;
    });

    expect(result.outcome).toBe('completed');
    expect(result.status.inventory).toMatchObject({
      objects: 20,
      bytes: sizes.reduce((a, b) => a + b, 0),
      byStorageClass: { STANDARD: { objects: 20 } },
    });
    expect(result.status.inventory!.largest[0]).toEqual({ key: 'data/part-19.bin', size: 1190 });
    expect(result.status.phases.find((p) => p.phase === 'audit')?.state).toBe('succeeded');
  });

  it('fails a bad spec at once, non-retryably, naming every bad field', async () => {
    const name = uniqueName('bad-spec');
    const failure = await runWorkersUntil(await workers(), async () => {
      const handle = await temporal.client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId: name,
        args: [{ name: 'Not A Valid Name', source: { cloud: 'mars', profile: 'p', bucket: 'b' }, secretAccessKey: 'x' }],
      });
      const error = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      const history = await handle.fetchHistory();
      // Failed as an execution on the first workflow task; no task failure was retried.
      const taskFailures = history.events?.filter((e) => e.workflowTaskFailedEventAttributes) ?? [];
      expect(taskFailures).toHaveLength(0);
      return error;
    });

    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('InvalidMigrationSpec');
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    const message = (cause as ApplicationFailure).message;
    for (const field of ['name:', 'source.cloud:', 'source.bucket:', 'target:', 'secretAccessKey: not allowed']) {
      expect(message).toContain(field);
    }
  });
});
