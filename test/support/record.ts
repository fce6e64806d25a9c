import type { WorkflowHandle } from '@temporalio/client';
import { recordQuery } from '../../src/workflows/definitions.js';
import { overviewOf } from '../../src/workflows/overview.js';
import type { MigrationStatus } from '../../src/workflows/status.js';
import { eventually } from './wait.js';

/**
 * The migration's record once `accept` holds for it. On time-out the error carries the overview
 * of where it stood instead (phase, gate, canary step and its last reason), so a run that stalls
 * in CI says where.
 */
export function recordWhen(handle: WorkflowHandle, accept: (record: MigrationStatus) => unknown, timeoutMs = 30_000): Promise<MigrationStatus> {
  return eventually(
    async () => {
      const record = await handle.query(recordQuery);
      return accept(record) ? record : undefined;
    },
    timeoutMs,
    async () => JSON.stringify(overviewOf(await handle.query(recordQuery))),
  );
}
