/**
 * One canary window measured: the default and the spec's queries run against Prometheus at the
 * window's end (once Prometheus has scraped past it), mirrored agreement joined from the endpoints'
 * recordings, and the whole judged by analysis.ts.
 */
import { type AnswerReading, fetchRecorded, joinAgreement, joinMirrored, type Agreement } from './agreement.js';
import type { MirroredCapture } from './mirrored-answers.js';
import {
  type CanaryAnalysis,
  type CanaryMetricSpec,
  type CanaryThresholds,
  defaultQueries,
  expandQuery,
  judgeMetric,
  type JudgeInput,
  judgeWindow,
  type QueryResult,
  scrapedTargets,
  type SourceBaseline,
} from './analysis.js';
import { type PrometheusClient, PromQLError } from './prometheus.js';
import type { RouterKind } from './route.js';

export interface MeasureInput {
  migration: string;
  router: RouterKind;
  mirror: boolean;
  /** The window: the `seconds` before now. */
  seconds: number;
  thresholds: CanaryThresholds;
  metrics: readonly CanaryMetricSpec[];
  endpoints: { source: string; target: string };
  trafficUrl: string;
  /** The step's weight on the target; absent where a workflow of an earlier version asks. */
  targetPercent?: number;
  /** At 100 %, the source as the last step that gave it traffic measured it. */
  sourceBaseline?: SourceBaseline;
  /** Sides whose server exports no latency histogram of cloudshift's (see JudgeInput). */
  latencyFrom?: JudgeInput['latencyFrom'];
  /**
   * How each side's V2 answers read, where the data plane captures mirrored answers: agreement is
   * then measured from what the two servers answered. Absent (runs recorded before), the answers
   * cloudshift's own endpoints recorded are joined.
   */
  answers?: Record<'source' | 'target', AnswerReading>;
}

/** The data plane's captured mirrored answers since an instant, where the router keeps them. */
export type MirroredSource = (since: number) => Promise<MirroredCapture>;

/** How long a window's end may wait for Prometheus to scrape past it. */
const SCRAPE_WAIT_MS = 15_000;

export async function measureWindow(prometheus: PrometheusClient, input: MeasureInput, now = new Date(), mirrored?: MirroredSource): Promise<CanaryAnalysis> {
  const until = now;
  const since = new Date(until.getTime() - input.seconds * 1000);
  const context = { router: input.router, migration: input.migration, seconds: input.seconds, mirror: input.mirror };
  const unscraped = await prometheus.waitForScrapes(scrapedTargets(context), until, SCRAPE_WAIT_MS);
  if (unscraped.length > 0) {
    throw new Error(`Prometheus at ${prometheus.url} has not scraped ${unscraped.map((s) => `up${s}`).join(', ')} since ${until.toISOString()} (waited ${SCRAPE_WAIT_MS / 1000} s; retried); check its targets page, ${new URL('/targets', prometheus.url)}`);
  }
  // Independent reads, asked together: a step's analysis costs one round trip, not twenty-eight.
  const [queries, metrics, agreement] = await Promise.all([
    Promise.all(
      Object.entries(defaultQueries(context)).map(async ([name, query]): Promise<QueryResult> => ({ name, query, ...valueOf(await prometheus.query(query, until)) })),
    ),
    Promise.all(
      input.metrics.map(async (metric) => {
        const query = expandQuery(metric.query, context);
        try {
          const samples = await prometheus.query(query, until);
          return judgeMetric(metric, { name: metric.name, query, series: samples.length, ...valueOf(samples) });
        } catch (error) {
          if (!(error instanceof PromQLError && error.permanent)) throw error;
          return judgeMetric(metric, { name: metric.name, query, error: error.message });
        }
      }),
    ),
    !input.mirror
      ? Promise.resolve({ rows: 0, agreeing: 0 })
      : input.answers && mirrored
        ? mirrored(since.getTime()).then((capture) => joinMirrored(capture, input.answers!))
        : recordedAgreement(input.endpoints, since.getTime()),
  ]);
  return judgeWindow({
    window: { since: since.toISOString(), until: until.toISOString(), seconds: input.seconds },
    queries,
    agreement,
    thresholds: input.thresholds,
    metrics,
    trafficUrl: input.trafficUrl,
    mirrored: input.mirror,
    ...(input.targetPercent !== undefined ? { targetPercent: input.targetPercent } : {}),
    ...(input.sourceBaseline ? { sourceBaseline: input.sourceBaseline } : {}),
    ...(input.latencyFrom ? { latencyFrom: input.latencyFrom } : {}),
  });
}

function valueOf(samples: { value: number }[]): { value?: number } {
  const value = samples[0]?.value;
  return value !== undefined && Number.isFinite(value) ? { value } : {};
}

async function recordedAgreement(endpoints: { source: string; target: string }, since: number): Promise<Agreement> {
  // A target that does not answer shows in its error count; agreement has nothing to join then.
  const [source, target] = await Promise.all([fetchRecorded(endpoints.source, since), fetchRecorded(endpoints.target, since).catch(() => [])]);
  return joinAgreement(source, target);
}
