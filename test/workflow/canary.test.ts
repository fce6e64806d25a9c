/**
 * The canary phase's own logic on the time-skipping server, with stub analyses: a step that holds
 * for lack of traffic, the policy when traffic never comes, a spec metric's failure limit, and an
 * analysis the workflow cannot read.
 */
import { describe, expect, it } from 'vitest';
import { approveUpdate, recordQuery } from '../../src/workflows/definitions.js';
import { migrationResult } from '../../src/client/index.js';
import { timeSkippingHarness } from './harness.js';

const harness = timeSkippingHarness();
const { withWorkers, spec, start } = harness;

describe('the canary phase with stub analyses', () => {
  const judged = (verdict: string, extra: Record<string, unknown> = {}) =>
    ({ verdict, reasons: verdict === 'passed' ? [] : [`${verdict}: stub`], queries: [], metrics: [], window: { since: '', until: '', seconds: 60, source: {}, target: {}, mirror: {} }, ...extra }) as never;
  const sequence = (...answers: unknown[]) => {
    let call = 0;
    return async () => answers[Math.min(call++, answers.length - 1)] as never;
  };

  it('holds a step while too little traffic reaches the target, says so in the status, and goes on once it does', async () => {
    const s = spec();
    const { value, calls } = await withWorkers({ override: { analyseCanaryWindow: sequence(judged('waitingForTraffic'), judged('waitingForTraffic'), judged('passed')) } }, async () => {
      const handle = await start(s);
      return await migrationResult(handle);
    });
    expect(value.outcome).toBe('completed');
    // 50 % held twice, then 50 % and 100 % judged.
    expect(calls.filter((c) => c === 'analyseCanaryWindow')).toHaveLength(4);
    expect(value.status.canary?.analyses.map((a) => `${a.targetPercent}:${a.verdict}`)).toEqual(['50:passed', '100:passed']);
    expect(value.status.canary?.waitingForTraffic).toBeUndefined();
  });

  it('asks the 100 % step to judge the target against the source of the last step that gave it traffic', async () => {
    const inputs: { targetPercent?: number; sourceBaseline?: unknown }[] = [];
    const source = (requests: number, p99?: number) => ({ requests, errors: 0, errorRate: 0, p50: 0.002, ...(p99 !== undefined ? { p99 } : {}) });
    const windows = [source(300, 0.01), source(0), source(4, 0.5)];
    const analyse = async (input: { targetPercent?: number; sourceBaseline?: unknown }) => {
      inputs.push(input);
      // At 50 % the source served nothing in its window (scraped late): the 10 % step stands in.
      return judged('passed', { window: { since: '', until: '', seconds: 60, source: windows[inputs.length - 1], target: {}, mirror: {} } });
    };
    const { value } = await withWorkers({ override: { analyseCanaryWindow: analyse as never } }, async () => migrationResult(await start(spec({ canary: { steps: [10, 50, 100], intervalSeconds: 60 } }))));
    expect(value.outcome).toBe('completed');
    expect(inputs.map((i) => [i.targetPercent, i.sourceBaseline])).toEqual([
      [10, undefined],
      [50, undefined],
      [100, { targetPercent: 10, requests: 300, errorRate: 0, p50: 0.002, p99: 0.01 }],
    ]);
  });

  it('follows canary.traffic.onTimeout when traffic never comes: rollback, or a gate an operator approves', async () => {
    const never = { analyseCanaryWindow: async () => judged('waitingForTraffic', { reasons: ['waiting for traffic: 0 of 20 requests reached the target in 300 s; send requests to http://router'] }) };
    const rolledBack = await withWorkers({ override: never }, async () =>
      migrationResult(await start(spec({ canary: { steps: [50, 100], intervalSeconds: 60, traffic: { maxWaitSeconds: 300, onTimeout: 'rollback' } } }))),
    );
    expect(rolledBack.value.outcome).toBe('rolledBack');
    expect(rolledBack.value.status.reason).toMatch(/canary step 50 %: waiting for traffic: 0 of 20 .* after 300 s \(canary.traffic.onTimeout: rollback\)/);
    expect(rolledBack.value.status.compensations?.[0]).toMatchObject({ what: 'all traffic back to the source', outcome: 'done' });

    const approved = await withWorkers({ override: never }, async () => {
      const handle = await start(spec({ canary: { steps: [50, 100], intervalSeconds: 60, traffic: { maxWaitSeconds: 120 } } }));
      for (const phase of ['canary', 'canary']) {
        await harness.waitFor(async () => (await handle.query(recordQuery)).pendingGate?.phase === phase);
        await handle.executeUpdate(approveUpdate, { args: [{ by: 'olga', phase: 'canary', comment: 'quiet hours' }] });
      }
      return await migrationResult(handle);
    });
    expect(approved.value.outcome).toBe('completed');
    expect(approved.value.status.decisions.filter((d) => d.action === 'approve').map((d) => d.by)).toEqual(['olga', 'olga']);
  });

  it('counts a spec metric\'s failed steps against its failureLimit', async () => {
    const metric = { name: 'conversion', query: 'q', condition: '>= 0.2', passed: false, value: 0.1, reason: 'conversion = 0.1, expected >= 0.2' };
    const canary = { steps: [10, 50, 100], intervalSeconds: 60, metrics: [{ name: 'conversion', query: 'sum(x)', condition: { op: '>=', value: 0.2 }, failureLimit: 1 }] };
    const { value } = await withWorkers({ override: { analyseCanaryWindow: async () => judged('passed', { metrics: [metric] }) } }, async () =>
      migrationResult(await start(spec({ canary }))),
    );
    expect(value.outcome).toBe('rolledBack');
    expect(value.status.reason).toBe('canary step 50 % failed: conversion = 0.1, expected >= 0.2 (2 failed step(s), limit 1; query sum(x))');
    expect(value.status.decisions.filter((d) => d.action === 'analysis').map((d) => d.note)).toEqual(['10 %: passed; conversion=0.1 failed', '50 %: passed; conversion=0.1 failed']);
  });

  it('rolls back, never wedges, on an analysis it cannot read', async () => {
    for (const answer of [null, { verdict: 'maybe' }, { verdict: 'failed', reasons: null, window: { source: { requests: 'NaN' } } }]) {
      const { value } = await withWorkers({ override: { analyseCanaryWindow: async () => answer as never } }, async () => migrationResult(await start(spec())));
      expect(value.outcome).toBe('rolledBack');
      expect(value.status.reason).toMatch(/canary step 50 % failed: the (canary analysis returned a result cloudshift cannot read|analysis failed the step without naming a check)/);
    }
  });

  it('keeps the status within a payload over a hundred steps of twenty long queries', async () => {
    const metrics = Array.from({ length: 20 }, (_, i) => ({ name: `m${i}`, query: `sum(x{q="${'y'.repeat(3980)}"})`, condition: { op: '>=', value: 0 } }));
    const measured = metrics.map((m) => ({ name: m.name, query: m.query, condition: '>= 0', passed: true, value: 1, reason: 'r'.repeat(50_000) }));
    const steps = Array.from({ length: 100 }, (_, i) => i + 1);
    const { value } = await withWorkers({ override: { analyseCanaryWindow: async () => judged('passed', { metrics: measured, reasons: ['z'.repeat(100_000)] }) } }, async () =>
      migrationResult(await start(spec({ canary: { steps, intervalSeconds: 60, metrics } }))),
    );
    expect(value.status.reason).toBeUndefined();
    expect(value.outcome).toBe('completed');
    expect(value.status.canary?.analyses).toHaveLength(100);
    expect(JSON.stringify(value.status).length).toBeLessThan(1_500_000);
    expect(value.status.canary?.queries).toHaveLength(20);
  }, 120_000);
});
