import { type AuditDeps, createAuditActivities } from './audit.js';
import { type CopyDeps, createCopyActivities } from './copy.js';
import { createInventoryActivities, type InventoryDeps } from './inventory.js';

export type ActivityDeps = InventoryDeps & AuditDeps & CopyDeps;

/** Every activity, built from its dependencies; tests pass their own. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createInventoryActivities(deps),
    ...createAuditActivities(deps),
    ...createCopyActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
