/**
 * One report per migration: what the audit found, how the copy went over time, the shadow gate
 * with its full comparison, the canary step by step, every compensation and decision. Built from
 * the migration's record (and the shadow report's JSON, where the shadow phase wrote one); pure,
 * so the worker writes it at the end and the CLI renders it for a migration still running.
 */
import type { ShadowReport } from '../compare/report.js';
import type { MigrationStatus } from '../workflows/status.js';

export const MIGRATION_REPORT_KIND = 'cloudshift.migration-report/v1';

export interface MigrationReport {
  kind: typeof MIGRATION_REPORT_KIND;
  migration: string;
  generatedAt: string;
  source: MigrationStatus['source'];
  target: MigrationStatus['target'];
  state: MigrationStatus['state'];
  phase: MigrationStatus['phase'];
  reason?: string;
  phases: MigrationStatus['phases'];
  audit?: MigrationStatus['audit'];
  artifact?: MigrationStatus['artifact'];
  endpointsNotHonoured?: string[];
  copy?: MigrationStatus['copy'];
  catchUp?: NonNullable<MigrationStatus['teardown']>['catchUp'];
  teardown?: Omit<NonNullable<MigrationStatus['teardown']>, 'catchUp'>;
  shadow?: MigrationStatus['shadow'] & { report?: ShadowReport; reportError?: string };
  canary?: MigrationStatus['canary'];
  compensations: NonNullable<MigrationStatus['compensations']>;
  decisions: MigrationStatus['decisions'];
  decisionsDropped?: number;
}

/** `shadowReport` is the comparison's JSON as the shadow phase wrote it; `reportError` why it could not be read. */
export function buildMigrationReport(
  status: MigrationStatus,
  options: { generatedAt: string; shadowReport?: ShadowReport; shadowReportError?: string },
): MigrationReport {
  const { catchUp, ...teardown } = status.teardown ?? {};
  const copy = status.copy ? { ...status.copy, live: undefined } : undefined;
  return {
    kind: MIGRATION_REPORT_KIND,
    migration: status.name,
    generatedAt: options.generatedAt,
    source: status.source,
    target: status.target,
    state: status.state,
    phase: status.phase,
    ...(status.reason ? { reason: status.reason } : {}),
    phases: status.phases,
    ...(status.audit ? { audit: status.audit } : {}),
    ...(status.artifact ? { artifact: status.artifact } : {}),
    ...(status.endpointsNotHonoured ? { endpointsNotHonoured: status.endpointsNotHonoured } : {}),
    ...(copy ? { copy } : {}),
    ...(catchUp ? { catchUp: { ...catchUp, live: undefined } } : {}),
    ...(status.teardown ? { teardown } : {}),
    ...(status.shadow
      ? {
          shadow: {
            ...status.shadow,
            ...(options.shadowReport ? { report: options.shadowReport } : {}),
            ...(options.shadowReportError ? { reportError: options.shadowReportError } : {}),
          },
        }
      : {}),
    ...(status.canary ? { canary: status.canary } : {}),
    compensations: status.compensations ?? [],
    decisions: status.decisions,
    ...(status.decisionsDropped ? { decisionsDropped: status.decisionsDropped } : {}),
  };
}
