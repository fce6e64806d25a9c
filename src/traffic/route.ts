/** A router's route: the share of traffic on the target, mirroring, and the revision that set it. */
export interface Route {
  /** Increases with every applied change; a change with a revision not above it is ignored. */
  revision: number;
  source: string;
  target: string;
  /** Share of requests answered by the target, 0–100. */
  targetPercent: number;
  /** Also send source-bound requests to the target and drop the target's answer. */
  mirror: boolean;
  updatedAt: string;
}

export type RouteChange = Partial<Omit<Route, 'updatedAt'>>;

/** The routers cloudshift drives: a local HAProxy data plane, or weighted DNS on Route 53. */
export const ROUTER_KINDS = ['haproxy', 'route53'] as const;
export type RouterKind = (typeof ROUTER_KINDS)[number];

/** What a router can do, so a spec asking for more is refused when it is parsed. */
export interface RouterCapabilities {
  /** Copies source-bound requests to the target, answering from the source. */
  mirror: boolean;
  /** Keeps requests with the same key (the x-cloudshift-key header) on one side while the weights hold. */
  sticky: boolean;
  /** Its own request and error counts per side, in Prometheus. */
  dataPlaneMetrics: boolean;
}

export const ROUTER_CAPABILITIES: Record<RouterKind, RouterCapabilities> = {
  haproxy: { mirror: true, sticky: true, dataPlaneMetrics: true },
  // DNS answers name a side; what a resolver caches, clients keep. No copy, no key, no counts.
  route53: { mirror: false, sticky: false, dataPlaneMetrics: false },
};

/** The request header whose value keeps a caller on one side while the weights hold. */
export const STICKY_HEADER = 'x-cloudshift-key';
/** The answer's header that names the side that answered. */
export const BACKEND_HEADER = 'x-cloudshift-backend';
/** What the data plane sets on a mirrored copy, so the target's metrics keep it apart. */
export const ROLE_HEADER = 'x-cloudshift-role';
export const REQUEST_ID_HEADER = 'x-request-id';
