/**
 * The TrafficRouter contract: how the canary moves traffic, whatever moves it. cloudshift is the
 * control plane; a router drives a real data plane (a proxy, weighted DNS, a cloud load balancer,
 * a Gateway API HTTPRoute) and never carries a request itself.
 */
import type { Route, RouteChange, RouterCapabilities, RouterKind } from './route.js';
import type { ScrapeTarget } from './discovery.js';
import type { MirroredCapture } from './mirrored-answers.js';

export interface RouterInfo {
  /** Where callers send prediction requests. */
  url: string;
  route: Route;
}

export interface RouteBackends {
  /** Base URLs of the two endpoints. */
  source: string;
  target: string;
}

export interface TrafficRouter {
  readonly kind: RouterKind;
  readonly capabilities: RouterCapabilities;
  /**
   * Idempotent: the migration's route between the two endpoints, all traffic on the source the
   * first time. A route that exists keeps its weights; endpoints that moved are followed.
   */
  ensure(migration: string, backends: RouteBackends): Promise<RouterInfo>;
  /**
   * Sets the weights at once (both sides in one change), persisted by the data plane, unless
   * `revision` is not above the applied one: a retried change is a no-op.
   */
  setWeights(migration: string, change: Required<Pick<RouteChange, 'revision' | 'targetPercent' | 'mirror'>>): Promise<{ route: Route; applied: boolean }>;
  /** The weights as the data plane holds them now, read back from it. */
  readWeights(migration: string): Promise<Route>;
  /** What Prometheus scrapes of this router's data plane for the migration (none for DNS). */
  scrapeTargets(migration: string): Promise<ScrapeTarget[]>;
  /**
   * Both answers to each mirrored request since `since` (epoch ms), captured by the data plane;
   * only routers that mirror have it.
   */
  mirroredAnswers?(migration: string, since: number): Promise<MirroredCapture>;
  /** Stops what the router runs for the migration; `forget` when the migration has ended (its ports, files and state go too). */
  release(migration: string, options?: { forget?: boolean }): Promise<void>;
}

/** Refuses a change that asks a router for what it cannot do. */
export function checkCapabilities(router: Pick<TrafficRouter, 'kind' | 'capabilities'>, change: { mirror: boolean }): void {
  if (change.mirror && !router.capabilities.mirror) {
    throw new Error(`the ${router.kind} router cannot mirror requests; set canary.mirror to false`);
  }
}
