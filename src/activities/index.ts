import { type AuditDeps, createAuditActivities } from './audit.js';
import { type CopyDeps, createCopyActivities } from './copy.js';
import { createEndpointActivities, type EndpointDeps } from './endpoints.js';
import { createInventoryActivities, type InventoryDeps } from './inventory.js';
import { createShadowActivities, type ShadowDeps } from './shadow.js';
import { createTrafficActivities, type TrafficDeps } from './traffic.js';

export type ActivityDeps = InventoryDeps & AuditDeps & CopyDeps & ShadowDeps & EndpointDeps & TrafficDeps;

/** Every activity, built from its dependencies; tests pass their own. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createInventoryActivities(deps),
    ...createAuditActivities(deps),
    ...createCopyActivities(deps),
    ...createShadowActivities(deps),
    ...createEndpointActivities(deps),
    ...createTrafficActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
