/** The audit phase: the source's inventory, its throughput, and the audit report; blocking findings wait or fail. */
import { ApplicationFailure, patched } from '@temporalio/workflow';
import type { MigrationRun } from '../run.js';

/** The pre-flight runs first in the audit: what the migration would fail on later is found before anything is created or copied. */
export const PREFLIGHT_PATCH = 'preflight-first';

export async function audit(run: MigrationRun) {
  const { spec, status } = run;
  run.enter('audit', `inventory of ${spec.source.cloud}:${spec.source.bucket}/${spec.source.prefix}`);
  if (patched(PREFLIGHT_PATCH)) {
    const checks = await run.untilRollback(() => run.source.preflightSource.executeWithOptions({ summary: 'pre-flight at the source: the model and holdout there, parsed, and fit for each other' }, [{ spec }]));
    const failedChecks = checks.filter((c) => c.outcome === 'failed');
    if (failedChecks.length > 0) {
      throw ApplicationFailure.nonRetryable(`the pre-flight found what this migration would fail on: ${failedChecks.map((c) => `${c.field} (${c.check}): ${c.detail}`).join('; ')}`, 'PreflightFailed');
    }
  }
  const inventory = await run.untilRollback(() => run.source.inventorySource.executeWithOptions({ summary: `inventory of ${spec.source.cloud}:${spec.source.bucket}/${spec.source.prefix}` }, [{ location: spec.source, filter: { include: spec.copy.include, exclude: spec.copy.exclude } }]));
  status.inventory = inventory;
  const measured = spec.audit.throughputMiBps
    ? undefined
    : await run.untilRollback(() =>
        run.source.measureSourceThroughput({ location: spec.source, objects: inventory.largest, sampleMiB: spec.audit.sampleMiB, streams: spec.copy.concurrency }),
      );
  const artifactSpec = spec.workload?.artifact;
  const artifact = artifactSpec
    ? await run.untilRollback(() =>
        run.source.checkSourceArtifact.executeWithOptions({ summary: `the model's artifact ${artifactSpec.folder} checked at the source: signature and every file` }, [{ location: spec.source, artifact: artifactSpec }]),
      )
    : undefined;
  if (artifact) status.artifact = { source: artifact };
  const report = await run.control.auditReport({
    source: spec.source.cloud,
    target: spec.target.cloud,
    dependencies: spec.deployment.dependencies,
    inventory,
    concurrency: spec.copy.concurrency,
    configuredMiBps: spec.audit.throughputMiBps,
    measured,
    ...(artifact ? { artifact } : {}),
  });
  status.audit = report;
  if (report.blocking.length > 0) {
    const summary = `${report.blocking.length} blocking audit finding(s): ${report.blocking.join(' | ')}`;
    if (spec.approval.onBlockingFindings === 'fail') {
      run.leave('audit', 'failed', summary);
      throw ApplicationFailure.nonRetryable(`${summary}. The spec says to fail on blocking findings (approval.onBlockingFindings).`, 'BlockingAuditFindings', { blocking: report.blocking });
    }
    run.record('audit').detail = summary;
    await run.gate('audit', `an approve (phase audit) acknowledging ${summary}`, 'the audit report in status.audit');
  }
  run.leave('audit', 'succeeded', `${inventory.objects} objects, ${inventory.bytes} bytes; ${report.counts.blocking} blocking, ${report.counts.manual} manual`);
  return { inventory, report };
}
