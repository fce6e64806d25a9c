/**
 * The generated model pairs (scripts/models/make_gate_pairs.py) through the real shadow phase:
 * both sides on the dev server's queues, models and holdouts in MinIO and fake-gcs-server, the
 * verdict and its failing criteria as decided from first principles beside each pair.
 */
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
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
/**
 * One pair of each way the phase can end, through the real workflow: every pair runs through real
 * sessions and the real report in test/unit/shadow-gate.test.ts, which decides the verdicts; here
 * what the workflow does with each kind of verdict is what is shown (a pass waits at the gate, a
 * failure rolls back, a refusal fails, the holdout's NaN is the holdout's), binary, multiclass and
 * regression.
 */
const PHASE_PAIRS = ['identical', 'permuted', 'labels-1-2', 'inf-csv-holdout', 'nan-npy-holdout', 'mc-permuted', 'reg-huge-5e-3', 'boundary-3'];
const { features, pairs: allPairs } = gatePairs();
const pairs = allPairs.filter((p) => PHASE_PAIRS.includes(p.name));
const INTERFACES_DIR = join(import.meta.dirname, '../fixtures/interface-pairs');
interface InterfacePair {
  name: string;
  source: string;
  target: string;
  holdout: string;
  tolerances: Record<string, number>;
  verdict: 'passed' | 'failed';
  failed: string[];
  inputs?: Record<string, string[]>;
}
const interfaces = JSON.parse(readFileSync(join(INTERFACES_DIR, 'pairs.json'), 'utf8')) as { features: string[]; pairs: InterfacePair[] };
/** One of each interface through the real phase (every pair runs in test/unit/model-interfaces.test.ts). */
const INTERFACE_PAIRS = ['zipmap-vs-plain', 'strings-swapped', 'two-inputs-identical', 'label-only-retrained'];

let temporal: TemporalTestContext;
const stores = testResolver();
const bucket = uniqueBucket('pairs');
const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });

beforeAll(async () => {
  temporal = await connectTemporal();
  await source.ensureContainer();
  for (const file of new Set(pairs.flatMap((p) => [p.source, p.target, p.holdout]))) await source.write(`pairs/${file}`, createReadStream(join(dir, file)));
  for (const file of new Set(interfaces.pairs.flatMap((p) => [p.source, p.target, p.holdout]))) await source.write(`interfaces/${file}`, createReadStream(join(INTERFACES_DIR, file)));
});
afterAll(async () => {
  await temporal?.close();
});

/** One pair through the phase: the verdict where the gate waits, or how the migration ended. */
async function throughShadow(label: string, prefix: string, workload: Record<string, unknown>, tolerances?: Record<string, number>, through: 'models' | 'endpoints' = 'models') {
  const name = `pair-${label}-${randomBytes(3).toString('hex')}`;
  const workers = await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, identity: 'shadow-pairs' });
  return runWorkersUntil(workers, async () => {
    const handle = await startMigration(temporal, {
      name,
      source: { cloud: 'aws', profile: 'local-s3', bucket, prefix },
      target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t`, prefix: `${name}/` },
      workload,
      audit: { throughputMiBps: 50 },
      shadow: { executionProvider: 'cpu', through, ...(tolerances ? { tolerances } : {}) },
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
}

/** The failure chain of a migration that failed on an activity's non-retryable error. */
function failureChain(error: unknown): string {
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
  return [cause, cause.cause as ApplicationFailure | undefined].filter(Boolean).map((e) => `${e!.type ?? ''} ${e!.message}`).join(' | ');
}

describe('generated model pairs through the shadow phase on the dev server', () => {
  it('samples a pair of each kind, each one that exists', () => {
    expect(pairs.map((p) => p.name).sort()).toEqual([...PHASE_PAIRS].sort());
  });

  it.each(pairs.map((p) => [p.name, p] as const))('%s', { timeout: 180_000 }, async (_, pair) => {
    const sourceBefore = await snapshot(source, 'pairs/');
    const outcome = await throughShadow(pair.name, 'pairs/', { model: { path: pair.source, targetPath: pair.target }, holdout: { path: pair.holdout, format: pair.format, features: pair.features ?? features, label: 'label', task: pair.task } }, pair.tolerances);
    expectSourceUntouched(sourceBefore, await snapshot(source, 'pairs/'));
    if (pair.verdict === 'refused') {
      // The activity's non-retryable failure, carried up: the holdout's labels the model cannot serve.
      expect(failureChain(outcome.error)).toMatch(/ShadowInputError.*cannot serve|cannot serve/);
      return;
    }
    if (pair.verdict === 'holdoutNonFinite') {
      // The holdout's NaN or ∞ is the holdout's problem, said as such, at once: by the pre-flight
      // where it is in the rows it samples, else by the shadow.
      expect(failureChain(outcome.error)).toMatch(/(HoldoutNonFinite|PreflightFailed).*holdout row \d+: column \w+ is/);
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

describe('the models people export, through the shadow phase on the dev server', () => {
  const { features: columns } = interfaces;
  it.each(interfaces.pairs.filter((p) => INTERFACE_PAIRS.includes(p.name)).map((p) => [p.name, p] as const))('%s', { timeout: 180_000 }, async (_, pair) => {
    const outcome = await throughShadow(pair.name, 'interfaces/', { model: { path: pair.source, targetPath: pair.target }, holdout: { path: pair.holdout, format: 'csv', features: columns, label: 'label', task: 'binary', ...(pair.inputs ? { inputs: pair.inputs } : {}) } }, pair.tolerances);
    expect(outcome.verdict).toMatchObject({ verdict: pair.verdict });
    expect(outcome.verdict!.failed).toEqual(pair.verdict === 'passed' ? [] : expect.arrayContaining(pair.failed));
  });

  it('judges string classes through both servers too: the words they answer, coded alike', { timeout: 180_000 }, async () => {
    const pair = interfaces.pairs.find((p) => p.name === 'strings-swapped')!;
    const outcome = await throughShadow('words-v2', 'interfaces/', { model: { path: pair.source, targetPath: pair.target }, holdout: { path: pair.holdout, format: 'csv', features: columns, label: 'label', task: 'binary' } }, pair.tolerances, 'endpoints');
    expect(outcome.verdict).toMatchObject({ verdict: 'failed' });
    expect(outcome.verdict!.failed).toEqual(expect.arrayContaining(['labelAgreement']));
  });

  it('fails a model of two inputs the holdout does not map in seconds, non-retryably, saying what to do', { timeout: 180_000 }, async () => {
    const started = Date.now();
    const outcome = await throughShadow('unmapped', 'interfaces/', { model: { path: 'two-inputs.onnx' }, holdout: { path: 'holdout.csv', format: 'csv', features: columns, label: 'label', task: 'binary' } });
    // Found by the pre-flight, the migration's first activity: before anything is created or copied.
    expect(failureChain(outcome.error)).toMatch(/PreflightFailed.*workload\.model \(fits the holdout\): .*the model has 2 inputs \(num_a float32 \[\?, 3\]; num_b float32 \[\?, 3\]\).*workload\.holdout\.inputs/);
    // The whole migration, audit and copy included: no minutes of retries.
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
