/** The audit phase: the source's inventory, its throughput, and the audit report; blocking findings wait or fail. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { MigrationRun } from '../run.js';

export async function audit(run: MigrationRun) {
  const { spec, status } = run;
  run.enter('audit', `inventory of ${spec.source.cloud}:${spec.source.bucket}/${spec.source.prefix}`);
  const inventory = await run.untilRollback(() => run.source.inventorySource.executeWithOptions({ summary: `inventory of ${spec.source.cloud}:${spec.source.bucket}/${spec.source.prefix}` }, [{ location: spec.source }]));
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
