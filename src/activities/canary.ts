/**
 * The canary activities: the router between the two endpoints and its weights, what Prometheus
 * scrapes for the migration, each step's analysis, and the synthetic load a spec may ask for.
 */
import { Context, heartbeat } from '@temporalio/activity';
import { Readable } from 'node:stream';
import type { StoreResolver } from '../clouds/profiles.js';
import { HoldoutFormatError, readHoldout } from '../inference/holdout.js';
import { type Cloud, keyIn, type MigrationSpec, type StorageLocation } from '../spec.js';

type Workload = NonNullable<MigrationSpec['workload']>;
import type { CanaryAnalysis } from '../traffic/analysis.js';
import { hostPort, removeScrapeTargets, type ScrapeTarget, writeScrapeTargets } from '../traffic/discovery.js';
import { LoadGenerator } from '../traffic/load.js';
import { measureWindow, type MeasureInput } from '../traffic/measure.js';
import type { PrometheusClient } from '../traffic/prometheus.js';
import type { Route } from '../traffic/route.js';
import type { RouterInfo, TrafficRouter } from '../traffic/router.js';

export type RouterSpec = MigrationSpec['canary']['router'];

export interface CanaryDeps {
  stores: StoreResolver;
  /** The router a spec names: the worker's HAProxy data plane, or a Route 53 zone through a profile. */
  routerFor(spec: RouterSpec): TrafficRouter;
  prometheus: PrometheusClient;
  /** The folder of Prometheus's file-based service discovery. */
  scrapeTargetsDir: string;
}

export interface EnsureRouterInput {
  migration: string;
  router: RouterSpec;
  endpoints: { source: string; target: string };
  clouds: { source: Cloud; target: Cloud };
  /** host:port of a side's server metrics where they are not on its URL (Triton's metrics port). */
  metricsAddresses?: Partial<Record<'source' | 'target', string>>;
}

export interface SetWeightsInput {
  migration: string;
  router: RouterSpec;
  targetPercent: number;
  mirror: boolean;
  /** Increases with every change a workflow makes, so a retried change is a no-op. */
  revision: number;
}

export interface CanaryLoadInput {
  url: string;
  target: StorageLocation;
  holdout: Workload['holdout'];
  load: NonNullable<MigrationSpec['canary']['load']>;
  /** The served model, where the endpoints speak V2 (absent in runs recorded before: V1). */
  v2?: NonNullable<ConstructorParameters<typeof LoadGenerator>[0]>['v2'];
}

/** Rows a synthetic load cycles through: enough variety, bounded memory. */
const MAX_LOAD_ROWS = 10_000;

export function createCanaryActivities(deps: CanaryDeps) {
  return {
    /**
     * The migration's route between the two endpoints (all traffic on the source at first), and
     * the scrape targets Prometheus needs to judge it: the endpoints and the data plane.
     */
    async ensureRouter(input: EnsureRouterInput): Promise<RouterInfo> {
      const router = deps.routerFor(input.router);
      const info = await router.ensure(input.migration, input.endpoints);
      const endpoint = (side: 'source' | 'target'): ScrapeTarget => ({
        address: input.metricsAddresses?.[side] ?? hostPort(input.endpoints[side]),
        job: 'cloudshift-endpoint',
        labels: { side, cloud: input.clouds[side] },
      });
      await writeScrapeTargets(deps.scrapeTargetsDir, input.migration, [endpoint('source'), endpoint('target'), ...(await router.scrapeTargets(input.migration))]);
      return info;
    },

    /**
     * At a migration's end: the router lets go of what it ran for it (HAProxy stops and frees its
     * ports; DNS records stay as the last change left them) and Prometheus stops scraping it.
     */
    async releaseRouter(input: { migration: string; router: RouterSpec }): Promise<{ targetPercent?: number }> {
      const router = deps.routerFor(input.router);
      // What the data plane itself held at the end (a rollback's weights back on the source), read before it goes.
      const final = await router.readWeights(input.migration).catch(() => undefined);
      await router.release(input.migration, { forget: true });
      await removeScrapeTargets(deps.scrapeTargetsDir, input.migration);
      return final ? { targetPercent: final.targetPercent } : {};
    },

    async setWeights(input: SetWeightsInput): Promise<Route> {
      const { route } = await deps.routerFor(input.router).setWeights(input.migration, { revision: input.revision, targetPercent: input.targetPercent, mirror: input.mirror });
      return route;
    },

    /** The weights as the data plane holds them, read back from it (not from what was asked). */
    async readWeights(input: { migration: string; router: RouterSpec }): Promise<Route> {
      return deps.routerFor(input.router).readWeights(input.migration);
    },

    /** Judges the `seconds` before now through Prometheus against the spec's thresholds and queries. */
    async analyseCanaryWindow(input: MeasureInput & { routerSpec?: RouterSpec }): Promise<CanaryAnalysis> {
      const router = input.routerSpec && deps.routerFor(input.routerSpec);
      const mirrored = router?.mirroredAnswers && ((since: number) => router.mirroredAnswers!(input.migration, since));
      return measureWindow(deps.prometheus, input, new Date(), mirrored);
    },

    /**
     * Sends the holdout's rows to the traffic URL at the spec's rate until cancelled (the canary's
     * end). Heartbeats carry what was sent, so the workflow's status can say it.
     */
    async runCanaryLoad(input: CanaryLoadInput): Promise<{ sent: number; ok: number; errors: number }> {
      const rows = await holdoutRows(deps.stores, input.target, input.holdout);
      if (rows.length === 0) throw new HoldoutFormatError(`the holdout ${input.holdout.path} has no rows to send as canary load`);
      const load = new LoadGenerator({ url: input.url, rows, rps: input.load.requestsPerSecond, concurrency: input.load.concurrency, sticky: input.load.sticky, ...(input.v2 ? { v2: input.v2 } : {}) }).start();
      const signal = Context.current().cancellationSignal;
      try {
        while (!signal.aborted) {
          heartbeat({ sent: load.tally.sent, ok: load.tally.ok, errors: load.tally.errors });
          await new Promise((resolve) => {
            const timer = setTimeout(resolve, 1000);
            signal.addEventListener('abort', () => (clearTimeout(timer), resolve(undefined)), { once: true });
          });
        }
      } finally {
        await load.stop();
      }
      const { sent, ok, errors } = load.tally;
      return { sent, ok, errors };
    },
  };
}

async function holdoutRows(stores: StoreResolver, target: StorageLocation, holdout: Workload['holdout']): Promise<number[][]> {
  const body = Readable.from(await stores.store(target).read(keyIn(target, holdout.path)));
  const rows: number[][] = [];
  const width = holdout.features.length;
  for await (const batch of readHoldout(body, holdout, 1024)) {
    for (let r = 0; r < batch.rows && rows.length < MAX_LOAD_ROWS; r++) rows.push(Array.from(batch.features.subarray(r * width, (r + 1) * width)));
    if (rows.length >= MAX_LOAD_ROWS) break;
  }
  body.destroy();
  return rows;
}
