/**
 * The shadow phase: the model as stored in each cloud over the holdout as stored there, both
 * sides at once, then the comparison and its gate (src/compare/report.ts decides; the verdict is
 * read here through a parser that cannot throw).
 */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { ShadowInferenceInput } from '../../activities/shadow.js';

/** Marks runs where an inconclusive verdict passed on (`onInconclusive: pass`) still stops at `afterShadow: manual`. */
export const INCONCLUSIVE_KEEPS_GATE_PATCH = 'inconclusive-pass-keeps-manual-gate';

/** Rows one V2 request carries at most: a JSON body stays well under servers' request limits. */
const ENDPOINT_BATCH_ROWS = 256;
import type { MigrationRun } from '../run.js';
import { RollbackRequested } from '../run.js';
import { recordShadow } from '../metrics.js';
import { readShadowVerdict } from '../verdict.js';
import { targetModelPath, verifyTargetArtifact, type Workload } from './stand-up-target.js';

export async function shadow(run: MigrationRun, workload: Workload): Promise<void> {
  const { spec, status, migration } = run;
  if (spec.shadow.through === 'endpoints' && !status.served) {
    throw ApplicationFailure.nonRetryable('shadow.through is endpoints, but this run checked no servers over V2 (it began before cloudshift spoke V2); run the shadow through the models', 'InvalidMigrationSpec');
  }
  run.enter('shadow', `${workload.holdout.path} through the ${spec.shadow.through === 'endpoints' ? 'servers' : 'model'} on both clouds`);
  if (workload.artifact) await verifyTargetArtifact(run, workload, 'before its shadow side runs');
  const modelPaths = [workload.model.path, targetModelPath(workload)];
  const checksums = await run.untilRollback(() => run.target.modelChecksums.executeWithOptions({ summary: 'both models checked against the copy manifest' }, [{ migration, source: spec.source, target: spec.target, modelPaths }]));
  const expected = { source: checksums[modelPaths[0]!]!, target: checksums[modelPaths[1]!]! };
  const side = (which: 'source' | 'target'): ShadowInferenceInput => ({
    migration,
    side: which,
    location: spec[which],
    predictionsLocation: spec.target,
    workload: which === 'target' ? { ...workload, model: { path: targetModelPath(workload) } } : workload,
    executionProvider: spec.shadow.executionProvider,
    batchSize: spec.shadow.batchSize,
    expectedModelSha256: expected[which],
    // Both sides: either side's jitter can be mistaken for drift. A sample of rows bounds it.
    measureNoise: true,
  });
  const served = spec.shadow.through === 'endpoints' ? status.served : undefined;
  const inference = (s: 'source' | 'target') =>
    served
      ? run[s].runShadowThroughEndpoint.executeWithOptions({ summary: `the holdout through the ${s} server ${served[s].url} (V2), its answers as the ${s}'s predictions` }, [
          { migration, side: s, location: spec[s], predictionsLocation: spec.target, holdout: workload.holdout, served: served[s], batchSize: Math.min(spec.shadow.batchSize, ENDPOINT_BATCH_ROWS), expectedModelSha256: expected[s] },
        ])
      : run[s].runShadowInference.executeWithOptions({ summary: `shadow inference on the ${s} (${spec[s].cloud}) over the holdout` }, [side(s)]);
  const [sourceRun, targetRun] = await run.untilRollback(() => Promise.all([inference('source'), inference('target')]));
  const { location: _s, predictionsLocation: _sp, ...sourceSummary } = sourceRun;
  const { location: _t, predictionsLocation: _tp, ...targetSummary } = targetRun;
  status.shadow = { sides: { source: sourceSummary, target: targetSummary } };
  const verdict = await run.untilRollback(() =>
    run.comparison.compareShadow.executeWithOptions({ summary: 'both sides paired row by row, gated on the tolerances, the report written' }, [
      { migration, task: workload.holdout.task, source: sourceRun, target: targetRun, shadow: spec.shadow, ...(status.artifact?.target?.provenance ? { provenance: status.artifact.target.provenance } : {}) },
    ]),
  );
  status.shadow.verdict = verdict;
  const read = readShadowVerdict(verdict);
  recordShadow(run.tags, read.kind, read.rows, read.criteria);
  if (read.kind === 'failed') {
    throw new RollbackRequested(`the shadow gate failed: ${read.failures.join(', ')}; report ${read.reportHtml}`, 'failedCheck');
  }
  if (read.kind === 'inconclusive') {
    const why = `the shadow gate is inconclusive: ${read.inconclusive.join('; ') || 'the holdout cannot resolve the tolerance'}`;
    if (spec.shadow.onInconclusive === 'fail') throw new RollbackRequested(`${why} (shadow.onInconclusive is fail); report ${read.reportHtml}`, 'failedCheck');
    // `pass` passes the verdict, not the gate: with approval.afterShadow manual an operator still decides.
    const gated = spec.shadow.onInconclusive === 'approve' || (spec.approval.afterShadow === 'manual' && patched(INCONCLUSIVE_KEEPS_GATE_PATCH));
    if (gated) await run.gate('shadow', `an approve (phase shadow): ${why}`, read.reportHtml);
    run.record('shadow').detail = `${why}; ${spec.shadow.onInconclusive === 'pass' ? `passed on, as shadow.onInconclusive says${gated ? ', and approved at the manual gate' : ''}` : 'approved'}`;
  } else if (spec.approval.afterShadow === 'manual') {
    await run.gate('shadow', 'an approve (phase shadow) after reviewing the shadow report', read.reportHtml);
  }
  run.leave('shadow', 'succeeded', `${read.rows} rows ${read.kind === 'passed' ? 'within tolerance' : 'inconclusive'}; report ${read.reportHtml}`);
}
