/** The canary phase: traffic moved step by step through the gateway, each step analysed before the next. */
import { sleep } from '@temporalio/workflow';
import type { MigrationRun } from '../run.js';
import { RollbackRequested } from '../run.js';
import type { MigrationStatus } from '../status.js';

export async function canary(run: MigrationRun): Promise<void> {
  const { spec, status, migration } = run;
  run.enter('canary', `steps ${spec.canary.steps.join(', ')} %`);
  const gateway = await run.untilRollback(() => run.control.ensureGateway({ migration, source: status.endpoints!.source!, target: status.endpoints!.target! }));
  run.saga.push({ phase: 'canary', what: 'all traffic back to the source', undo: () => run.setWeights(0, false) });
  const state = {
    gatewayUrl: gateway.url,
    steps: spec.canary.steps,
    step: 0,
    targetPercent: gateway.route.targetPercent,
    mirror: gateway.route.mirror,
    analyses: [] as NonNullable<MigrationStatus['canary']>['analyses'],
  };
  status.canary = state;
  for (const [index, weight] of spec.canary.steps.entries()) {
    const mirror = spec.canary.mirror && weight < 100;
    state.step = index + 1;
    run.details(`canary step ${index + 1}/${spec.canary.steps.length}: ${weight} % on the target`);
    await run.untilRollback(() => run.setWeights(weight, mirror));
    Object.assign(state, { targetPercent: weight, mirror });
    await run.untilRollback(() => run.control.openCanaryWindow({ migration }));
    await run.untilRollback(() => sleep(spec.canary.intervalSeconds * 1000));
    const analysis = await run.untilRollback(() => run.control.analyseCanaryWindow({ migration, thresholds: spec.canary.thresholds }));
    const { route: _route, ...window } = analysis.window;
    state.analyses.push({ targetPercent: weight, passed: analysis.passed, reasons: analysis.reasons, window });
    if (!analysis.passed) throw new RollbackRequested(`canary step ${weight} % failed: ${analysis.reasons.join('; ')}`, 'failedCheck');
    const next = spec.canary.steps[index + 1];
    if (next !== undefined && spec.approval.betweenCanarySteps === 'manual') {
      await run.gate('canary', `an approve (phase canary) to go from ${weight} % to ${next} %`, `canary analysis at ${weight} %: status.canary.analyses[${index}]`);
    }
  }
  run.leave('canary', 'succeeded', `100 % of traffic on the target through ${gateway.url}`);
}
