/**
 * `cloudshift report`: the report a migration wrote to its target, read back with the target's
 * profile; for a migration still running (or one that could not write it), built here from where
 * it stands, from the same record and the same renderer.
 */
import { StoreResolver } from '../clouds/profiles.js';
import { loadConfig } from '../config.js';
import { renderMigrationReportHtml } from '../report/html.js';
import { readMigrationReport, reportOf } from '../report/stored.js';
import type { StorageLocation } from '../spec.js';
import type { MigrationStatus } from '../workflows/status.js';

export interface FetchedReport {
  bytes: Buffer;
  /** Where it came from: the object's URI, or "built from the live record". */
  from: string;
  /** Said to the user on standard error, e.g. that the migration still runs. */
  note?: string;
}

/** The target as the record names it; a record from before it named the profile takes this machine's first profile for that cloud. */
function targetOf(status: MigrationStatus, profiles: ReturnType<typeof loadConfig>['profiles']): StorageLocation {
  const profile = status.target.profile ?? Object.entries(profiles).find(([, p]) => p.cloud === status.target.cloud)?.[0];
  if (!profile) throw new Error(`no connection profile for ${status.target.cloud} on this machine (CLOUDSHIFT_PROFILES) to read ${status.name}'s report from the target`);
  return { cloud: status.target.cloud, bucket: status.target.bucket, prefix: status.target.prefix, profile } as StorageLocation;
}

export async function fetchReport(status: MigrationStatus, format: 'json' | 'html'): Promise<FetchedReport> {
  const { profiles } = loadConfig();
  const stores = new StoreResolver(profiles);
  const target = targetOf(status, profiles);
  const store = stores.store(target);
  if (status.report) {
    const bytes = await readMigrationReport(store, target, status.name, format);
    if (bytes) return { bytes, from: status.report[format] };
  }
  const report = await reportOf(store, target, status);
  const bytes = Buffer.from(format === 'json' ? JSON.stringify(report, null, 2) : renderMigrationReportHtml(report));
  const note =
    status.state === 'running'
      ? `${status.name} is still running (${status.phase}): this report says where it stands now`
      : status.report
        ? `the report written at the end is gone from ${status.report[format]}; built again from the final record`
        : `${status.name} wrote no report${status.reportError ? ` (${status.reportError})` : status.reportSkipped ? ` (${status.reportSkipped})` : ''}; built from its final record`;
  return { bytes, from: 'built from the record', note };
}
