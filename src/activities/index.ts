/**
 * Every activity, one module per phase (audit, stand-up-target, copy-data, shadow, canary,
 * teardown, the report) and the model's artifact, built by one factory over their dependencies; tests pass their own.
 */
import { type ArtifactDeps, createArtifactActivities } from './artifacts.js';
import { type AuditDeps, createAuditActivities } from './audit.js';
import { type CanaryDeps, createCanaryActivities } from './canary.js';
import { type CopyDeps, createCopyDataActivities } from './copy-data.js';
import { createReportActivities, type ReportDeps } from './report.js';
import { createShadowActivities, type ShadowDeps } from './shadow.js';
import { createStandUpTargetActivities, type StandUpTargetDeps } from './stand-up-target.js';
import { createTeardownActivities, type TeardownDeps } from './teardown.js';

export type ActivityDeps = AuditDeps & ArtifactDeps & StandUpTargetDeps & CopyDeps & ShadowDeps & CanaryDeps & TeardownDeps & ReportDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createAuditActivities(deps),
    ...createArtifactActivities(deps),
    ...createStandUpTargetActivities(deps),
    ...createCopyDataActivities(deps),
    ...createShadowActivities(deps),
    ...createCanaryActivities(deps),
    ...createTeardownActivities(deps),
    ...createReportActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
