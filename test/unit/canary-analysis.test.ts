/**
 * The canary's judgement, without a server: the PromQL it asks, how it reads the answers (counts,
 * quantiles, no data), the thresholds at and just past their limits, the spec's own metrics, the
 * hold for too little traffic, and mirrored agreement joined by request id.
 */
import { describe, expect, it } from 'vitest';
import { joinAgreement } from '../../src/traffic/agreement.js';
import { compare, defaultQueries, expandQuery, type JudgeInput, judgeMetric, judgeWindow, type QueryResult, scrapedTargets } from '../../src/traffic/analysis.js';
import { migrationSpecSchema } from '../../src/spec.js';
import { targetRequests } from '../../src/client/progress.js';
import type { RecordedPrediction } from '../../src/endpoints/recorder.js';
import { PredictionRecorder } from '../../src/endpoints/recorder.js';

const spec = migrationSpecSchema.parse({ name: 'm', source: { cloud: 'aws', profile: 'p', bucket: 'bbb' }, target: { cloud: 'gcp', profile: 'p', bucket: 'ccc' } });
const thresholds = spec.canary.thresholds;
const window = { since: '2026-12-01T00:00:00.000Z', until: '2026-12-01T00:01:00.000Z', seconds: 60 };

function values(v: Record<string, number | undefined>): QueryResult[] {
  return Object.entries(v).map(([name, value]) => ({ name, query: `q(${name})`, ...(value === undefined ? {} : { value }) }));
}
const healthy = { 'source.requests': 500, 'source.errors': 0, 'source.p50': 0.004, 'source.p99': 0.01, 'target.requests': 500, 'target.errors': 0, 'target.p50': 0.004, 'target.p99': 0.01 };
const judge = (v: Record<string, number | undefined>, agreement = { rows: 0, agreeing: 0 }, step: Pick<JudgeInput, 'targetPercent' | 'sourceBaseline' | 'latencyFrom'> = {}) =>
  judgeWindow({ window, queries: values({ ...healthy, ...v }), agreement, thresholds, metrics: [], trafficUrl: 'http://127.0.0.1:18080', ...step });

describe('the default queries', () => {
  it('ask the proxy for requests and errors per side, the endpoints for latency, within the window', () => {
    const q = defaultQueries({ router: 'haproxy', migration: 'm1', seconds: 30.4, mirror: true });
    expect(Object.keys(q).sort()).toEqual(['source.errors', 'source.mean', 'source.p50', 'source.p99', 'source.requests', 'target.errors', 'target.mean', 'target.mirrored', 'target.p50', 'target.p99', 'target.requests']);
    expect(q['target.mirrored']).toBe('(sum(increase(cloudshift_endpoint_requests_total{job="cloudshift-endpoint",migration="m1",side="target",role="mirrored"}[30s])) or vector(0))');
    expect(q['target.mean']).toBe('max(haproxy_server_response_time_average_seconds{job="cloudshift-dataplane",migration="m1",server="target"})');
    expect(q['source.requests']).toContain('haproxy_server_http_responses_total{job="cloudshift-dataplane",migration="m1",server="source"}[30s]');
    expect(q['source.requests']).toContain('haproxy_server_connection_errors_total');
    expect(q['target.requests']).toContain('role="mirrored"');
    expect(q['source.requests']).not.toContain('mirrored');
    expect(q['target.errors']).toContain('code="5xx"');
    expect(q['target.p99']).toBe('histogram_quantile(0.99, sum by (le) (increase(cloudshift_endpoint_request_seconds_bucket{job="cloudshift-endpoint",migration="m1",side="target"}[30s])))');
    // Every sum answers 0 rather than nothing when a series does not exist yet.
    for (const name of ['source.requests', 'target.errors']) expect(q[name]!.match(/or vector\(0\)/g)?.length).toBe(q[name]!.match(/sum\(/g)?.length);
  });

  it('ask the endpoints themselves where DNS routes (it counts nothing)', () => {
    const q = defaultQueries({ router: 'route53', migration: 'm1', seconds: 60, mirror: false });
    expect(q['target.requests']).toBe('(sum(increase(cloudshift_endpoint_requests_total{job="cloudshift-endpoint",migration="m1",side="target"}[60s])) or vector(0))');
    expect(q['target.errors']).toContain('outcome="error"');
    expect(Object.values(q).join(' ')).not.toContain('haproxy');
  });

  it('are asked only once both endpoints (and HAProxy, where it routes) were scraped past the window', () => {
    expect(scrapedTargets({ router: 'haproxy', migration: 'm1' })).toEqual([
      '{job="cloudshift-endpoint",migration="m1",side="source"}',
      '{job="cloudshift-endpoint",migration="m1",side="target"}',
      '{job="cloudshift-dataplane",migration="m1"}',
    ]);
    expect(scrapedTargets({ router: 'route53', migration: 'm1' })).toHaveLength(2);
  });

  it('fill a spec query\'s placeholders', () => {
    expect(expandQuery('sum(rate(x{m="{{migration}}"}[{{interval}}]))', { migration: 'm1', seconds: 0.2 })).toBe('sum(rate(x{m="m1"}[1s]))');
  });
});

describe('a canary window judged', () => {
  it('passes a healthy target with counts rounded from Prometheus\'s extrapolated increases', () => {
    const a = judge({ 'target.requests': 499.6, 'target.errors': 0.4 });
    expect(a.verdict).toBe('passed');
    expect(a.window.target).toMatchObject({ requests: 500, errors: 0, errorRate: 0 });
  });

  it('holds, and says where to send traffic, when too few requests reached the target', () => {
    const a = judge({ 'target.requests': 19, 'target.errors': 19 });
    expect(a.verdict).toBe('waitingForTraffic');
    expect(a.reasons).toEqual(['waiting for traffic: 19 of 20 requests reached the target in 60 s; send requests to http://127.0.0.1:18080']);
    expect(judge({ 'target.requests': 20 }).verdict).toBe('passed');
    expect(judge({ 'target.requests': undefined }).verdict).toBe('waitingForTraffic');
  });

  it('fails an error rate past the limit, not one at it', () => {
    expect(judge({ 'target.errors': 5 }).verdict).toBe('passed'); // 1.00 %: at the limit
    const failed = judge({ 'target.errors': 6 });
    expect(failed.verdict).toBe('failed');
    expect(failed.reasons).toEqual(['target error rate 1.20 % (6 of 500) against 0.00 % at the source (more than 1.00 % above)']);
    // More errors counted than requests (two counters scraped apart) never makes a rate above 1.
    expect(judge({ 'target.errors': 900 }).window.target.errorRate).toBe(1);
  });

  it('fails a slow target by its latency ratio, floored so timer noise cannot', () => {
    expect(judge({ 'target.p99': 0.05 }).reasons).toEqual(['target p99 latency 50.0 ms against 10.0 ms at the source (×5.00, limit ×2)']);
    expect(judge({ 'source.p50': 0.0001, 'target.p50': 0.004 }).verdict).toBe('passed');
  });

  it('holds, never passes, while a side that served requests has no latency in Prometheus yet', () => {
    // A slow target passed its first step this way: its endpoint not yet scraped, no quantile.
    const held = judge({ 'target.p99': undefined });
    expect(held.verdict).toBe('waitingForTraffic');
    expect(held.reasons).toEqual(["waiting for latency data: the target answered 500 requests in 60 s, but Prometheus holds no latency samples for it yet (its endpoint's /metrics, job cloudshift-endpoint)"]);
    expect(judge({ 'source.p50': undefined, 'target.p50': undefined }).reasons[0]).toMatch(/^waiting for latency data: the source answered 500 requests and the target answered 500 requests in 60 s, .* for them yet/);
    // The source at 100 %: it served nothing, so there is nothing to measure or compare.
    expect(judge({ 'source.requests': 0, 'source.p50': undefined, 'source.p99': undefined }).verdict).toBe('passed');
    // Too little traffic is said first: latency of a side with no requests is not missing.
    expect(judge({ 'target.requests': 3, 'target.p50': undefined }).reasons[0]).toMatch(/^waiting for traffic: 3 of 20/);
  });

  it('does not wait at 100 % for the source\'s stragglers, counted by the proxy and never seen in its histograms', () => {
    // A fresh-clone run held its 100 % step for canary.traffic.maxWaitSeconds this way: requests in
    // flight when the weights changed finished inside the window, HAProxy was scraped between, the
    // source endpoint before and after, so its histograms had nothing in the window.
    const stragglers = { 'source.requests': 3, 'source.p50': undefined, 'source.p99': undefined };
    expect(judge(stragglers, undefined, { targetPercent: 100 }).verdict).toBe('passed');
    // Still waited for while the source is given traffic (and by a workflow that does not say the step).
    expect(judge(stragglers, undefined, { targetPercent: 50 }).reasons[0]).toMatch(/^waiting for latency data: the source answered 3 requests/);
    expect(judge(stragglers).verdict).toBe('waitingForTraffic');
    // The target is always waited for, at 100 % too.
    expect(judge({ 'target.p50': undefined }, undefined, { targetPercent: 100 }).verdict).toBe('waitingForTraffic');
  });

  it('judges the 100 % step against the source as the last step that gave it traffic measured it, never its stragglers', () => {
    // One failed straggler in three would have excused a third of the target's requests failing.
    const stragglers = { 'source.requests': 3, 'source.errors': 1, 'source.p50': 0.001, 'source.p99': 0.001, 'target.errors': 100, 'target.p99': 0.05 };
    const atHalf = { targetPercent: 50, requests: 250, errorRate: 0.004, p50: 0.004, p99: 0.01 };
    expect(judge(stragglers, undefined, { targetPercent: 100, sourceBaseline: atHalf }).reasons).toEqual([
      'target error rate 20.00 % (100 of 500) against 0.40 % at the source in the 50 % step (more than 1.00 % above)',
      'target p99 latency 50.0 ms against 10.0 ms at the source in the 50 % step (×5.00, limit ×2)',
    ]);
    // Without an earlier step (steps: [100]) no error is the bar, and latency has nothing to be compared with.
    expect(judge(stragglers, undefined, { targetPercent: 100 }).reasons).toEqual(['target error rate 20.00 % (100 of 500) against 0.00 % with no source traffic to compare (none at the source is the bar) (more than 1.00 % above)']);
    expect(judge({ 'source.requests': 3, 'source.p99': 0.001, 'target.p99': 0.05 }, undefined, { targetPercent: 100 }).verdict).toBe('passed');
    // Below 100 % the source of the window itself is the baseline, whatever an earlier step saw.
    expect(judge({ 'target.p99': 0.05 }, undefined, { targetPercent: 50, sourceBaseline: { ...atHalf, p99: 1 } }).reasons).toEqual(['target p99 latency 50.0 ms against 10.0 ms at the source (×5.00, limit ×2)']);
  });

  it('fails a target that is down on its errors rather than waiting for latency it cannot have', () => {
    // HAProxy counts connection failures as requests and errors; the endpoint recorded nothing.
    const down = judge({ 'target.requests': 40, 'target.errors': 40, 'target.p50': undefined, 'target.p99': undefined });
    expect(down.verdict).toBe('failed');
    expect(down.reasons).toEqual(['target error rate 100.00 % (40 of 40) against 0.00 % at the source (more than 1.00 % above)']);
  });

  it('holds, never passes, a mirrored step where no mirrored answer could be joined', () => {
    const mirroredStep = (agreement: { rows: number; agreeing: number; agreement?: number }, v: Record<string, number | undefined> = {}) =>
      judgeWindow({ window, queries: values({ ...healthy, ...v }), agreement, thresholds, metrics: [], trafficUrl: 'http://127.0.0.1:18080', mirrored: true });
    const held = mirroredStep({ rows: 0, agreeing: 0 });
    expect(held.verdict).toBe('waitingForTraffic');
    expect(held.reasons).toEqual(["waiting for mirrored answers: the source answered 500 requests in 60 s, but none of the target's mirrored answers to them has come back yet (the data plane's /cloudshift/mirrored, or each endpoint's /v1/recorded in runs recorded before)"]);
    expect(mirroredStep({ rows: 10, agreeing: 10, agreement: 1 }).verdict).toBe('passed');
    // Failed errors are said first; without mirroring there is nothing to join.
    expect(mirroredStep({ rows: 0, agreeing: 0 }, { 'target.errors': 100 }).verdict).toBe('failed');
    expect(judge({}, { rows: 0, agreeing: 0 }).verdict).toBe('passed');
  });

  it('fails mirrored agreement under the limit', () => {
    expect(judge({}, { rows: 1000, agreeing: 999, agreement: 0.999 } as never).verdict).toBe('passed');
    expect(judge({}, { rows: 1000, agreeing: 990, agreement: 0.99 } as never).reasons[0]).toMatch(/mirrored predictions agree on 99\.00 % of 1000 rows/);
  });
});

describe('a metric of the spec\'s own', () => {
  const metric = { name: 'conversion', query: 'q', condition: { op: '>=' as const, value: 0.2 }, failureLimit: 0, onNoData: 'fail' as const };

  it('passes or fails by its condition, at the boundary exactly', () => {
    expect(judgeMetric(metric, { name: 'conversion', query: 'q', value: 0.2 }).passed).toBe(true);
    const failed = judgeMetric(metric, { name: 'conversion', query: 'q', value: 0.19 });
    expect(failed).toMatchObject({ passed: false, reason: 'conversion = 0.190000, expected >= 0.2', condition: '>= 0.2' });
    for (const [op, v, want] of [['<', 1, false], ['<=', 1, true], ['>', 1, false], ['==', 1, true], ['!=', 1, false]] as const) expect(compare(v, op, 1)).toBe(want);
  });

  it('treats no data by its policy, and more than one series or a bad query as failed', () => {
    expect(judgeMetric(metric, { name: 'conversion', query: 'q' })).toMatchObject({ passed: false, reason: 'conversion: the query answered no data (onNoData: fail)' });
    expect(judgeMetric({ ...metric, onNoData: 'pass' }, { name: 'conversion', query: 'q' }).passed).toBe(true);
    expect(judgeMetric(metric, { name: 'conversion', query: 'q', value: 1, series: 3 }).reason).toMatch(/answered 3 series; .*sum\(\)/);
    expect(judgeMetric(metric, { name: 'conversion', query: 'q', error: 'parse error at char 3' })).toMatchObject({ passed: false, reason: 'conversion: parse error at char 3' });
  });
});

describe('mirrored agreement joined by request id', () => {
  const rec = (id: string, role: RecordedPrediction['role'], label: number): RecordedPrediction => ({ id, role, at: 0, predictions: [{ score: 0.5, label }] });

  it('joins the source\'s served answers with the target\'s mirrored ones, nothing else', () => {
    const source = [rec('a', 'served', 1), rec('b', 'served', 0), rec('c', 'served', 1)];
    const target = [rec('a', 'mirrored', 1), rec('b', 'mirrored', 1), rec('c', 'served', 0), rec('z', 'mirrored', 1)];
    expect(joinAgreement(source, target)).toEqual({ rows: 2, agreeing: 1, agreement: 0.5 });
    expect(joinAgreement([], target)).toEqual({ rows: 0, agreeing: 0 });
  });

  it('counts a prediction only one side gave as a row that disagrees', () => {
    // A target that answered its mirrored requests with no predictions agreed by default before.
    const empty = (id: string): RecordedPrediction => ({ id, role: 'mirrored', at: 0, predictions: [] });
    expect(joinAgreement([rec('a', 'served', 1), rec('b', 'served', 0)], [empty('a'), empty('b')])).toEqual({ rows: 2, agreeing: 0, agreement: 0 });
    const two: RecordedPrediction = { id: 'a', role: 'mirrored', at: 0, predictions: [{ score: 0.5, label: 1 }, { score: 0.5, label: 1 }] };
    expect(joinAgreement([rec('a', 'served', 1)], [two])).toEqual({ rows: 2, agreeing: 1, agreement: 0.5 });
  });

  it('keeps only the latest requests an endpoint recorded, and what came since a time', () => {
    const recorder = new PredictionRecorder(3);
    for (const id of ['1', '2', '3', '4']) recorder.record(id, 'served', [{ score: 1 }]);
    expect(recorder.since(0).map((r) => r.id)).toEqual(['2', '3', '4']);
    expect(recorder.since(Date.now() + 1000)).toEqual([]);
  });
});

describe('latency from the data plane, for servers that export no histogram of cloudshift\'s', () => {
  const foreign = { latencyFrom: { source: 'dataPlane' as const, target: 'dataPlane' as const } };
  it('compares the mean response times the data plane keeps, against the p50 limit, and not p99', () => {
    const slow = judge({ 'source.p50': undefined, 'source.p99': undefined, 'target.p50': undefined, 'target.p99': undefined, 'source.mean': 0.01, 'target.mean': 0.2 }, undefined, foreign);
    expect(slow.verdict).toBe('failed');
    expect(slow.reasons).toEqual([expect.stringMatching(/^target mean response time at the data plane 200\.0 ms against 10\.0 ms at the source \(×20\.00, limit ×\d/)]);
    const fine = judge({ 'source.p50': undefined, 'source.p99': undefined, 'target.p50': undefined, 'target.p99': undefined, 'source.mean': 0.01, 'target.mean': 0.011 }, undefined, foreign);
    expect(fine.verdict).toBe('passed');
  });

  it('holds while the data plane has no mean for a side that answered, naming where it is read', () => {
    const held = judge({ 'source.p50': undefined, 'source.p99': undefined, 'target.p50': undefined, 'target.p99': undefined, 'source.mean': 0.01 }, undefined, foreign);
    expect(held.verdict).toBe('waitingForTraffic');
    expect(held.reasons[0]).toMatch(/waiting for latency data: the target answered \d+ requests .*the data plane's mean response time, job cloudshift-dataplane/);
  });

  it('still holds for missing histograms where both servers are cloudshift\'s, whatever the data plane has', () => {
    const held = judge({ 'target.p50': undefined, 'target.p99': undefined, 'source.mean': 0.01, 'target.mean': 0.01 });
    expect(held.verdict).toBe('waitingForTraffic');
  });
});

describe('served and mirrored requests, apart', () => {
  it('keeps the target\'s mirrored copies apart from the requests it served, and says both', () => {
    const mirrored = judge({ 'target.requests': 520, 'target.mirrored': 470 }, { rows: 470, agreeing: 470 });
    expect(mirrored.window.target).toMatchObject({ requests: 520, mirrored: 470 });
    expect(targetRequests(mirrored.window.target)).toBe('50 served + 470 mirrored req');
    expect(targetRequests(judge({}).window.target)).toBe('500 req');
    // A count above the total (scrapes at other instants) never makes the served count negative.
    expect(judge({ 'target.requests': 10, 'target.mirrored': 40 }).window.target.mirrored).toBe(10);
  });
});
