/**
 * Canary analysis between steps, by PromQL: the default queries (requests, errors, p50 and p99
 * latency per side) and the spec's own, judged against the thresholds. Pure: the queries are
 * built here, their values come from Prometheus (src/traffic/measure.ts).
 */
import type { Comparison, MigrationSpec } from '../spec.js';
import type { Agreement } from './agreement.js';
import type { RouterKind } from './route.js';
import type { BackendWindow, CanaryWindow } from './window.js';

export type CanaryThresholds = MigrationSpec['canary']['thresholds'];
export type CanaryMetricSpec = MigrationSpec['canary']['metrics'][number];
type Side = 'source' | 'target';

/** One query as it ran, and what it answered (absent: no data). */
export interface QueryResult {
  name: string;
  query: string;
  value?: number;
}

export interface MetricMeasurement extends QueryResult {
  /** E.g. `< 0.05`. */
  condition: string;
  passed: boolean;
  /** Why it failed, where it did: the value against the condition, no data, or a query error. */
  reason?: string;
}

export interface CanaryAnalysis {
  /** `waitingForTraffic`: too few requests reached the target to judge; the step holds. */
  verdict: 'passed' | 'failed' | 'waitingForTraffic';
  /** Why it failed or holds, one line each, naming the figures. */
  reasons: string[];
  window: CanaryWindow;
  /** The default queries with their values. */
  queries: QueryResult[];
  /** The spec's own queries, each judged; the workflow counts failures against failureLimit. */
  metrics: MetricMeasurement[];
}

/** Latencies this small are timer noise on one machine; a ratio of them says nothing. */
const LATENCY_FLOOR_SECONDS = 0.005;

const selector = (labels: Record<string, string>) => `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

/** The labels discovery gives a migration's endpoint of one side, and its data plane. */
const endpointLabels = (migration: string, side: Side) => ({ job: 'cloudshift-endpoint', migration, side });
const dataPlaneLabels = (migration: string) => ({ job: 'cloudshift-dataplane', migration });

/** The PromQL range for a window of `seconds`. */
export const promRange = (seconds: number) => `${Math.max(1, Math.round(seconds))}s`;

export interface QueryContext {
  router: RouterKind;
  migration: string;
  seconds: number;
  mirror: boolean;
}

/**
 * The default queries, by name (`source.requests`, `target.p99`, …). Where the router is a proxy,
 * requests and errors are what the proxy saw, connection failures included (an endpoint that is
 * down counts nothing itself); with DNS, what each endpoint counted. Latency always comes from the
 * endpoints' histograms. Mirrored requests count for the target: they tell how healthy it is.
 */
export function defaultQueries(context: QueryContext): Record<string, string> {
  const { migration } = context;
  const range = promRange(context.seconds);
  const increase = (metric: string, labels: Record<string, string>) => `(sum(increase(${metric}${selector(labels)}[${range}])) or vector(0))`;
  const endpoint = (side: Side, extra: Record<string, string> = {}) => ({ ...endpointLabels(migration, side), ...extra });
  const dataPlane = (side: Side) => ({ ...dataPlaneLabels(migration), server: side });
  const queries: Record<string, string> = {};
  for (const side of ['source', 'target'] as const) {
    const mirrored = side === 'target' && context.mirror;
    if (context.router === 'haproxy') {
      queries[`${side}.requests`] = [
        increase('haproxy_server_http_responses_total', dataPlane(side)),
        increase('haproxy_server_connection_errors_total', dataPlane(side)),
        ...(mirrored ? [increase('cloudshift_endpoint_requests_total', endpoint(side, { role: 'mirrored' }))] : []),
      ].join(' + ');
      queries[`${side}.errors`] = [
        increase('haproxy_server_http_responses_total', { ...dataPlane(side), code: '5xx' }),
        increase('haproxy_server_connection_errors_total', dataPlane(side)),
        increase('haproxy_server_response_errors_total', dataPlane(side)),
        ...(mirrored ? [increase('cloudshift_endpoint_requests_total', endpoint(side, { role: 'mirrored', outcome: 'error' }))] : []),
      ].join(' + ');
    } else {
      queries[`${side}.requests`] = increase('cloudshift_endpoint_requests_total', endpoint(side));
      queries[`${side}.errors`] = increase('cloudshift_endpoint_requests_total', endpoint(side, { outcome: 'error' }));
    }
    // Of the target's requests, the mirrored copies: a different population from the served ones.
    if (mirrored) queries['target.mirrored'] = increase('cloudshift_endpoint_requests_total', endpoint('target', { role: 'mirrored' }));
    for (const q of [0.5, 0.99]) {
      queries[`${side}.p${Math.round(q * 100)}`] = `histogram_quantile(${q}, sum by (le) (increase(cloudshift_endpoint_request_seconds_bucket${selector(endpoint(side))}[${range}])))`;
    }
    // The data plane's own latency, for a server that exports no histogram of cloudshift's (an
    // adopted endpoint, Triton): HAProxy 2.6 keeps the mean response time of each server's last
    // 1024 responses, and no quantiles.
    if (context.router === 'haproxy') queries[`${side}.mean`] = `max(haproxy_server_response_time_average_seconds${selector(dataPlane(side))})`;
  }
  return queries;
}

/** Where a side's latency comes from: its endpoint's histograms (cloudshift's own), or the data plane's mean. */
export type LatencySource = 'endpoint' | 'dataPlane';

/**
 * The scrape targets the default queries read, as `up` selectors: both endpoints and, behind
 * HAProxy, the data plane. A window is judged only once each was scraped past its end: one target
 * scraped on time says nothing of another not yet discovered, whose histograms would be missing.
 */
export function scrapedTargets(context: Pick<QueryContext, 'router' | 'migration'>): string[] {
  const { migration } = context;
  return [
    selector(endpointLabels(migration, 'source')),
    selector(endpointLabels(migration, 'target')),
    ...(context.router === 'haproxy' ? [selector(dataPlaneLabels(migration))] : []),
  ];
}

/** A spec query with its placeholders filled in. */
export function expandQuery(query: string, context: Pick<QueryContext, 'migration' | 'seconds'>): string {
  return query.replaceAll('{{migration}}', context.migration).replaceAll('{{interval}}', promRange(context.seconds));
}

export function compare(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

/** A spec metric judged on what its query answered (or the error that stopped it). */
export function judgeMetric(metric: CanaryMetricSpec, result: QueryResult & { error?: string; series?: number }): MetricMeasurement {
  const condition = `${metric.condition.op} ${metric.condition.value}`;
  const base = { name: metric.name, query: result.query, condition, ...(result.value !== undefined ? { value: result.value } : {}) };
  if (result.error) return { ...base, passed: false, reason: `${metric.name}: ${result.error}` };
  if (result.series !== undefined && result.series > 1) {
    return { ...base, passed: false, reason: `${metric.name}: the query answered ${result.series} series; a canary query must answer one number (wrap it in sum() or max())` };
  }
  if (result.value === undefined) {
    return metric.onNoData === 'pass' ? { ...base, passed: true } : { ...base, passed: false, reason: `${metric.name}: the query answered no data (onNoData: fail)` };
  }
  const passed = compare(result.value, metric.condition.op, metric.condition.value);
  return { ...base, passed, ...(passed ? {} : { reason: `${metric.name} = ${formatValue(result.value)}, expected ${condition}` }) };
}

export interface JudgeInput {
  window: Pick<CanaryWindow, 'since' | 'until' | 'seconds'>;
  queries: QueryResult[];
  agreement: Agreement;
  thresholds: CanaryThresholds;
  metrics: MetricMeasurement[];
  /** Where callers send traffic, for the reason of a step that waits for it. */
  trafficUrl: string;
  /** The share of traffic the router gives the target in this step (absent: as if under 100). */
  targetPercent?: number;
  /** The router mirrored the source's requests to the target in this step. @default false */
  mirrored?: boolean;
  /**
   * At 100 %, the source as the last step that gave it traffic measured it: the baseline the
   * target is judged against once the source serves nothing but stragglers.
   */
  sourceBaseline?: SourceBaseline;
  /**
   * Sides whose server exports no latency histogram of cloudshift's: both sides are then compared
   * by the data plane's mean response time, against maxP50LatencyRatio, and p99 is not compared.
   * @default both from their endpoints
   */
  latencyFrom?: Partial<Record<Side, LatencySource>>;
}

/** The source's figures from an earlier step, and which. */
export interface SourceBaseline extends Pick<BackendWindow, 'requests' | 'errorRate' | 'p50' | 'p99'> {
  targetPercent: number;
}

export function judgeWindow(input: JudgeInput): CanaryAnalysis {
  const { thresholds } = input;
  const value = (name: string) => input.queries.find((q) => q.name === name)?.value;
  const side = (s: Side): BackendWindow => {
    const requests = Math.round(value(`${s}.requests`) ?? 0);
    const errors = Math.min(requests, Math.round(value(`${s}.errors`) ?? 0));
    const p50 = value(`${s}.p50`);
    const p99 = value(`${s}.p99`);
    const mean = value(`${s}.mean`);
    const mirrored = s === 'target' ? Math.min(requests, Math.round(value('target.mirrored') ?? 0)) : 0;
    return {
      requests,
      errors,
      errorRate: requests ? errors / requests : 0,
      ...(p50 !== undefined ? { p50 } : {}),
      ...(p99 !== undefined ? { p99 } : {}),
      ...(mean !== undefined ? { mean } : {}),
      ...(mirrored > 0 ? { mirrored } : {}),
    };
  };
  const window: CanaryWindow = { ...input.window, source: side('source'), target: side('target'), mirror: input.agreement };
  const { target } = window;
  const base = { window, queries: input.queries, metrics: input.metrics };
  const hold = (reason: string): CanaryAnalysis => ({ verdict: 'waitingForTraffic', reasons: [reason], ...base });
  if (target.requests < thresholds.minRequests) {
    return hold(`waiting for traffic: ${target.requests} of ${thresholds.minRequests} requests reached the target in ${window.seconds.toFixed(0)} s; send requests to ${input.trafficUrl}`);
  }
  const baseline = baselineFor(input, window.source);
  const reasons: string[] = [];
  if (target.errorRate - baseline.errorRate > thresholds.maxErrorRateDelta) {
    reasons.push(`target error rate ${pct(target.errorRate)} (${target.errors} of ${target.requests}) against ${pct(baseline.errorRate)} ${baseline.where} (more than ${pct(thresholds.maxErrorRateDelta)} above)`);
  }
  // A step failed by its errors waits for nothing more: a target that is down has no latency.
  const unmeasured = reasons.length === 0 ? unmeasuredCheck(input, window) : undefined;
  if (unmeasured) return hold(unmeasured);
  const compared = dataPlaneLatency(input)
    ? ([['mean', thresholds.maxP50LatencyRatio, 'mean response time at the data plane']] as const)
    : ([['p50', thresholds.maxP50LatencyRatio, 'p50 latency'], ['p99', thresholds.maxP99LatencyRatio, 'p99 latency']] as const);
  for (const [name, limit, what] of compared) {
    const t = target[name];
    const s = baseline[name];
    // Nothing to compare with where a side served nothing.
    if (t === undefined || s === undefined) continue;
    const ratio = Math.max(t, LATENCY_FLOOR_SECONDS) / Math.max(s, LATENCY_FLOOR_SECONDS);
    if (ratio > limit) reasons.push(`target ${what} ${ms(t)} against ${ms(s)} ${baseline.where} (×${ratio.toFixed(2)}, limit ×${limit})`);
  }
  const { agreement } = input.agreement;
  if (agreement !== undefined && agreement < thresholds.minAgreement) {
    const { targetFailed, maxProbabilityDelta } = input.agreement;
    const failed = targetFailed ? `; the target answered ${targetFailed} mirrored requests with an error or nothing readable` : '';
    const delta = maxProbabilityDelta !== undefined ? `; probabilities differ by up to ${maxProbabilityDelta.toPrecision(3)}` : '';
    reasons.push(`mirrored predictions agree on ${pct(agreement)} of ${input.agreement.rows} rows (at least ${pct(thresholds.minAgreement)} required)${failed}${delta}`);
  }
  return { verdict: reasons.length ? 'failed' : 'passed', reasons, ...base };
}

/** Whether a side's latency comes from the data plane (its server exports no histogram of cloudshift's). */
const dataPlaneLatency = (input: Pick<JudgeInput, 'latencyFrom'>) => input.latencyFrom?.source === 'dataPlane' || input.latencyFrom?.target === 'dataPlane';

/** Whether the router gives a side traffic in this step: the source not at 100 %. */
const routed = (input: Pick<JudgeInput, 'targetPercent'>, s: Side) => s === 'target' || input.targetPercent === undefined || input.targetPercent < 100;

/**
 * What the target is compared with. At 100 % the source serves only requests in flight when the
 * weights changed: a handful, no baseline (one failed straggler in three would excuse a third of
 * the target's requests failing). The last step that gave it traffic stands in; without one, no
 * error is the bar and latency has nothing to be compared with.
 */
function baselineFor(input: JudgeInput, source: BackendWindow): Pick<BackendWindow, 'errorRate' | 'p50' | 'p99' | 'mean'> & { where: string } {
  if (routed(input, 'source')) return { ...source, where: 'at the source' };
  if (input.sourceBaseline) return { ...input.sourceBaseline, where: `at the source in the ${input.sourceBaseline.targetPercent} % step` };
  return { errorRate: 0, where: 'with no source traffic to compare (none at the source is the bar)' };
}

/**
 * Why the window cannot be judged yet, where a check could not run: a step is never passed on
 * one. A side the router gives traffic that answered requests but has no latency in Prometheus
 * (the samples come with a later scrape of the growing window; a slow target passed its first
 * step that way). Not the source at 100 %: the few requests it finished after the weights changed
 * may show in the proxy's counters and never in its endpoint's histograms, scraped at other
 * instants, and waiting for them held that step until canary.traffic.maxWaitSeconds. And a
 * mirrored step where no mirrored answer could be joined to the source's.
 */
function unmeasuredCheck(input: JudgeInput, window: CanaryWindow): string | undefined {
  const answered = (s: Side) => window[s].requests - window[s].errors;
  const seconds = window.seconds.toFixed(0);
  const fromDataPlane = dataPlaneLatency(input);
  const missing = (s: Side) => (fromDataPlane ? window[s].mean === undefined : window[s].p50 === undefined || window[s].p99 === undefined);
  const noLatency = (['source', 'target'] as const).filter((s) => routed(input, s) && answered(s) > 0 && missing(s));
  if (noLatency.length > 0) {
    const which = noLatency.map((s) => `the ${s} answered ${answered(s)} requests`).join(' and ');
    return `waiting for latency data: ${which} in ${seconds} s, but Prometheus holds no latency samples for ${noLatency.length > 1 ? 'them' : 'it'} yet (${fromDataPlane ? "the data plane's mean response time, job cloudshift-dataplane" : "its endpoint's /metrics, job cloudshift-endpoint"})`;
  }
  if (input.mirrored && answered('source') > 0 && input.agreement.rows === 0) {
    if (input.agreement.unreadable) {
      return `waiting for mirrored answers it can read: the data plane captured ${input.agreement.unreadable} source answers that are neither the Open Inference Protocol's (V2) nor cloudshift's /v1/predict, so none can be compared; send V2 requests to the served model`;
    }
    return `waiting for mirrored answers: the source answered ${answered('source')} requests in ${seconds} s, but none of the target's mirrored answers to them has come back yet (the data plane's /cloudshift/mirrored, or each endpoint's /v1/recorded in runs recorded before)`;
  }
  return undefined;
}

const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;
const formatValue = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(6));
