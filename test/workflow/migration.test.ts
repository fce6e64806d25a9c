/**
 * The migration workflow's own logic, on Temporal's time-skipping test server with stub
 * activities: saga order, a failing compensation, the dry run, a failure after the point of no
 * return, gate timeouts without waiting, an approval for the wrong phase, a rollback racing a step.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { approveSignal, approveUpdate, CONTROL_TASK_QUEUE, MIGRATION_WORKFLOW_TYPE, recordQuery, rollbackSignal, rollbackUpdate, statusQuery } from '../../src/workflows/definitions.js';
import { migrationResult } from '../../src/client/index.js';
import type { MigrationResult } from '../../src/workflows/migration.js';
import { timeSkippingHarness } from './harness.js';
import type { StubOptions } from './stub-activities.js';

const harness = timeSkippingHarness();
const { withWorkers, spec, start } = harness;

const compensations = (r: MigrationResult) => (r.status.compensations ?? []).map((c) => `${c.what}: ${c.outcome}`);

describe('the migration workflow with stub activities', () => {
  it('runs every phase in order and undoes nothing when it completes', async () => {
    const { value: result, calls } = await withWorkers({}, async () => migrationResult(await start(spec())));
    expect(result.outcome).toBe('completed');
    expect(result.status.phases.map((p) => `${p.phase}:${p.state}`)).toEqual([
      'validate:succeeded', 'audit:succeeded', 'standUpTarget:succeeded', 'copyData:succeeded', 'shadow:succeeded', 'canary:succeeded', 'teardown:succeeded',
    ]);
    expect(result.status.compensations).toBeUndefined();
    expect(calls.indexOf('ensureTargetContainer')).toBeLessThan(calls.indexOf('deployEndpoint'));
    expect(calls.filter((c) => c === 'setWeights')).toHaveLength(2);
    // The catch-up compares the source with the initial manifest; it neither re-verifies nor re-copies what did not change.
    expect(calls.filter((c) => c === 'catchUpDiffPage')).toHaveLength(1);
    expect(calls.filter((c) => c === 'verifyPage')).toHaveLength(1);
    // The model first (standUpTarget), then the data; none in the catch-up.
    expect(calls.filter((c) => c === 'copyBatch')).toHaveLength(2);
    expect(result.status.teardown?.catchUp?.progress).toMatchObject({ unchangedObjects: 3, copiedObjects: 0, verifiedObjects: 3 });
  });

  it('gives the activities an operator reads in the Web UI a summary of what each does', async () => {
    const { value: history } = await withWorkers({}, async () => {
      const handle = await start(spec());
      await migrationResult(handle);
      return handle.fetchHistory();
    });
    const converter = (await import('@temporalio/common')).defaultPayloadConverter;
    const summaries = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes)
      .map((e) => ({ type: e.activityTaskScheduledEventAttributes?.activityType?.name, summary: e.userMetadata?.summary ? converter.fromPayload<string>(e.userMetadata.summary) : undefined }));
    for (const type of ['inventorySource', 'ensureTargetContainer', 'deployEndpoint', 'runShadowInference', 'compareShadow', 'ensureRouter', 'analyseCanaryWindow']) {
      expect(summaries.find((s) => s.type === type)?.summary, type).toEqual(expect.any(String));
    }
    expect(summaries.find((s) => s.type === 'runShadowInference')?.summary).toMatch(/^shadow inference on the (source|target) \(\w+\) over the holdout$/);
  });

  const cleanUp = 'delete what the migration wrote under dst-bucket/data/: done';
  it.each([
    ['standUpTarget', { fail: { deployEndpoint: 2 } }, ['stop the target endpoint: done', cleanUp]],
    ['copyData', { fail: { verifyPage: true } }, ['stop the target endpoint: done', cleanUp]],
    ['shadow', { fail: { compareShadow: true } }, ['stop the target endpoint: done', cleanUp]],
    ['canary', { fail: { readWeights: 2 } }, ['all traffic back to the source: done', 'stop the target endpoint: done', cleanUp]],
  ] as const)('a failure in %s runs the compensations pushed so far, last first, and fails the migration', async (phase, options, expected) => {
    const s = spec({ teardown: { deleteTargetDataOnRollback: true } });
    const { value } = await withWorkers(options as StubOptions, async () => {
      const handle = await start(s);
      const error = await handle.result().then(() => undefined, (e: unknown) => e);
      return { error, status: await handle.query(recordQuery) };
    });
    expect(value.error).toBeInstanceOf(WorkflowFailedError);
    expect(value.status.state).toBe('failed');
    expect(value.status.phases.find((p) => p.phase === phase)?.state).toBe('failed');
    expect((value.status.compensations ?? []).map((c) => `${c.what}: ${c.outcome}`)).toEqual(expected);
  });

  describe('with a signed artifact', () => {
    const artifactSpec = (policy: Record<string, unknown> = { keys: ['release'] }) =>
      spec({ workload: { model: { path: 'model/m.onnx' }, holdout: { path: 'h.csv', format: 'csv', features: ['a'], label: 'y', task: 'binary' }, artifact: { folder: 'model/', policy } } });

    it('checks it at the source, copies it whole first, and verifies it at the target before the endpoint and again before the shadow', async () => {
      const { value: result, calls } = await withWorkers({}, async () => migrationResult(await start(artifactSpec())));
      expect(result.outcome).toBe('completed');
      const order = ['checkSourceArtifact', 'listArtifactObjects', 'copyBatch', 'verifyTargetArtifact', 'deployEndpoint', 'verifyTargetArtifact', 'runShadowInference'];
      let at = -1;
      for (const call of order) {
        const next = calls.indexOf(call, at + 1);
        expect(next, `${call} after ${calls[at]}`).toBeGreaterThan(at);
        at = next;
      }
      expect(calls).not.toContain('describeSourceObject');
      expect(result.status.artifact).toMatchObject({ source: { state: 'verified', signer: 'stub-key' }, target: { state: 'verified' } });
      expect(result.status.audit?.artifact?.state).toBe('verified');
    });

    it.each([
      ['after the copy', 1, 'standUpTarget'],
      ['before the shadow side runs', 2, 'shadow'],
    ] as const)('rolls back when the target copy fails verification %s, naming the file', async (_when, failingCall, phase) => {
      let call = 0;
      const { ApplicationFailure } = await import('@temporalio/common');
      const verifyTargetArtifact = async () => {
        if (++call === failingCall) throw ApplicationFailure.nonRetryable('the artifact at gs://dst/model/ is not what was signed — changed: preprocess.json', 'ArtifactDigestMismatch');
        return { folder: 'gs://dst/model/', signature: 'gs://dst/model/model.sig', state: 'verified', files: 2, bytes: 2 } as const;
      };
      const { value: result, calls } = await withWorkers({ override: { verifyTargetArtifact } }, async () => migrationResult(await start(artifactSpec())));
      expect(result.outcome).toBe('rolledBack');
      expect(result.status.reason).toMatch(/the artifact failed verification at the target .*\(ArtifactDigestMismatch\): .*changed: preprocess\.json/);
      expect(result.status.phases.find((p) => p.phase === phase)?.state).toBe('failed');
      expect(calls).not.toContain('setWeights');
      if (phase === 'standUpTarget') expect(calls.filter((c) => c === 'deployEndpoint')).toHaveLength(0);
      else expect(calls).not.toContain('runShadowInference');
    });

    it('holds at the audit gate when the source artifact is unsigned and the policy makes that blocking', async () => {
      const checkSourceArtifact = async () => ({ folder: 'gs://src/model/', signature: 'gs://src/model/model.sig', state: 'invalid', files: 0, bytes: 0, problem: 'no signature bundle at gs://src/model/model.sig', severity: 'blocking' }) as const;
      const { value } = await withWorkers({ override: { checkSourceArtifact } }, async () => {
        const handle = await start(artifactSpec());
        for (;;) {
          const status = await handle.query(recordQuery);
          if (status.pendingGate) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const waiting = await handle.query(recordQuery);
        await handle.signal(rollbackSignal, { by: 'carol', reason: 'unsigned' });
        return { waiting, result: await migrationResult(handle) };
      });
      expect(value.waiting.pendingGate?.phase).toBe('audit');
      expect(value.waiting.audit?.blocking).toEqual([expect.stringContaining('artifact gs://src/model/: no signature bundle')]);
      expect(value.result.outcome).toBe('rolledBack');
    });
  });

  it('runs every other compensation when one fails, and records the failure', async () => {
    const { value: result } = await withWorkers(
      { fail: { stopEndpoint: true }, override: { analyseCanaryWindow: async () => ({ verdict: 'failed', reasons: ['stub: errors'], window: {} }) as never } },
      async () => migrationResult(await start(spec({ teardown: { deleteTargetDataOnRollback: true } }))),
    );
    expect(result.outcome).toBe('rolledBack');
    expect(compensations(result)).toEqual(['all traffic back to the source: done', 'stop the target endpoint: failed', cleanUp]);
    expect(result.status.compensations?.[1]?.error).toMatch(/stub: stopEndpoint failed/);
    expect(result.status.phases.find((p) => p.phase === 'canary')?.state).toBe('failed');
  });

  it('a dry run plans, writes nothing and undoes nothing', async () => {
    const { value: result, calls } = await withWorkers({}, async () =>
      migrationResult(await start(spec({ copy: { dryRun: true }, teardown: { deleteTargetDataOnRollback: true } }))),
    );
    expect(result.outcome).toBe('completed');
    expect(result.status.copy?.plan).toMatchObject({ objects: 3 });
    expect(calls).not.toContain('copyBatch');
    expect(calls).not.toContain('deleteMigratedTargetPage');
    expect(calls).not.toContain('deployEndpoint');
    expect(result.status.compensations).toBeUndefined();
    expect(result.status.phases.filter((p) => p.state === 'skipped').map((p) => p.phase)).toEqual(['shadow', 'canary', 'teardown']);
  });

  it('a failure after the point of no return marks teardown failed, and undoes nothing', async () => {
    const { value } = await withWorkers({ fail: { deleteVerifiedSourcePage: true } }, async () => {
      const handle = await start(spec({ teardown: { deleteSourceData: true, deleteTargetDataOnRollback: true } }));
      const error = await handle.result().then(() => undefined, (e: unknown) => e);
      return { error, status: await handle.query(recordQuery) };
    });
    expect(value.error).toBeInstanceOf(WorkflowFailedError);
    expect(value.status.state).toBe('failed');
    expect(value.status.phases.find((p) => p.phase === 'teardown')).toMatchObject({ state: 'failed', detail: expect.stringMatching(/stub: deleteVerifiedSourcePage failed/) });
    expect(value.status.compensations).toBeUndefined();
  });

  it('rolls back on a gate timeout of a day without waiting a day', async () => {
    const started = Date.now();
    const { value: result } = await withWorkers({}, async () =>
      migrationResult(await start(spec({ approval: { afterShadow: 'manual', beforeTeardown: 'auto', timeoutSeconds: 86_400, onTimeout: 'rollback' } }))),
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.outcome).toBe('rolledBack');
    expect(result.status.reason).toMatch(/no approval of shadow within 86400s/);
    expect(result.status.decisions).toEqual([expect.objectContaining({ action: 'timeout', applied: true })]);
    expect(compensations(result)).toEqual(['stop the target endpoint: done']);
    expect(result.status.report?.html).toBe(`stub://report/${result.name}.html`);
  });

  it('ignores an approval for the wrong phase and goes on with the right one', async () => {
    const { value: result } = await withWorkers({}, async () => {
      const handle = await start(spec({ approval: { afterShadow: 'manual', beforeTeardown: 'auto' } }));
      for (;;) {
        const status = await handle.query(recordQuery);
        if (status.pendingGate?.phase === 'shadow') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await handle.signal(approveSignal, { by: 'bob', phase: 'teardown' });
      await handle.signal(approveSignal, { by: 'alice', phase: 'shadow' });
      return migrationResult(handle);
    });
    expect(result.outcome).toBe('completed');
    expect(result.status.decisions.filter((d) => d.action !== 'analysis').map((d) => `${d.by}:${d.applied}`)).toEqual(['bob:false', 'alice:true']);
    expect(result.status.decisions[0]?.note).toMatch(/waiting is shadow, not teardown/);
  });

  it('a rollback racing a running step waits for the step to stop before it compensates', async () => {
    const { value: result, calls } = await withWorkers({ block: ['runShadowInference'] }, async () => {
      const handle = await start(spec({ teardown: { deleteTargetDataOnRollback: true } }));
      for (;;) {
        const status = await handle.query(recordQuery);
        if (status.phase === 'shadow') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      await handle.signal(rollbackSignal, { by: 'carol', reason: 'not now' });
      // What the Web UI's list shows: a failed execution, typed MigrationRolledBack, not a completed one.
      const raw = await handle.result().then(() => undefined, (e: unknown) => e);
      expect(raw).toBeInstanceOf(WorkflowFailedError);
      expect((raw as WorkflowFailedError).cause).toMatchObject({ type: 'MigrationRolledBack', message: 'rolled back, traffic and data on the source as before: rollback by carol: not now' });
      expect((await handle.describe()).status.name).toBe('FAILED');
      return migrationResult(handle);
    });
    // The clean-up emptied the target of this migration's objects: the report is not written there.
    expect(calls).not.toContain('writeMigrationReport');
    expect(result.status.reportSkipped).toMatch(/deleteTargetDataOnRollback/);
    expect(result.outcome).toBe('rolledBack');
    expect(result.status.reason).toBe('rollback by carol: not now');
    expect(result.status.phases.find((p) => p.phase === 'shadow')?.state).toBe('compensated');
    // Both sides' inference stopped before the first compensation ran.
    const firstUndo = calls.indexOf('stopEndpoint');
    expect(calls.filter((c, i) => c === 'runShadowInference:stopped' && i < firstUndo)).toHaveLength(2);
    expect(compensations(result)).toEqual(['stop the target endpoint: done', cleanUp]);
  });

  it('refuses a workflow id other than the spec’s name', async () => {
    const s = spec();
    const { value: error } = await withWorkers({}, async () =>
      (await harness.env.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { taskQueue: CONTROL_TASK_QUEUE, workflowId: `${s.name}-typo`, args: [s] })).result().then(() => undefined, (e: unknown) => e),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause?.message).toMatch(/workflow id ".*-typo" is not the spec's name/);
  });

  it('answers approve and rollback updates: a wrong phase or a rollback after teardown began is rejected at once, with the reason', async () => {
    const { value } = await withWorkers({ block: ['deleteVerifiedSourcePage'] }, async () => {
      // Time does not skip while the test polls queries: a one-second canary step keeps it short.
      const handle = await start(spec({ canary: { steps: [100], intervalSeconds: 1 }, approval: { afterShadow: 'manual', beforeTeardown: 'auto' }, teardown: { deleteSourceData: true } }));
      for (;;) {
        if ((await handle.query(recordQuery)).pendingGate?.phase === 'shadow') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const wrong = await handle.executeUpdate(approveUpdate, { args: [{ by: 'bob', phase: 'canary' }] }).catch((e: unknown) => e);
      const malformed = await handle.executeUpdate(approveUpdate, { args: [{ by: 'x'.repeat(500) } as never] }).catch((e: unknown) => e);
      const right = await handle.executeUpdate(approveUpdate, { args: [{ by: 'alice', phase: 'shadow' }] });
      for (;;) {
        if ((await handle.query(recordQuery)).phase === 'teardown') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const late = await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'carol', reason: 'too late' }] }).catch((e: unknown) => e);
      const decisions = (await handle.query(recordQuery)).decisions;
      await handle.terminate('test done');
      return { wrong, malformed, right, late, decisions };
    });
    for (const [rejection, reason] of [
      [value.wrong, /the gate waiting is shadow, not canary/],
      [value.malformed, /malformed approve \(by: longer than 200 characters\)/],
      [value.late, /teardown has begun/],
    ] as const) {
      expect(rejection).toBeInstanceOf(WorkflowUpdateFailedError);
      expect((rejection as WorkflowUpdateFailedError).cause).toMatchObject({ type: 'DecisionRejected', message: expect.stringMatching(reason) });
    }
    expect(value.right).toEqual({ action: 'approve', phase: 'shadow', message: expect.stringMatching(/approved shadow/) });
    // Only the accepted one is in the log: Temporal does not record a validator's refusal.
    expect(value.decisions.filter((d) => d.action !== 'analysis').map((d) => `${d.by}:${d.applied}`)).toEqual(['alice:true']);
  });

  describe('the inconclusive policy and the manual gate compose', () => {
    const inconclusive = { override: { compareShadow: async () => ({ verdict: 'inconclusive', passed: false, failed: [], inconclusive: ['200 rows cannot resolve 0.001'], noiseWarnings: [], criteria: [], rows: 200, noise: {}, reportJson: 'r.json', reportHtml: 'r.html' }) as never } };
    const combos = [
      ['pass', 'manual', 'waits at the shadow gate'],
      ['pass', 'auto', 'goes on to the canary'],
      ['approve', 'auto', 'waits at the shadow gate'],
      ['approve', 'manual', 'waits at the shadow gate'],
      ['fail', 'manual', 'rolls back'],
    ] as const;
    it.each(combos)('onInconclusive %s with afterShadow %s %s', async (onInconclusive, afterShadow, expected) => {
      const { value } = await withWorkers(inconclusive, async () => {
        const handle = await start(spec({ shadow: { onInconclusive }, approval: { afterShadow, beforeTeardown: 'auto' }, canary: { steps: [100], intervalSeconds: 1 } }));
        for (;;) {
          const r = await handle.query(recordQuery);
          if (r.pendingGate || r.state !== 'running' || r.phase === 'canary' || r.phase === 'teardown') {
            await handle.terminate('test done').catch(() => undefined);
            return r;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      });
      if (expected === 'waits at the shadow gate') expect(value.pendingGate?.phase).toBe('shadow');
      else if (expected === 'rolls back') expect(value).toMatchObject({ state: 'rolledBack', reason: expect.stringMatching(/inconclusive.*shadow\.onInconclusive is fail/) });
      else {
        expect(value.pendingGate).toBeUndefined();
        expect(['canary', 'teardown']).toContain(value.phase);
      }
    });
  });

  it('tells the truth to an approver whose approve a rollback overtook in the same instant', async () => {
    const { value } = await withWorkers({}, async () => {
      const handle = await start(spec({ approval: { afterShadow: 'manual' } }));
      for (;;) {
        if ((await handle.query(recordQuery)).pendingGate?.phase === 'shadow') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      // Both accepted by their validators before the gate acts: the rollback wins.
      const [approve, rollback] = await Promise.all([
        handle.executeUpdate(approveUpdate, { args: [{ by: 'alice', phase: 'shadow' }] }).catch((e: unknown) => e),
        handle.executeUpdate(rollbackUpdate, { args: [{ by: 'bob', reason: 'bad numbers' }] }).catch((e: unknown) => e),
      ]);
      const result = await migrationResult(handle);
      return { approve, rollback, result };
    });
    expect(value.result.outcome).toBe('rolledBack');
    expect(value.rollback).toMatchObject({ action: 'rollback' });
    // Whichever arrived first, the approver is never told the migration goes on.
    if (value.approve instanceof WorkflowUpdateFailedError) {
      expect(value.approve.cause).toMatchObject({ type: 'DecisionRejected', message: expect.stringMatching(/overtaken: a rollback by bob|a rollback is already under way|no gate was waiting/) });
      const approveDecision = value.result.status.decisions.find((d) => d.action === 'approve');
      if (approveDecision) expect(approveDecision).toMatchObject({ applied: false, note: expect.stringMatching(/^overtaken: a rollback by bob/) });
    } else {
      expect(value.approve, 'an approve reported as applied, yet the migration rolled back').toBeInstanceOf(WorkflowUpdateFailedError);
    }
  });

  it('offers an operator only approve and rollback: the copy child\'s progress signal is not among the workflow\'s handlers', async () => {
    const { value } = await withWorkers({}, async () => {
      const handle = await start(spec({ approval: { afterShadow: 'manual', beforeTeardown: 'auto' } }));
      for (;;) {
        if ((await handle.query(recordQuery)).pendingGate?.phase === 'shadow') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const metadata = (await handle.query('__temporal_workflow_metadata')) as { definition: { signalDefinitions: { name: string }[]; updateDefinitions: { name: string }[] } };
      const overview = await handle.query(statusQuery);
      // A hand-sent progress report for no running child, or malformed, changes nothing.
      await handle.signal('copyProgress', { workflowId: 'not-a-child', status: { stage: 'copy' } });
      await handle.signal('copyProgress', null);
      const status = await handle.query(recordQuery);
      await handle.terminate('test done');
      return { metadata, status, overview };
    });
    // The status query is what an operator needs first, small enough for the UI's query panel.
    expect(value.overview).toMatchObject({
      state: 'running',
      phase: 'shadow',
      move: 'aws:src-bucket/data/ → gcp:dst-bucket/data/',
      waiting: { approve: expect.stringContaining('"phase": "shadow"'), rollback: expect.stringContaining('cloudshift rollback') },
      shadow: expect.stringMatching(/^passed; report /),
      more: expect.stringContaining('query "record"'),
    });
    expect(JSON.stringify(value.overview).length).toBeLessThan(2000);
    expect(value.metadata.definition.signalDefinitions.map((d) => d.name).sort()).toEqual(['approve', 'rollback']);
    expect(value.metadata.definition.updateDefinitions.map((d) => d.name).sort()).toEqual(['approve', 'rollback']);
    expect(value.status.state).toBe('running');
    expect(value.status.copy?.live).toBeUndefined();
  });
});
