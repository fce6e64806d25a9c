/** The migration report, written at a migration's end beside its copy (see report/). */
import type { StoreResolver } from '../clouds/profiles.js';
import { type StoredReport, writeMigrationReport } from '../report/stored.js';
import type { StorageLocation } from '../spec.js';
import type { MigrationStatus } from '../workflows/status.js';
import { assertRunOwnsFolder } from '../copy/run-claim.js';
import { assertApart } from './object-access.js';

export interface ReportDeps {
  stores: StoreResolver;
}

export interface MigrationReportInput {
  target: StorageLocation;
  /** Checked apart from the target first: a report is never written into the source (absent in older runs). */
  source?: StorageLocation;
  /** This run's mark: the report goes only into a folder this run owns. */
  mark?: string;
  status: MigrationStatus;
}

export function createReportActivities(deps: ReportDeps) {
  return {
    /** Builds the report from the final record and the shadow comparison, and writes its JSON and HTML to the target. */
    async writeMigrationReport(input: MigrationReportInput): Promise<StoredReport> {
      if (input.source) await assertApart(input.source, input.target, 'write the migration report', deps.stores);
      const store = deps.stores.store(input.target);
      if (input.mark) await assertRunOwnsFolder(store, input.target, input.status.name, input.mark, 'does not write its report there');
      return writeMigrationReport(store, input.target, input.status);
    },
  };
}
