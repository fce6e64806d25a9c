/**
 * The gateway and the inference server on loopback: the split follows the weights, sticky keys
 * stay put, a restart keeps the route, the mirror never answers, the admin API is not on the
 * prediction port, and the metrics are Prometheus text.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdoutRows, ASSETS_DIR } from '../../src/dev/workload.js';
import { type RunningServer, startInferenceServer } from '../../src/endpoints/server.js';
import { Gateway } from '../../src/traffic/gateway.js';
import { LoadGenerator } from '../../src/traffic/load.js';

const rows = holdoutRows();
const model = (name: string) => new Uint8Array(readFileSync(join(ASSETS_DIR, name)));
let source: RunningServer;
let target: RunningServer;
let strongTarget: RunningServer;

beforeAll(async () => {
  [source, target, strongTarget] = await Promise.all([
    startInferenceServer({ model: model('breast-cancer.onnx'), executionProvider: 'cpu', name: 'source' }),
    startInferenceServer({ model: model('breast-cancer-copy.onnx'), executionProvider: 'cpu', name: 'target' }),
    startInferenceServer({ model: model('breast-cancer-strong.onnx'), executionProvider: 'cpu', name: 'strong' }),
  ]);
});
afterAll(async () => {
  await Promise.all([source?.close(), target?.close(), strongTarget?.close()]);
});

const stateFile = () => join(mkdtempSync(join(tmpdir(), 'cs-gw-')), 'route.json');

/** A gateway on a fresh state file with this route, closed afterwards whatever happens. */
async function withGateway(route: Parameters<Gateway['change']>[0], use: (gateway: Gateway) => Promise<void>): Promise<void> {
  const gateway = await Gateway.start({ stateFile: stateFile() });
  try {
    await gateway.change(route);
    await use(gateway);
  } finally {
    await gateway.close();
  }
}

async function predict(url: string, headers: Record<string, string> = {}) {
  const answer = await fetch(new URL('/v1/predict', url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ instances: [rows[0], rows[1]] }) });
  return { status: answer.status, backend: answer.headers.get('x-cloudshift-backend'), body: (await answer.json()) as { predictions: { score: number; label: number }[]; model: string } };
}

describe('the inference server', () => {
  it('predicts batches, says when it is ready, refuses malformed rows with the reason, counts in Prometheus format', async () => {
    const { status, body } = await predict(source.url);
    expect(status).toBe(200);
    expect(body.predictions).toHaveLength(2);
    expect(body.predictions[0]).toEqual({ score: expect.any(Number), label: expect.any(Number) });
    expect((await fetch(new URL('/readyz', source.url))).status).toBe(200);
    expect((await fetch(new URL('/healthz', source.url))).status).toBe(200);
    const bad = await fetch(new URL('/v1/predict', source.url), { method: 'POST', body: JSON.stringify({ instances: [[1, 2]] }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('instances[0]: expected 30 numbers');
    const metrics = await (await fetch(new URL('/metrics', source.url))).text();
    expect(metrics).toMatch(/^cloudshift_endpoint_requests_total\{outcome="ok"\} \d+$/m);
    expect(metrics).toMatch(/^cloudshift_endpoint_request_seconds_bucket\{le="\+Inf"\} \d+$/m);
  });
});

describe('the gateway', () => {
  it('splits traffic by weight within statistical tolerance', { timeout: 60_000 }, () =>
    withGateway({ source: source.url, target: target.url, targetPercent: 25 }, async (gateway) => {
      const load = new LoadGenerator({ url: gateway.url, rows, concurrency: 8 }).start();
      // A count, not a duration: a slow machine sends fewer per second, never fewer in all.
      while (load.tally.sent < 800) await new Promise((r) => setTimeout(r, 50));
      const tally = await load.stop();
      const n = tally.sent;
      expect(tally.errors).toBe(0);
      // Binomial: 4 standard deviations either side of 25 %.
      const sd = Math.sqrt(n * 0.25 * 0.75);
      expect(tally.byBackend.target).toBeGreaterThan(n * 0.25 - 4 * sd);
      expect(tally.byBackend.target).toBeLessThan(n * 0.25 + 4 * sd);
    }));

  it('keeps a sticky key on one backend while the weights hold', () =>
    withGateway({ source: source.url, target: target.url, targetPercent: 50 }, async (gateway) => {
      for (const key of ['customer-1', 'customer-2', 'customer-3']) {
        const seen = new Set<string | null>();
        for (let i = 0; i < 10; i++) seen.add((await predict(gateway.url, { 'x-cloudshift-key': key })).backend);
        expect(seen.size).toBe(1);
      }
    }));

  it('keeps its route, and its ports, across a restart; a replayed change is a no-op', async () => {
    const file = stateFile();
    const first = await Gateway.start({ stateFile: file });
    await first.change({ source: source.url, target: target.url, targetPercent: 100, revision: 10 });
    const replayed = await first.change({ targetPercent: 0, revision: 10 });
    expect(replayed).toMatchObject({ applied: false, route: { targetPercent: 100, revision: 10 } });
    const url = first.url;
    await first.close();

    const second = await Gateway.start({ stateFile: file });
    try {
      expect(second.url).toBe(url);
      expect(second.currentRoute).toMatchObject({ targetPercent: 100, revision: 10, source: source.url, target: target.url });
      expect((await predict(second.url)).backend).toBe('target');
    } finally {
      await second.close();
    }
  });

  it('mirrors to the target without ever answering from it, and measures the agreement', () =>
    withGateway({ source: source.url, target: strongTarget.url, targetPercent: 0, mirror: true }, async (gateway) => {
      const direct = await predict(source.url);
      for (let i = 0; i < 20; i++) {
        const { backend, body } = await predict(gateway.url);
        expect(backend).toBe('source');
        expect(body.model).toBe('source');
        expect(body.predictions).toEqual(direct.body.predictions);
      }
      await new Promise((r) => setTimeout(r, 200));
      const window = gateway.readWindow();
      expect(window.source.requests).toBe(20);
      expect(window.target.requests).toBe(20);
      expect(window.mirror.rows).toBe(40);
      const metrics = await (await fetch(new URL('/metrics', gateway.adminUrl))).text();
      expect(metrics).toMatch(/cloudshift_gateway_requests_total\{backend="target",role="mirrored",outcome="ok"\} 20/);
    }));

  it('answers 502 naming the backend when it cannot be reached, and counts it as that backend\'s error', async () => {
    // A port that was just free: nothing listens there.
    const closed = await Gateway.start({ stateFile: stateFile() });
    const downUrl = closed.url;
    await closed.close();
    await withGateway({ source: downUrl, target: target.url, targetPercent: 0 }, async (gateway) => {
      const answer = await fetch(new URL('/v1/predict', gateway.url), { method: 'POST', body: JSON.stringify({ instances: [rows[0]] }) });
      expect(answer.status).toBe(502);
      expect(await answer.text()).toMatch(/the source endpoint did not answer: .*ECONNREFUSED/);
      expect(gateway.readWindow().source).toMatchObject({ requests: 1, errors: 1 });
    });
  });

  it('serves its admin API only on the admin port', () =>
    withGateway({ source: source.url, target: target.url, targetPercent: 0 }, async (gateway) => {
      const onPredictionPort = await fetch(new URL('/routes', gateway.url), { method: 'PUT', body: JSON.stringify({ targetPercent: 100 }) });
      // Forwarded to a backend like any request, which has no such route: the weights are untouched.
      expect(onPredictionPort.status).toBe(404);
      expect(gateway.currentRoute?.targetPercent).toBe(0);
      const onAdmin = await fetch(new URL('/routes', gateway.adminUrl), { method: 'PUT', body: JSON.stringify({ targetPercent: 100 }) });
      expect(onAdmin.status).toBe(200);
      expect(gateway.currentRoute?.targetPercent).toBe(100);
      const refused = await fetch(new URL('/routes', gateway.adminUrl), { method: 'PUT', body: JSON.stringify({ targetPercent: 140 }) });
      expect(refused.status).toBe(400);
    }));
});
