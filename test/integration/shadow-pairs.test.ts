/**
 * The generated model pairs (scripts/models/make_gate_pairs.py) through the real shadow phase:
 * both sides on the dev server's queues, models and holdouts in MinIO and fake-gcs-server, the
 * verdict and its failing criteria as decided from first principles beside each pair.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rollbackSignal, recordQuery } from '../../src/workflows/definitions.js';
import { migrationResult } from '../../src/client/index.js';
import type { MigrationResult } from '../../src/workflows/migration.js';
import { uniqueBucket } from '../support/data.js';
import { expectSourceUntouched, snapshot } from '../support/invariants.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, startMigration, type TemporalTestContext, testWorkers } from '../support/temporal.js';
import { recordWhen } from '../support/record.js';
import { GATE_PAIRS_DIR, gatePairs } from '../support/gate-pairs.js';

const dir = GATE_PAIRS_DIR;
const { features, pairs } = gatePairs();

let temporal: TemporalTestContext;
const stores = testResolver();
const bucket = uniqueBucket('pairs');
const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });

beforeAll(async () => {
  temporal = await connectTemporal();
  await source.ensureContainer();
  for (const file of new Set(pairs.flatMap((p) => [p.source, p.target, p.holdout]))) await source.write(`pairs/${file}`, createReadStream(join(dir, file)));
});
afterAll(async () => {
  await temporal?.close();
});

describe('generated model pairs through the shadow phase on the dev server', () => {
  it.each(pairs.map((p) => [p.name, p] as const))('%s', { timeout: 180_000 }, async (_, pair) => {
    const name = `pair-${pair.name}-${randomBytes(3).toString('hex')}`;
    const sourceBefore = await snapshot(source, 'pairs/');
    const workers = await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, identity: 'shadow-pairs' });
    const outcome = await runWorkersUntil(workers, async () => {
      const handle = await startMigration(temporal, {
        name,
        source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'pairs/' },
        target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t`, prefix: `${name}/` },
        workload: {
          model: { path: pair.source, targetPath: pair.target },
          holdout: { path: pair.holdout, format: pair.format, features: pair.features ?? features, label: 'label', task: pair.task },
        },
        audit: { throughputMiBps: 50 },
        shadow: { executionProvider: 'cpu', ...(pair.tolerances ? { tolerances: pair.tolerances } : {}) },
        // A passing gate waits here, so the test stops before the canary (it needs traffic).
        approval: { afterShadow: 'manual' },
        teardown: { deleteTargetDataOnRollback: true },
      });
      const waiting = recordWhen(handle, (s) => s.pendingGate?.phase === 'shadow', 150_000);
      const ended: Promise<{ result?: MigrationResult; error?: unknown }> = migrationResult(handle).then(
        (result) => ({ result: result as MigrationResult }),
        (error: unknown) => ({ error }),
      );
      const first = await Promise.race([waiting.then(() => 'waiting' as const), ended.then(() => 'ended' as const)]);
      if (first === 'waiting') {
        const status = await handle.query(recordQuery);
        await handle.signal(rollbackSignal, { by: 'test', reason: 'verdict checked' });
        return { verdict: status.shadow?.verdict, ...(await ended) };
      }
      const settled = await ended;
      return { verdict: settled.result?.status.shadow?.verdict, ...settled };
    });
    expectSourceUntouched(sourceBefore, await snapshot(source, 'pairs/'));
    if (pair.verdict === 'refused') {
      expect(outcome.error).toBeInstanceOf(WorkflowFailedError);
      const cause = (outcome.error as WorkflowFailedError).cause as ApplicationFailure;
      // The activity's non-retryable failure, carried up: the holdout's labels the model cannot serve.
      const chain = [cause, cause.cause as ApplicationFailure | undefined].filter(Boolean).map((e) => `${e!.type ?? ''} ${e!.message}`).join(' | ');
      expect(chain).toMatch(/ShadowInputError.*cannot serve|cannot serve/);
      return;
    }
    expect(outcome.verdict).toMatchObject({ verdict: pair.verdict });
    expect([...outcome.verdict!.failed].sort()).toEqual([...pair.failed].sort());
    if (pair.verdict === 'failed') {
      expect(outcome.result).toMatchObject({ outcome: 'rolledBack' });
      expect(outcome.result!.status.reason).toMatch(/the shadow gate failed/);
    }
  });
});
