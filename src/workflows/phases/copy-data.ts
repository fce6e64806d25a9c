/** The copy phase: the copy child workflow (copy-data.ts) over everything the audit counted. */
import { executeChild, workflowInfo } from '@temporalio/workflow';
import type { AuditReport } from '../../audit/report.js';
import { copyDataWorkflow } from '../copy-data.js';
import { countEgressOf } from '../metrics.js';
import type { MigrationRun } from '../run.js';
import type { SourceInventory } from '../status.js';

/** Copies and verifies; says whether it was a dry run (which only plans). */
export async function copyData(run: MigrationRun, inventory: SourceInventory, report: AuditReport): Promise<{ dryRun: boolean }> {
  const { status } = run;
  run.enter('copyData', `${inventory.objects} objects, ${inventory.bytes} bytes`);
  const copyId = `${workflowInfo().workflowId}/copy/1`;
  status.copy = { workflowId: copyId };
  const copied = await run.untilRollback(() =>
    executeChild(copyDataWorkflow, {
      workflowId: copyId,
      args: [{ ...run.copyInput('initial'), expected: { objects: inventory.objects, bytes: inventory.bytes }, estimatedMiBps: report.copyTime.mibPerSecond || undefined }],
    }),
  );
  status.copy = { workflowId: copyId, ...copied };
  if (copied.plan) {
    run.leave('copyData', 'succeeded', `dry run: ${copied.plan.objects} objects, ${copied.plan.bytes} bytes would be copied`);
    for (const phase of ['shadow', 'canary', 'teardown'] as const) run.leave(phase, 'skipped', 'dry run');
    return { dryRun: true };
  }
  const p = copied.progress;
  countEgressOf(run, p.copiedBytes, report.egress);
  run.leave(
    'copyData',
    'succeeded',
    `${p.copiedObjects} copied, ${p.skippedObjects} already there, ${p.verifiedObjects} verified; manifest ${copied.manifestPrefix}` +
      (p.vanishedCount ? `; ${p.vanishedCount} vanished from the source during the copy` : ''),
  );
  return { dryRun: false };
}
