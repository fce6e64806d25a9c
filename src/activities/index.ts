import { createInventoryActivities, type InventoryDeps } from './inventory.js';

export type ActivityDeps = InventoryDeps;

/** Every activity, built from its dependencies; tests pass their own. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createInventoryActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
