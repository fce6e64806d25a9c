import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approveSignal,
  CONTROL_TASK_QUEUE,
  MIGRATION_WORKFLOW_TYPE,
  phaseSearchAttribute,
  rollbackSignal,
  recordQuery,
} from '../../src/workflows/definitions.js';
import { migrationResult } from '../../src/client/index.js';
import { md5OfStream, patternMd5, patternStream, uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, type TemporalTestContext, testWorkers } from '../support/temporal.js';
import { recordHistory } from '../support/histories.js';
import { recordWhen } from '../support/record.js';
import { eventually } from '../support/wait.js';

let temporal: TemporalTestContext;
const stores = testResolver();

beforeAll(async () => {
  temporal = await connectTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

const workers = () => testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, pageSize: 7, identity: 'migration-workflow-test' });

/** Starts a migration the way the Web UI does: one JSON argument, the id from its name. */
const startMigration = (spec: { name: string } & Record<string, unknown>) =>
  temporal.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { taskQueue: CONTROL_TASK_QUEUE, workflowId: spec.name, args: [spec] });

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
      const handle = await startMigration({
        name,
        source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'data/' },
        target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-target` },
        approval: { beforeTeardown: 'auto' },
      });
      const result = await migrationResult(handle);
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(phaseSearchAttribute)).toBe('completed');
      return result;
    });

    expect(result.outcome).toBe('completed');
    expect(result.status.inventory).toMatchObject({
      objects: 20,
      bytes: sizes.reduce((a, b) => a + b, 0),
      byStorageClass: { STANDARD: { objects: 20 } },
    });
    expect(result.status.inventory!.largest[0]).toEqual({ key: 'data/part-19.bin', size: 1190, storageClass: 'STANDARD' });
    expect(result.status.phases.find((p) => p.phase === 'audit')?.state).toBe('succeeded');
    // The copy ran as a child workflow on the target's queue and verified every object.
    expect(result.status.copy).toMatchObject({ workflowId: `${name}/copy/1`, progress: { copiedObjects: 20, verifiedObjects: 20, mismatches: 0 } });
    expect(result.status.phases.filter((p) => p.state === 'succeeded').map((p) => p.phase)).toEqual(['validate', 'audit', 'standUpTarget', 'copyData', 'teardown']);
    // No workload in this spec: nothing to shadow or to route.
    expect(result.status.phases.filter((p) => p.state === 'skipped').map((p) => p.phase)).toEqual(['shadow', 'canary']);
    expect(result.status.teardown?.catchUp?.progress).toMatchObject({ copiedObjects: 0, verifiedObjects: 20 });
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


describe('rollback during the copy', () => {
  it('cancels the copy child and ends rolled back, the source untouched', async () => {
    const bucket = uniqueBucket('rb-copy');
    const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
    await source.ensureContainer();
    await source.write('big/weights.bin', patternStream(40 * 1024 * 1024, 9));
    const name = uniqueName('rollback-copy');
    const result = await runWorkersUntil(await workers(), async () => {
      const handle = await startMigration({
        name,
        source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'big/' },
        target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t` },
        audit: { throughputMiBps: 2 },
        copy: { bandwidthMiBps: 2 },
      });
      await recordWhen(handle, (s) => s.phase === 'copyData');
      await new Promise((r) => setTimeout(r, 1000));
      await handle.signal(rollbackSignal, { by: 'dave', reason: 'copy window closed' });
      return await migrationResult(handle);
    });
    await recordHistory(name, 'migration-rollback-during-copy');
    expect(result).toMatchObject({ outcome: 'rolledBack', status: { reason: 'rollback by dave: copy window closed' } });
    expect(result.status.phases.find((p) => p.phase === 'copyData')?.state).toBe('compensated');
    const child = await temporal.client.workflow.getHandle(`${name}/copy/1`).describe();
    expect(child.status.name).toBe('CANCELLED');
    expect(await md5OfStream(await source.read('big/weights.bin'))).toEqual({ md5: patternMd5(40 * 1024 * 1024, 9), size: 40 * 1024 * 1024 });
  });
});

describe('blocking audit findings', () => {
  let bucket: string;
  beforeAll(async () => {
    bucket = uniqueBucket('audit');
    const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
    await source.ensureContainer();
    await Promise.all(Array.from({ length: 5 }, (_, i) => source.write(`models/m-${i}.bin`, patternStream(200_000, i + 1))));
  });

  const specWith = (name: string, approval: Record<string, unknown>) => ({
    name,
    source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'models/' },
    target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t` },
    deployment: {
      dependencies: [
        { kind: 'mlService', service: 'sagemaker-endpoint', name: 'fraud-ep', settings: { instanceType: 'ml.inf1.xlarge' } },
        { kind: 'queue', service: 'sqs', name: 'requests' },
      ],
    },
    approval: { beforeTeardown: 'auto', ...approval },
  });

  it('hold the migration until an approve for the audit phase, ignoring one for another phase', async () => {
    const name = uniqueName('audit-hold');
    const result = await runWorkersUntil(await workers(), async () => {
      const handle = await startMigration(specWith(name, {}));
      const waiting = await recordWhen(handle, (s) => s.pendingGate);
      expect(waiting.pendingGate).toMatchObject({ phase: 'audit', waitingFor: expect.stringMatching(/Inferentia/) });
      expect(waiting.audit?.counts).toEqual({ portable: 0, mapped: 1, manual: 0, blocking: 1 });
      expect(waiting.audit?.copyTime.basis).toBe('measured');
      expect(waiting.audit?.copyTime.perObjectMs).toBeGreaterThan(0);
      expect(waiting.audit?.copyTime.seconds).toBeGreaterThan(0);
      // The Web UI lists every migration waiting for someone: CloudshiftPhase = "awaitingApproval".
      expect((await handle.describe()).typedSearchAttributes.get(phaseSearchAttribute)).toBe('awaitingApproval');

      await handle.signal(approveSignal, { by: 'bob', phase: 'shadow', comment: 'wrong gate' });
      await eventually(async () => ((await handle.query(recordQuery)).decisions.length === 1 ? true : undefined));
      expect((await handle.query(recordQuery)).pendingGate?.phase).toBe('audit');

      await handle.signal(approveSignal, { by: 'alice', phase: 'audit', comment: 'Inferentia endpoint will be rebuilt on GPUs' });
      return await migrationResult(handle);
    });
    await recordHistory(name, 'migration-audit-gate-approved');
    expect(result.outcome).toBe('completed');
    expect(result.status.decisions).toEqual([
      expect.objectContaining({ action: 'approve', by: 'bob', phase: 'shadow', applied: false, note: expect.stringMatching(/waiting is audit, not shadow/) }),
      expect.objectContaining({ action: 'approve', by: 'alice', phase: 'audit', applied: true, comment: 'Inferentia endpoint will be rebuilt on GPUs', evidence: expect.stringMatching(/audit report/) }),
    ]);
  });

  it('fail the migration when the spec says so', async () => {
    const name = uniqueName('audit-fail');
    const error = await runWorkersUntil(await workers(), async () =>
      (await startMigration(specWith(name, { onBlockingFindings: 'fail' }))).result().then(
        () => undefined,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('BlockingAuditFindings');
    expect(cause.message).toMatch(/1 blocking audit finding\(s\): mlService sagemaker-endpoint "fraud-ep"/);
  });

  it('roll back on an approval timeout when the spec says so, recording the timeout', async () => {
    const name = uniqueName('audit-timeout');
    const result = await runWorkersUntil(await workers(), async () =>
      migrationResult(await startMigration(specWith(name, { timeoutSeconds: 2, onTimeout: 'rollback' }))),
    );
    await recordHistory(name, 'migration-approval-timeout');
    expect(result.outcome).toBe('rolledBack');
    expect(result.status.reason).toMatch(/no approval of audit within 2s/);
    expect(result.status.decisions).toEqual([expect.objectContaining({ action: 'timeout', by: 'cloudshift', applied: true })]);
  });

  it('roll back cleanly on a rollback signal while waiting', async () => {
    const name = uniqueName('audit-rollback');
    const result = await runWorkersUntil(await workers(), async () => {
      const handle = await startMigration(specWith(name, {}));
      await eventually(async () => (await handle.query(recordQuery)).pendingGate);
      await handle.signal(rollbackSignal, { by: 'carol', reason: 'not this quarter' });
      return await migrationResult(handle);
    });
    expect(result).toMatchObject({ outcome: 'rolledBack', status: { state: 'rolledBack', reason: 'rollback by carol: not this quarter' } });
    expect(result.status.phases.find((p) => p.phase === 'audit')?.state).toBe('compensated');
  });
});
