/**
 * The routers on their real data planes: HAProxy (the Debian package, started by the router) in
 * front of two real inference endpoints, and Route 53 as moto's server answers it. Weights read
 * back after every change, the split within statistical tolerance, sticky keys, a restart that
 * keeps its weights, a mirror that never answers from the target, and a rollback to 100/0.
 */
import { CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/wait.js';
import { localStackProfiles } from '../../src/clouds/profiles.js';
import { STATE_DIR } from '../../src/paths.js';
import { ASSETS_DIR, holdoutRows } from '../../src/dev/workload.js';
import { type RunningServer, startInferenceServer } from '../../src/endpoints/server.js';
import { OipClient } from '../../src/endpoints/oip-client.js';
import { defaultOutputs, inferRequest } from '../../src/endpoints/oip.js';
import { fetchRecorded, joinAgreement, joinMirrored } from '../../src/traffic/agreement.js';
import { HaproxyRouter } from '../../src/traffic/haproxy.js';
import { Route53Router } from '../../src/traffic/route53.js';
import { BACKEND_HEADER, STICKY_HEADER } from '../../src/traffic/route.js';

const rows = holdoutRows();
let source: RunningServer;
let target: RunningServer;
let router: HaproxyRouter;

beforeAll(async () => {
  const model = new Uint8Array(readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx')));
  const start = (name: string) => startInferenceServer({ model, executionProvider: 'cpu', name });
  [source, target] = await Promise.all([start('source'), start('target')]);
  router = new HaproxyRouter({ dir: mkdtempSync(join(tmpdir(), 'cs-routers-')), ports: { first: 18_300, last: 18_399 } });
});
afterAll(async () => {
  await router?.releaseAll();
  await Promise.all([source?.close(), target?.close()]);
});

const uniqueMigration = (label: string) => `${label}-${randomBytes(3).toString('hex')}`;

/** Sends `n` predictions; counts who answered (the data plane's header and the answer's own model name agree). */
async function send(url: string, n: number, key?: (i: number) => string) {
  const answered: ('source' | 'target')[] = [];
  for (let i = 0; i < n; i++) {
    const response = await fetch(new URL('/v1/predict', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { [STICKY_HEADER]: key(i) } : {}) },
      body: JSON.stringify({ instances: [rows[i % rows.length]] }),
    });
    const body = (await response.json()) as { model: string };
    expect(response.status).toBe(200);
    expect(response.headers.get(BACKEND_HEADER)).toBe(body.model);
    answered.push(body.model as 'source' | 'target');
  }
  return answered;
}
const share = (answered: string[], side: string) => answered.filter((a) => a === side).length / answered.length;

describe('the HAProxy data plane', () => {
  it('starts with all traffic on the source, then splits by the weights it reads back', async () => {
    const migration = uniqueMigration('split');
    const { url, route } = await router.ensure(migration, { source: source.url, target: target.url });
    expect(route).toMatchObject({ targetPercent: 0, mirror: false, revision: 0 });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:183\d\d$/);
    expect(new Set(await send(url, 20))).toEqual(new Set(['source']));
    for (const percent of [1, 25, 50, 100]) {
      await router.setWeights(migration, { revision: percent, targetPercent: percent, mirror: false });
      expect(await router.readWeights(migration)).toMatchObject({ targetPercent: percent, revision: percent });
      const n = 400;
      const observed = share(await send(url, n), 'target');
      // Within four standard deviations of a binomial split (round robin is exact; this allows any fair split).
      const sigma = Math.sqrt((percent / 100) * (1 - percent / 100) / n);
      expect(Math.abs(observed - percent / 100)).toBeLessThanOrEqual(4 * sigma + 1e-9);
    }
    // A change whose revision is not newer is ignored: a retried activity cannot undo a later step.
    expect(await router.setWeights(migration, { revision: 25, targetPercent: 25, mirror: false })).toMatchObject({ applied: false, route: { targetPercent: 100 } });
    expect((await router.readWeights(migration)).targetPercent).toBe(100);
  });

  it('keeps each sticky key on one side while the weights hold, and moves keys only towards the target', async () => {
    const migration = uniqueMigration('sticky');
    const { url } = await router.ensure(migration, { source: source.url, target: target.url });
    await router.setWeights(migration, { revision: 1, targetPercent: 25, mirror: false });
    const keys = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const first = await send(url, keys.length, (i) => keys[i]!);
    const again = await send(url, keys.length, (i) => keys[i]!);
    expect(again).toEqual(first);
    expect(share(first, 'target')).toBeGreaterThan(0.1);
    expect(share(first, 'target')).toBeLessThan(0.4);
    await router.setWeights(migration, { revision: 2, targetPercent: 50, mirror: false });
    const later = await send(url, keys.length, (i) => keys[i]!);
    const stayed = first.filter((side, i) => side === 'target' && later[i] === 'target').length / first.filter((s) => s === 'target').length;
    expect(stayed).toBeGreaterThanOrEqual(0.9);
    expect(share(later, 'target')).toBeGreaterThan(share(first, 'target'));
  });

  it('comes back after a crash with the weights it had', async () => {
    const migration = uniqueMigration('restart');
    const dir = (router as unknown as { options: { dir: string } }).options.dir;
    await router.ensure(migration, { source: source.url, target: target.url });
    await router.setWeights(migration, { revision: 7, targetPercent: 50, mirror: true });
    const pid = Number(readFileSync(join(dir, migration, 'haproxy.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    // A new router (a restarted worker) over the same folder.
    const restarted = new HaproxyRouter({ dir, ports: { first: 18_300, last: 18_399 } });
    const { url, route } = await restarted.ensure(migration, { source: source.url, target: target.url });
    expect(route).toMatchObject({ revision: 7, targetPercent: 50, mirror: true });
    expect(await restarted.readWeights(migration)).toMatchObject({ targetPercent: 50, mirror: true });
    expect(share(await send(url, 100), 'target')).toBeCloseTo(0.5, 1);
    await restarted.releaseAll();
  });

  it('mirrors source-bound requests to the target and never answers from it; both sides join by request id', async () => {
    const migration = uniqueMigration('mirror');
    const { url } = await router.ensure(migration, { source: source.url, target: target.url });
    const since = Date.now();
    await router.setWeights(migration, { revision: 1, targetPercent: 0, mirror: true });
    expect(new Set(await send(url, 60))).toEqual(new Set(['source']));
    await new Promise((r) => setTimeout(r, 500)); // the copies go out after the answers
    const [fromSource, fromTarget] = await Promise.all([fetchRecorded(source.url, since), fetchRecorded(target.url, since)]);
    const mirrored = fromTarget.filter((r) => r.role === 'mirrored');
    expect(mirrored.length).toBe(60);
    expect(new Set(mirrored.map((r) => r.id))).toEqual(new Set(fromSource.filter((r) => r.role === 'served').map((r) => r.id)));
    expect(joinAgreement(fromSource, fromTarget)).toEqual({ rows: 60, agreeing: 60, agreement: 1 });
    // Mirroring off: the target hears nothing more.
    await router.setWeights(migration, { revision: 2, targetPercent: 0, mirror: false });
    const quiet = Date.now();
    await send(url, 20);
    await new Promise((r) => setTimeout(r, 300));
    expect((await fetchRecorded(target.url, quiet)).filter((r) => r.role === 'mirrored')).toEqual([]);
  });

  it('captures both answers to each mirrored V2 request itself, so any two servers compare without recording anything', async () => {
    const swapped = await startInferenceServer({ model: new Uint8Array(readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx'))), executionProvider: 'cpu', name: 'swapped', faults: { swapClasses: true } });
    try {
      const metadata = await new OipClient({ url: source.url, model: 'model' }).metadata();
      const input = { name: metadata.inputs[0]!.name, datatype: 'FP32' as const };
      const reading = { outputs: defaultOutputs(metadata, 'binary') };
      const v2 = async (url: string, n: number) => {
        for (let i = 0; i < n; i++) {
          const response = await fetch(new URL('/v2/models/model/infer', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(inferRequest(input, [rows[i % rows.length]!, rows[(i + 1) % rows.length]!])) });
          expect(response.status).toBe(200);
          await response.arrayBuffer();
        }
      };
      const settle = () => new Promise((r) => setTimeout(r, 500)); // the copies go out after the answers
      for (const [label, other, expected] of [
        ['same', target, { rows: 60, agreeing: 60, agreement: 1, maxProbabilityDelta: 0 }],
        ['permuted', swapped, { rows: 60, agreeing: 0, agreement: 0, maxProbabilityDelta: expect.any(Number) }],
      ] as const) {
        const migration = uniqueMigration(`capture-${label}`);
        const { url } = await router.ensure(migration, { source: source.url, target: other.url });
        const since = Date.now();
        await router.setWeights(migration, { revision: 1, targetPercent: 0, mirror: true });
        await v2(url, 30);
        await settle();
        const capture = await router.mirroredAnswers(migration, since);
        expect(capture.pairs).toHaveLength(30);
        expect(capture.pairs.every((p) => p.sourceStatus === 200 && p.targetStatus === 200 && p.path === '/v2/models/model/infer')).toBe(true);
        expect(new Set(capture.pairs.map((p) => p.id)).size).toBe(30);
        expect(joinMirrored(capture, { source: reading, target: reading })).toEqual(expected);
        // Nothing before `since`, and nothing while mirroring is off.
        await router.setWeights(migration, { revision: 2, targetPercent: 0, mirror: false });
        const quiet = Date.now();
        await v2(url, 10);
        await settle();
        expect((await router.mirroredAnswers(migration, quiet)).pairs).toEqual([]);
        await router.release(migration, { forget: true });
      }
      // A target that is gone answers nothing: every mirrored row disagrees, the caller still gets the source's answer.
      const migration = uniqueMigration('capture-gone');
      const { url } = await router.ensure(migration, { source: source.url, target: swapped.url });
      await swapped.close();
      const since = Date.now();
      await router.setWeights(migration, { revision: 1, targetPercent: 0, mirror: true });
      await v2(url, 10);
      const capture = await eventually(async () => {
        const c = await router.mirroredAnswers(migration, since);
        return c.pairs.length >= 10 ? c : undefined;
      }, 20_000);
      // HAProxy's client answers a refused connection with its own 503; a timeout, with nothing (0).
      expect(capture.pairs.every((p) => p.targetStatus === 503 || p.targetStatus === 0)).toBe(true);
      expect(joinMirrored(capture, { source: reading, target: reading })).toMatchObject({ rows: 20, agreeing: 0, agreement: 0, targetFailed: 10 });
    } finally {
      await swapped.close().catch(() => undefined);
    }
  });

  it('refuses a port the spec fixed that something else holds, for good (no retry frees it)', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(18_390, '127.0.0.1', resolve));
    try {
      const fixed = new HaproxyRouter({ dir: mkdtempSync(join(tmpdir(), 'cs-routers-fixed-')), ports: { first: 18_300, last: 18_399 } }).atPort(18_390);
      const error = await fixed.ensure(uniqueMigration('fixed'), { source: source.url, target: target.url }).catch((e: unknown) => e);
      expect(error).toMatchObject({ type: 'DataPlanePortTaken', message: expect.stringMatching(/canary.router.port 18390 \(and 18391 for metrics\) is taken on this worker/) });
    } finally {
      holder.close();
    }
  });

  // Each start and stop of HAProxy costs about 2 s here: 10 migrations through 2 pairs show the
  // pairs coming back as surely as 70 through 60 (the range held 19 before the release).
  it('gives every pair back when its migration ends: 10 migrations in a row through a range of 2 pairs', async () => {
    const small = new HaproxyRouter({ dir: mkdtempSync(join(tmpdir(), 'cs-ports-')), ports: { first: 18_400, last: 18_403 } });
    const used = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const migration = uniqueMigration(`ports-${i}`);
      const { url } = await small.ensure(migration, { source: source.url, target: target.url });
      used.add(new URL(url).port);
      await small.release(migration, { forget: true });
    }
    expect([...used].every((p) => Number(p) >= 18_400 && Number(p) <= 18_403)).toBe(true);
  });

  it("takes back the ports of a data plane that no longer runs (a crash, a lost release)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-ports-'));
    const small = new HaproxyRouter({ dir, ports: { first: 18_410, last: 18_411 } });
    const crashed = uniqueMigration('crashed');
    await small.ensure(crashed, { source: source.url, target: target.url });
    await small.release(crashed); // stopped, its files kept: as a killed data plane leaves them
    const next = uniqueMigration('next');
    const { url } = await small.ensure(next, { source: source.url, target: target.url });
    expect(new URL(url).port).toBe('18410');
    await small.releaseAll();
  });

  it('refuses an endpoint it cannot route to, naming it', async () => {
    await expect(router.ensure(uniqueMigration('bad'), { source: 'https://example.com/path', target: target.url })).rejects.toThrow(/source endpoint https:\/\/example.com\/path: the HAProxy router expects http:\/\/host:port/);
  });
});

describe('the Route 53 router, against moto', () => {
  const profile = localStackProfiles(STATE_DIR)['local-route53'] as Extract<ReturnType<typeof localStackProfiles>[string], { cloud: 'aws' }>;
  let zoneId: string;
  const zone = `cs-${randomBytes(3).toString('hex')}.example.com`;
  const client = new Route53Client({ region: 'us-east-1', endpoint: profile.endpoint, credentials: { accessKeyId: 'moto', secretAccessKey: 'moto' } });

  beforeAll(async () => {
    const created = await client.send(new CreateHostedZoneCommand({ Name: zone, CallerReference: randomBytes(8).toString('hex') }));
    zoneId = created.HostedZone!.Id!.split('/').pop()!;
  });

  it('moves the weighted records through every step, reads them back, and a rollback restores 100/0', async () => {
    const r53 = new Route53Router({ profile, hostedZoneId: zoneId, recordName: `predict.${zone}`, ttlSeconds: 30 });
    const migration = uniqueMigration('dns');
    const endpoints = { source: 'http://10.0.0.1:8080', target: 'http://10.0.0.2:8080' };
    const { url, route } = await r53.ensure(migration, endpoints);
    expect(url).toBe(`http://predict.${zone}:8080`);
    expect(route).toMatchObject({ targetPercent: 0, revision: 0 });
    let revision = 0;
    for (const percent of [1, 5, 25, 50, 100]) {
      expect(await r53.setWeights(migration, { revision: ++revision, targetPercent: percent, mirror: false })).toMatchObject({ applied: true });
      expect(await r53.readWeights(migration)).toMatchObject({ targetPercent: percent, revision, source: endpoints.source, target: endpoints.target });
    }
    // What a resolver sees: two weighted A records under the name.
    const sets = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    const weighted = sets.ResourceRecordSets!.filter((s) => s.Name === `predict.${zone}.` && s.Type === 'A');
    expect(weighted.map((s) => [s.SetIdentifier, s.Weight, s.ResourceRecords?.[0]?.Value]).sort()).toEqual([
      [`cloudshift-${migration}-source`, 0, '10.0.0.1'],
      [`cloudshift-${migration}-target`, 100, '10.0.0.2'],
    ]);
    // The rollback: all back on the source, and a stale retry cannot undo it.
    await r53.setWeights(migration, { revision: ++revision, targetPercent: 0, mirror: false });
    expect(await r53.setWeights(migration, { revision: 3, targetPercent: 25, mirror: false })).toMatchObject({ applied: false });
    expect(await r53.readWeights(migration)).toMatchObject({ targetPercent: 0, revision });
  });

  it('cannot mirror, and says so', async () => {
    const r53 = new Route53Router({ profile, hostedZoneId: zoneId, recordName: `other.${zone}`, ttlSeconds: 30 });
    const migration = uniqueMigration('dns-mirror');
    await r53.ensure(migration, { source: 'http://10.0.0.1', target: 'http://svc.internal' });
    await expect(r53.setWeights(migration, { revision: 1, targetPercent: 5, mirror: true })).rejects.toThrow(/route53 router cannot mirror requests; set canary.mirror to false/);
  });
});
