/**
 * The teardown phase, after its approval: the point of no return, a catch-up copy of what changed
 * meanwhile, the source endpoint stopped, and (if the spec asks) the source objects retired —
 * each only where the target holds its verified copy.
 */
import { executeChild, workflowInfo } from '@temporalio/workflow';
import { copyDataWorkflow } from '../copy-data.js';
import type { MigrationRun } from '../run.js';
import type { Workload } from './stand-up-target.js';
import { countEgressOf } from '../metrics.js';

/** Source objects retired per activity call. */
const RETIRE_PAGE = 1000;

export async function teardown(run: MigrationRun, workload: Workload | undefined): Promise<void> {
  const { spec, status, migration, gates } = run;
  if (spec.approval.beforeTeardown === 'manual') {
    await run.gate('teardown', 'an approve (phase teardown) to retire the source: after it, no rollback', 'status.canary and status.copy');
  }
  // The point of no return: from here a rollback is refused (and recorded as refused).
  gates.pointOfNoReturn = true;
  run.enter('teardown', 'catch-up sync, then retiring the source');
  const catchUpId = `${workflowInfo().workflowId}/copy/catch-up`;
  status.teardown = { catchUp: { workflowId: catchUpId } };
  const caughtUp = await executeChild(copyDataWorkflow, { workflowId: catchUpId, args: [run.copyInput('catchUp')] });
  status.teardown.catchUp = { workflowId: catchUpId, ...caughtUp };
  if (caughtUp.progress && status.audit) countEgressOf(run, caughtUp.progress.copiedBytes, status.audit.egress);
  const adopted = status.served?.source.adopted === true;
  if (workload && spec.teardown.stopSourceEndpoint && !adopted) {
    await run.source.stopEndpoint({ migration, side: 'source' });
    status.teardown.sourceEndpointStopped = true;
  }
  if (adopted) {
    // cloudshift never stops a server it did not start: it says so, and who should.
    status.teardown.sourceEndpointStopped = false;
    status.teardown.sourceEndpointNote = `the adopted source endpoint ${status.served!.source.url} was left running${workload?.endpoints.source?.stopOnTeardown ? ': the spec asks for it to be stopped; stop it where it is deployed, now that traffic is on the target' : ''}`;
  }
  if (spec.teardown.deleteSourceData) await retireSourceData(run);
  const t = status.teardown;
  run.leave(
    'teardown',
    'succeeded',
    `catch-up copied ${caughtUp.progress.copiedObjects}, verified ${caughtUp.progress.verifiedObjects}` +
      (t.sourceEndpointStopped ? '; source endpoint stopped' : '') +
      (spec.teardown.deleteSourceData ? `; ${t.sourceDeleted} source objects deleted, ${t.sourceKept} kept (not verified at the target)` : '; source data kept'),
  );
}

async function retireSourceData(run: MigrationRun): Promise<void> {
  const { spec, migration } = run;
  const t = run.status.teardown!;
  Object.assign(t, { sourceDeleted: 0, sourceKept: 0, sourceKeptKeys: [] });
  let cursor: string | undefined;
  do {
    const page = await run.source.deleteVerifiedSourcePage({
      migration,
      source: spec.source,
      target: spec.target,
      include: spec.copy.include,
      exclude: spec.copy.exclude,
      cursor,
      pageSize: RETIRE_PAGE,
      concurrency: spec.copy.concurrency,
    });
    t.sourceDeleted! += page.deleted;
    t.sourceKept! += page.kept;
    t.sourceKeptKeys = [...t.sourceKeptKeys!, ...page.keptKeys].slice(0, 20);
    cursor = page.cursor;
  } while (cursor);
}
