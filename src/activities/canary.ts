/** The canary activities: the gateway between the two endpoints, its weights, and each step's window and analysis. */
import { type CanaryAnalysis, analyseCanary } from '../traffic/analysis.js';
import type { Route } from '../traffic/gateway.js';
import type { GatewayInfo, TrafficRouter } from '../traffic/router.js';
import type { MigrationSpec } from '../spec.js';

export interface CanaryDeps {
  router: TrafficRouter;
}

export interface SetWeightsInput {
  migration: string;
  targetPercent: number;
  mirror: boolean;
  /** Increases with every change a workflow makes, so a retried change is a no-op. */
  revision: number;
}

export function createCanaryActivities(deps: CanaryDeps) {
  return {
    /** The migration's gateway between the two endpoints, all traffic on the source at first. */
    async ensureGateway(input: { migration: string; source: string; target: string }): Promise<GatewayInfo> {
      return deps.router.ensureGateway(input.migration, { source: input.source, target: input.target });
    },

    async setWeights(input: SetWeightsInput): Promise<Route> {
      const { route } = await deps.router.setRoute(input.migration, { targetPercent: input.targetPercent, mirror: input.mirror, revision: input.revision });
      return route;
    },

    /** Starts a fresh measurement interval at the gateway. */
    async openCanaryWindow({ migration }: { migration: string }): Promise<void> {
      await deps.router.openWindow(migration);
    },

    /** Judges the interval since openCanaryWindow against the spec's thresholds. */
    async analyseCanaryWindow(input: { migration: string; thresholds: MigrationSpec['canary']['thresholds'] }): Promise<CanaryAnalysis> {
      return analyseCanary(await deps.router.readWindow(input.migration), input.thresholds);
    },
  };
}
