/**
 * cloudshift tried as a hostile or careless user would, on the dev server and the emulators: bad
 * specs, oversized and wrong-typed signals, and a rollback clean-up next to other people's data.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATION_METADATA_KEY, SOURCE_VERSION_METADATA_KEY } from '../../src/clouds/object-store.js';
import { STATE_DIR } from '../../src/paths.js';
import { approveSignal, CONTROL_TASK_QUEUE, MIGRATION_WORKFLOW_TYPE, rollbackSignal, recordQuery } from '../../src/workflows/definitions.js';
import { migrationResult } from '../../src/client/index.js';
import { badSpecs } from '../support/bad-specs.js';
import { cloudshift } from '../support/cli.js';
import { patternStream, uniqueBucket } from '../support/data.js';
import { expectSourceUntouched, expectTargetOnlyOurs, snapshot } from '../support/invariants.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, type TemporalTestContext, testWorkers } from '../support/temporal.js';
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

const uniqueName = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;
const start = (spec: Record<string, unknown> & { name?: unknown }, id = String(spec.name)) =>
  temporal.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { taskQueue: CONTROL_TASK_QUEUE, workflowId: id, args: [spec] });

describe('bad specs on the dev server', () => {
  it('refuses every one at once, non-retryably, naming its field, creating nothing', { timeout: 600_000 }, async () => {
    const tag = randomBytes(4).toString('hex');
    const corpus = badSpecs(tag);
    const workers = await testWorkers(temporal, { queues: ['control', 'onprem', 'aws', 'gcp', 'azure'], stores, identity: 'hostile-specs' });
    const outcomes = await runWorkersUntil(workers, async () => {
      const results: { label: string; seconds: number; type?: string; nonRetryable?: boolean; message: string; taskFailures: number }[] = [];
      for (const [i, bad] of corpus.entries()) {
        const started = performance.now();
        const handle = await start(bad.spec, `hostile-${tag}-${i}`);
        const error = await handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        const cause = error instanceof WorkflowFailedError ? (error.cause as ApplicationFailure) : undefined;
        const history = await handle.fetchHistory();
        results.push({
          label: bad.label,
          seconds: (performance.now() - started) / 1000,
          type: cause?.type ?? undefined,
          nonRetryable: cause?.nonRetryable ?? undefined,
          message: cause?.message ?? String(error),
          taskFailures: history.events?.filter((e) => e.workflowTaskFailedEventAttributes).length ?? 0,
        });
      }
      return results;
    });
    for (const [i, outcome] of outcomes.entries()) {
      const field = corpus[i]!.field;
      expect(outcome, outcome.label).toMatchObject({ type: 'InvalidMigrationSpec', nonRetryable: true, taskFailures: 0 });
      expect(outcome.message, outcome.label).toContain(`${field}`);
      expect(outcome.seconds, outcome.label).toBeLessThan(10);
    }
    // Nothing was created for any of them: no bucket directory on the filesystem store.
    for (const side of ['src', 'dst']) expect(existsSync(join(STATE_DIR, 'data', 'onprem', `hostile-${side}-${tag}`))).toBe(false);
    console.log(`hostile specs: ${outcomes.length} refused on the dev server, slowest ${Math.max(...outcomes.map((o) => o.seconds)).toFixed(2)} s`);
  });

  it('cloudshift validate refuses them too, exit 2, naming the field', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-bad-'));
    const sample = badSpecs('cli').filter((_, i) => i % 12 === 0);
    for (const [i, bad] of sample.entries()) {
      const file = join(dir, `spec-${i}.json`);
      writeFileSync(file, JSON.stringify(bad.spec));
      const { code, stdout } = await cloudshift('validate', '--spec', file);
      expect(code, bad.label).toBe(2);
      expect(stdout, bad.label).toContain(`- ${bad.field}`);
    }
  });
});

describe('signals as a hostile operator sends them', () => {
  it('keeps the workflow queryable and able to finish after oversized, wrong-typed and flooding signals', { timeout: 180_000 }, async () => {
    const bucket = uniqueBucket('sig');
    const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
    await source.ensureContainer();
    await source.write('m/a.bin', patternStream(1000, 1));
    const name = uniqueName('signals');
    const workers = await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, identity: 'hostile-signals' });
    const { result, status } = await runWorkersUntil(workers, async () => {
      const handle = await start({
        name,
        source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'm/' },
        target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t` },
        deployment: { dependencies: [{ kind: 'mlService', service: 'sagemaker-endpoint', name: 'ep', settings: { instanceType: 'ml.inf1.xlarge' } }] },
        approval: { beforeTeardown: 'auto' },
      });
      await eventually(async () => (await handle.query(recordQuery)).pendingGate);
      const megabyte = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 3; i++) await handle.signal(approveSignal, { by: 'mallory', phase: 'audit', comment: megabyte });
      await handle.signal(rollbackSignal, { by: 'mallory', reason: megabyte });
      await handle.signal(rollbackSignal, { by: megabyte, reason: 'x' });
      for (const payload of [null, [], 'approve', 42, { by: 5 }, { by: 'eve', phase: { nested: true } }, { by: 'eve', comment: ['a'] }]) {
        await handle.signal(approveSignal, payload as never);
        await handle.signal(rollbackSignal, payload as never);
      }
      for (let i = 0; i < 150; i++) await handle.signal(approveSignal, { by: 'flood', phase: 'canary' });
      const status = await handle.query(recordQuery);
      expect(status.pendingGate?.phase).toBe('audit');
      await handle.signal(approveSignal, { by: 'alice', phase: 'audit', comment: 'reviewed' });
      return { result: await migrationResult(handle), status };
    });
    const statusBytes = JSON.stringify(status).length;
    expect(statusBytes).toBeLessThan(256 * 1024);
    expect(status.decisions.length).toBeLessThanOrEqual(100);
    expect(status.decisionsDropped).toBeGreaterThan(0);
    expect(status.decisions.every((d) => d.by.length <= 201 && (d.comment ?? '').length <= 2000)).toBe(true);
    expect(result.outcome).toBe('completed');
    expect(JSON.stringify(result).length).toBeLessThan(256 * 1024);
    expect(result.status.decisions.at(-1)).toMatchObject({ by: 'alice', applied: true });
  });
});

describe('a rollback clean-up next to other data', () => {
  /** An S3 source with `count` objects of `size` bytes under data/, a GCS target under shared/ holding someone's file. */
  async function locations(label: string, count: number, size: (i: number) => number) {
    const bucket = uniqueBucket(label);
    const sourceLocation = { cloud: 'aws' as const, profile: 'local-s3', bucket, prefix: 'data/' };
    const targetLocation = { cloud: 'gcp' as const, profile: 'local-gcs', bucket: `${bucket}-t`, prefix: 'shared/' };
    const source = stores.store(sourceLocation);
    const target = stores.store(targetLocation);
    await source.ensureContainer();
    await target.ensureContainer();
    await Promise.all(Array.from({ length: count }, (_, i) => source.write(`data/f-${i}.bin`, patternStream(size(i), i + 1))));
    await target.write('shared/theirs.txt', Readable.from([Buffer.from('not yours')]));
    return { sourceLocation, targetLocation, source, target };
  }

  it('deletes only what this migration wrote, after its copies stopped; the source stays byte-identical', { timeout: 180_000 }, async () => {
    const { sourceLocation, targetLocation, source, target } = await locations('rbk', 12, (i) => 5000 + i);
    // Besides someone's file, another migration's copy carrying cloudshift's marks is already at the target.
    await target.write('shared/f-3.bin-other', Readable.from([Buffer.from('other migration')]), {
      metadata: { [SOURCE_VERSION_METADATA_KEY]: 'v1', [MIGRATION_METADATA_KEY]: 'another-migration' },
    });
    const sourceBefore = await snapshot(source, 'data/');
    const targetBefore = await snapshot(target, 'shared/');
    const name = uniqueName('rbk');
    const workers = await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, pageSize: 5, identity: 'hostile-rollback' });
    const { result, copied } = await runWorkersUntil(workers, async () => {
      const handle = await start({
        name,
        source: sourceLocation,
        target: targetLocation,
        audit: { throughputMiBps: 50 },
        approval: { beforeTeardown: 'manual' },
        teardown: { deleteTargetDataOnRollback: true },
      });
      await recordWhen(handle, (s) => s.pendingGate?.phase === 'teardown', 120_000);
      const copied = await snapshot(target, 'shared/');
      await handle.signal(rollbackSignal, { by: 'ops', reason: 'changed our minds' });
      return { result: await migrationResult(handle), copied };
    });
    expect(result.outcome).toBe('rolledBack');
    // The copy marked each object with this run's own mark, so the clean-up knew them.
    const mark = result.status.runMark!;
    expect(mark).toMatch(/^[0-9a-f-]{36}$/);
    expect([...copied.values()].filter((o) => o.migration === mark)).toHaveLength(12);
    expectTargetOnlyOurs(targetBefore, copied, name, 'shared/', mark);
    const targetAfter = await snapshot(target, 'shared/');
    expect([...targetAfter.keys()].sort()).toEqual([...targetBefore.keys()].sort());
    expectSourceUntouched(sourceBefore, await snapshot(source, 'data/'));
  });

  it('rolled back mid-copy with the clean-up on: nothing of the migration’s is left, and none appears afterwards', { timeout: 180_000 }, async () => {
    const { sourceLocation, targetLocation, source, target } = await locations('rbc', 16, () => 256 * 1024);
    const sourceBefore = await snapshot(source, 'data/');
    const targetBefore = await snapshot(target, 'shared/');
    const name = uniqueName('rbc');
    const workers = await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, pageSize: 4, identity: 'hostile-rollback-copy' });
    const result = await runWorkersUntil(workers, async () => {
      const handle = await start({
        name,
        source: sourceLocation,
        target: targetLocation,
        audit: { throughputMiBps: 50 },
        // 0.5 MiB/s a batch: each object takes about half a second, so the rollback lands mid-copy.
        copy: { bandwidthMiBps: 0.5, concurrency: 2, batchSize: 4 },
        teardown: { deleteTargetDataOnRollback: true },
      });
      await recordWhen(handle, (s) => s.phase === 'copyData', 60_000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await handle.signal(rollbackSignal, { by: 'ops', reason: 'stop the copy' });
      return await migrationResult(handle);
    });
    expect(result.outcome).toBe('rolledBack');
    // Had a cancelled batch kept streaming, its object would land after the clean-up: wait, then look.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const targetAfter = await snapshot(target, 'shared/');
    expect([...targetAfter.keys()].sort()).toEqual([...targetBefore.keys()].sort());
    expectSourceUntouched(sourceBefore, await snapshot(source, 'data/'));
  });
});
