/** The migration report, written at a migration's end beside its copy (see report/). */
import type { StoreResolver } from '../clouds/profiles.js';
import { type StoredReport, writeMigrationReport } from '../report/stored.js';
import type { StorageLocation } from '../spec.js';
import type { MigrationStatus } from '../workflows/status.js';
import { asActivity } from './failures.js';

export interface ReportDeps {
  stores: StoreResolver;
}

export interface MigrationReportInput {
  target: StorageLocation;
  status: MigrationStatus;
}

export function createReportActivities(deps: ReportDeps) {
  return {
    /** Builds the report from the final record and the shadow comparison, and writes its JSON and HTML to the target. */
    async writeMigrationReport(input: MigrationReportInput): Promise<StoredReport> {
      return asActivity(() => writeMigrationReport(deps.stores.store(input.target), input.target, input.status));
    },
  };
}
