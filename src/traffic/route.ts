/** A gateway's route: the share of traffic on the target, mirroring, and the revision that set it. */
export interface Route {
  /** Increases with every applied change; a change with a revision not above it is ignored. */
  revision: number;
  source: string;
  target: string;
  /** Share of requests answered by the target, 0–100. */
  targetPercent: number;
  /** Also send source-bound requests to the target, compare, and drop the target's answer. */
  mirror: boolean;
  updatedAt: string;
}

export type RouteChange = Partial<Omit<Route, 'updatedAt'>>;
