/**
 * The canary phase: traffic moved step by step by the spec's router, each step judged by PromQL
 * before the next. Too little traffic holds a step rather than failing it; the spec's own queries
 * count failures against their limits; a synthetic load runs for the whole phase where the spec
 * asks for one.
 */
import { CancellationScope, patched, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { CONTROL_TASK_QUEUE, CLOUD_RETRY } from '../definitions.js';
import type { MigrationRun } from '../run.js';
import { RollbackRequested } from '../run.js';
import type { CanaryStatus } from '../status.js';
import { readCanaryAnalysis } from '../canary-analysis.js';

/** Runs recorded before the canary moved to a router and Prometheus replay as they ran. */
export const CANARY_ON_ROUTER_PATCH = 'canary-on-router-and-prometheus';

/** The synthetic load runs as long as the canary, gates included; its heartbeats say it lives. */
const loadActivities = proxyActivities<Activities>({
  taskQueue: CONTROL_TASK_QUEUE,
  startToCloseTimeout: '32 days',
  heartbeatTimeout: '30s',
  retry: CLOUD_RETRY,
});

export async function canary(run: MigrationRun): Promise<void> {
  if (!patched(CANARY_ON_ROUTER_PATCH)) return legacyCanary(run);
  const { spec, status, migration } = run;
  const { canary: plan } = spec;
  run.enter('canary', `steps ${plan.steps.join(', ')} % through ${plan.router.kind}`);
  const endpoints = { source: status.endpoints!.source!, target: status.endpoints!.target! };
  const router = await run.untilRollback(() =>
    run.control.ensureRouter.executeWithOptions({ summary: `the ${plan.router.kind} router in front of both endpoints` }, [
      { migration, router: plan.router, endpoints, clouds: { source: spec.source.cloud, target: spec.target.cloud }, ...(status.targetServer?.metricsAddress ? { metricsAddresses: { target: status.targetServer.metricsAddress } } : {}) },
    ]),
  );
  run.saga.push({ phase: 'canary', what: 'all traffic back to the source', undo: () => run.setWeights(0, false) });
  const state: CanaryStatus = {
    trafficUrl: router.url,
    router: plan.router.kind,
    steps: plan.steps,
    step: 0,
    targetPercent: router.route.targetPercent,
    mirror: router.route.mirror,
    analyses: [],
  };
  status.canary = state;
  const load = startLoad(run, router.url);
  try {
    const failures: Record<string, number> = {};
    for (const [index, weight] of plan.steps.entries()) {
      const mirror = plan.mirror && weight < 100;
      state.step = index + 1;
      run.details(`canary step ${index + 1}/${plan.steps.length}: ${weight} % on the target; traffic to ${router.url}`);
      await run.untilRollback(() => run.setWeights(weight, mirror));
      const applied = await run.untilRollback(() => run.control.readWeights({ migration, router: plan.router }));
      Object.assign(state, { targetPercent: applied.targetPercent, mirror: applied.mirror });
      run.gauges.canary(index + 1, applied.targetPercent);
      const analysis = await judgeStep(run, state, weight, mirror, index);
      for (const metric of analysis.metrics) if (!metric.passed) failures[metric.name] = (failures[metric.name] ?? 0) + 1;
      const overLimit = plan.metrics.filter((m) => (failures[m.name] ?? 0) > m.failureLimit);
      const reasons = [
        ...(analysis.verdict === 'failed' ? analysis.reasons : []),
        ...overLimit.map((m) => `${analysis.metrics.find((x) => x.name === m.name)?.reason ?? m.name} (${failures[m.name]} failed step(s), limit ${m.failureLimit}; query ${m.query})`),
      ];
      if (reasons.length > 0) throw new RollbackRequested(`canary step ${weight} % failed: ${reasons.join('; ')}`, 'failedCheck');
      const next = plan.steps[index + 1];
      if (next !== undefined && spec.approval.betweenCanarySteps === 'manual') {
        await run.gate('canary', `an approve (phase canary) to go from ${weight} % to ${next} %`, `canary analysis at ${weight} %: status.canary.analyses[${state.analyses.length - 1}]`);
      }
    }
  } finally {
    await load?.stop();
  }
  state.waitingForTraffic = undefined;
  run.leave('canary', 'succeeded', `100 % of traffic on the target through ${router.url}`);
}

/**
 * One step judged: after the interval, and again every interval while too little traffic reached
 * the target (the window grows from the step's start), up to the spec's limit; then its policy.
 */
async function judgeStep(run: MigrationRun, state: CanaryStatus, weight: number, mirror: boolean, index: number) {
  const { spec, migration, status } = run;
  const { canary: plan } = spec;
  const stepStarted = new Date().getTime();
  // At 100 % the source serves only stragglers; the last step that gave it traffic is its measure.
  const last = weight >= 100 ? [...state.analyses].reverse().find((a) => a.targetPercent < 100 && a.window.source.requests > 0) : undefined;
  const baseline = last && { targetPercent: last.targetPercent, ...pick(last.window.source) };
  for (;;) {
    await run.untilRollback(() => sleep(plan.intervalSeconds * 1000, { summary: `canary step ${index + 1}/${plan.steps.length}: ${weight} % on the target for ${plan.intervalSeconds} s, then the analysis` }));
    const seconds = (new Date().getTime() - stepStarted) / 1000;
    const analysis = readCanaryAnalysis(
      await run.untilRollback(() =>
        run.control.analyseCanaryWindow.executeWithOptions({ summary: `canary step ${index + 1}/${plan.steps.length} at ${weight} % judged by Prometheus` }, [{
        migration,
        router: plan.router.kind,
        mirror,
        seconds,
        thresholds: plan.thresholds,
        metrics: plan.metrics,
        endpoints: { source: status.endpoints!.source!, target: status.endpoints!.target! },
        trafficUrl: state.trafficUrl,
        targetPercent: weight,
        ...(baseline ? { sourceBaseline: baseline } : {}),
        ...latencyFrom(status),
        ...mirroredAnswers(status, plan.router),
        }]),
      ),
    );
    if (analysis.verdict === 'waitingForTraffic' && seconds < plan.traffic.maxWaitSeconds) {
      state.waitingForTraffic = analysis.reasons[0];
      run.details(`canary step ${index + 1}/${plan.steps.length} at ${weight} %: ${analysis.reasons[0]}`);
      continue;
    }
    state.waitingForTraffic = undefined;
    state.queries = [...analysis.queries, ...analysis.metrics.map(({ name, query, value }) => ({ name, query, ...(value !== undefined ? { value } : {}) }))];
    state.analyses.push({
      targetPercent: weight,
      verdict: analysis.verdict,
      // A passed step has nothing to explain; what failed says why, once.
      reasons: analysis.verdict === 'passed' ? [] : analysis.reasons,
      window: analysis.window,
      values: Object.fromEntries(analysis.queries.flatMap((q) => (q.value !== undefined ? [[q.name, q.value]] : []))),
      metrics: analysis.metrics.map(({ query: _query, reason, ...kept }) => ({ ...kept, ...(kept.passed || reason === undefined ? {} : { reason }) })),
    });
    const evidence = `status.canary.analyses[${state.analyses.length - 1}]`;
    run.gates.record({
      at: new Date().toISOString(),
      action: 'analysis',
      by: 'cloudshift',
      phase: 'canary',
      applied: true,
      note: `${weight} %: ${analysis.verdict}${analysis.reasons.length && analysis.verdict !== 'passed' ? ` (${analysis.reasons.join('; ')})` : ''}${analysis.metrics.length ? `; ${analysis.metrics.map((m) => `${m.name}=${m.value ?? 'no data'} ${m.passed ? 'passed' : 'failed'}`).join(', ')}` : ''}`,
      evidence,
    });
    if (analysis.verdict !== 'waitingForTraffic') return analysis;
    // Waited as long as the spec allows: its policy decides.
    if (plan.traffic.onTimeout === 'rollback') throw new RollbackRequested(`canary step ${weight} %: ${analysis.reasons[0]} after ${plan.traffic.maxWaitSeconds} s (canary.traffic.onTimeout: rollback)`, 'failedCheck');
    await run.gate('canary', `an approve (phase canary) to accept step ${weight} % without enough traffic to judge it`, evidence);
    return { ...analysis, verdict: 'passed' as const, reasons: [] };
  }
}

/** The spec's synthetic load, as a cancellable activity beside the steps. */
function startLoad(run: MigrationRun, url: string): { stop(): Promise<void> } | undefined {
  const { spec } = run;
  if (!spec.canary.load || !spec.workload) return undefined;
  const scope = new CancellationScope();
  const running = scope.run(() => loadActivities.runCanaryLoad({ url, target: spec.target, holdout: spec.workload!.holdout, load: spec.canary.load!, ...v2Load(run) }));
  running.catch(() => undefined);
  return {
    async stop() {
      scope.cancel();
      await running.catch(() => undefined);
    },
  };
}

interface LegacyCanaryActivities {
  ensureGateway(input: { migration: string; source: string; target: string }): Promise<{ url: string; route: { targetPercent: number; mirror: boolean } }>;
  openCanaryWindow(input: { migration: string }): Promise<void>;
  analyseCanaryWindow(input: { migration: string; thresholds: unknown }): Promise<{ passed: boolean; reasons: string[] }>;
}

const legacy = proxyActivities<LegacyCanaryActivities>({ taskQueue: CONTROL_TASK_QUEUE, startToCloseTimeout: '1m', retry: CLOUD_RETRY });

/** The canary as runs before CANARY_ON_ROUTER_PATCH ran it (the worker's own gateway): for their replay. */
async function legacyCanary(run: MigrationRun): Promise<void> {
  const { spec, status, migration } = run;
  run.enter('canary', `steps ${spec.canary.steps.join(', ')} %`);
  await run.untilRollback(() => legacy.ensureGateway({ migration, source: status.endpoints!.source!, target: status.endpoints!.target! }));
  run.saga.push({ phase: 'canary', what: 'all traffic back to the source', undo: () => run.setWeights(0, false) });
  for (const [index, weight] of spec.canary.steps.entries()) {
    await run.untilRollback(() => run.setWeights(weight, spec.canary.mirror && weight < 100));
    await run.untilRollback(() => legacy.openCanaryWindow({ migration }));
    await run.untilRollback(() => sleep(spec.canary.intervalSeconds * 1000));
    const analysis = await run.untilRollback(() => legacy.analyseCanaryWindow({ migration, thresholds: spec.canary.thresholds }));
    if (!analysis.passed) throw new RollbackRequested(`canary step ${weight} % failed: ${analysis.reasons.join('; ')}`, 'failedCheck');
    const next = spec.canary.steps[index + 1];
    if (next !== undefined && spec.approval.betweenCanarySteps === 'manual') {
      await run.gate('canary', `an approve (phase canary) to go from ${weight} % to ${next} %`, `canary analysis at ${weight} %: status.canary.analyses[${index}]`);
    }
  }
  run.leave('canary', 'succeeded', 'all traffic on the target');
}

/** The figures of a side a later step is compared with (no undefined fields: they cross into an activity). */
function pick(side: { requests: number; errorRate: number; p50?: number; p99?: number }) {
  return { requests: side.requests, errorRate: side.errorRate, ...(side.p50 !== undefined ? { p50: side.p50 } : {}), ...(side.p99 !== undefined ? { p99: side.p99 } : {}) };
}

/** The canary load's requests in V2, to the model as the servers were checked to serve it. */
function v2Load(run: MigrationRun): { v2?: NonNullable<Parameters<typeof loadActivities.runCanaryLoad>[0]['v2']> } {
  const served = run.status.served?.source;
  return served ? { v2: { model: served.model, ...(served.version ? { version: served.version } : {}), input: served.input.name, datatype: served.input.datatype, ...(served.inputs ? { inputs: served.inputs } : {}) } } : {};
}

/** Mirrored agreement from the answers the data plane captured, read as each server was checked to answer. */
function mirroredAnswers(status: MigrationRun['status'], routerSpec: MigrationRun['spec']['canary']['router']) {
  const served = status.served;
  if (!served) return {};
  const reading = (side: 'source' | 'target') => ({ outputs: served[side].outputs, ...(served[side].classes ? { classes: served[side].classes } : {}) });
  return { routerSpec, answers: { source: reading('source'), target: reading('target') } };
}

/** A side served by a server other than cloudshift's own (adopted, Triton) has no latency histogram of cloudshift's: the data plane measures it. */
function latencyFrom(status: MigrationRun['status']): { latencyFrom?: { source?: 'dataPlane'; target?: 'dataPlane' } } {
  const foreign = { source: status.served?.source.adopted === true, target: (status.targetServer?.server ?? 'cloudshift') !== 'cloudshift' };
  if (!foreign.source && !foreign.target) return {};
  return { latencyFrom: { ...(foreign.source ? { source: 'dataPlane' as const } : {}), ...(foreign.target ? { target: 'dataPlane' as const } : {}) } };
}
