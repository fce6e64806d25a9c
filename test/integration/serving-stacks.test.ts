/**
 * Real serving stacks on both sides of a migration: NVIDIA Triton deployed by cloudshift from the
 * target's bucket (its S3 repository read by Triton itself from MinIO; a local copy checked by
 * SHA-256 where Triton cannot read the store), Seldon MLServer adopted as a running source, and
 * each server's model checked over V2 against the ONNX model and the holdout before traffic.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBoundary } from '../../src/activities/failures.js';
import { createStandUpTargetActivities } from '../../src/activities/stand-up-target.js';
import { LocalEndpointDeployer } from '../../src/endpoints/deployer.js';
import { OipClient } from '../../src/endpoints/oip-client.js';
import { defaultOutputs, type ServedInput } from '../../src/endpoints/oip.js';
import { TritonDeployer } from '../../src/endpoints/triton.js';
import { openModel, predict } from '../../src/inference/session.js';
import { listen } from '../../src/http/http.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { alive } from '../../src/processes.js';
import type { StorageLocation } from '../../src/spec.js';
import { uniqueBucket } from '../support/data.js';
import { type RunningMlserver, startMlserver } from '../support/mlserver.js';
import { testResolver } from '../support/stores.js';

const stores = testResolver();
const model = readFileSync(join(PROJECT_ROOT, 'assets', 'breast-cancer.onnx'));
const regressor = readFileSync(join(PROJECT_ROOT, 'assets', 'diabetes.onnx'));
const rows = readFileSync(join(PROJECT_ROOT, 'assets', 'breast-cancer-holdout.csv'), 'utf8').trim().split('\n').slice(1, 21).map((l) => l.split(',').slice(0, 30).map(Number));
const triton = new TritonDeployer({
  stateDir: mkdtempSync(join(tmpdir(), 'cs-triton-')),
  profileOf: (location) => stores.profileOf(location),
});
const noop = () => {};
const act = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> =>
  new MockActivityEnvironment({}, { interceptors: [errorBoundary], logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop } }).run(fn, ...args) as Promise<R>;

async function bucketWith(cloud: 'aws' | 'gcp', files: Record<string, Uint8Array>): Promise<StorageLocation> {
  const location: StorageLocation = { cloud, profile: cloud === 'aws' ? 'local-s3' : 'local-gcs', bucket: uniqueBucket('serve'), prefix: 'w/' };
  const store = stores.store(location);
  await store.ensureContainer();
  for (const [key, bytes] of Object.entries(files)) await store.write(`w/${key}`, Readable.from([Buffer.from(bytes)]));
  return location;
}

let expected: Awaited<ReturnType<typeof predict>>;
beforeAll(async () => {
  const { session, iface } = await openModel(model, { executionProvider: 'cpu' });
  expected = await predict(session, iface, Float32Array.from(rows.flat()), rows.length, [0, 1]);
});
afterAll(() => triton.stopAll());

describe('Triton, deployed from the target bucket', () => {
  it('reads its repository from MinIO itself and answers what the model answers in the worker', async () => {
    const location = await bucketWith('aws', { 'model.onnx': model });
    const endpoint = await triton.deploy({ migration: 'triton-s3', side: 'target', store: stores.store(location), location, modelKey: 'w/model.onnx', executionProvider: 'cpu', modelName: 'fraud', server: 'triton' });
    expect(endpoint).toMatchObject({ server: 'triton', repository: `s3://http://127.0.0.1:9000/${location.bucket}/w/.cloudshift/triton-s3/triton/target` });
    const listed = await stores.store(location).list('w/.cloudshift/triton-s3/triton/');
    expect(listed.objects.map((o) => o.key.split('/triton/target/')[1]).sort()).toEqual(['fraud/1/model.onnx', 'fraud/1/model.py', 'fraud/config.pbtxt']);
    const client = new OipClient({ url: endpoint.url, model: 'fraud', version: '1' });
    const metadata = await client.metadata();
    expect(metadata).toMatchObject({ name: 'fraud', versions: ['1'], inputs: [{ datatype: 'FP32', shape: [-1, 30] }] });
    const served = await client.predict({ name: metadata.inputs[0]!.name, datatype: 'FP32' }, rows, defaultOutputs(metadata, 'binary'), [0, 1]);
    expect(Array.from(served.labels!)).toEqual(Array.from(expected.labels!));
    expect(Array.from(served.scores)).toEqual(Array.from(expected.scores));
    // Triton's own metrics are there for a spec's custom queries.
    const state = JSON.parse(readFileSync(join((triton as unknown as { options: { stateDir: string } }).options.stateDir, 'triton-s3', 'target', 'endpoint.json'), 'utf8')) as { pid: number; metricsUrl: string };
    expect(await (await fetch(state.metricsUrl)).text()).toMatch(/nv_inference_count\{model="fraud",version="1"\} 1/);
    await triton.stop('triton-s3', 'target');
    expect(alive(state.pid)).toBe(false);
  }, 240_000);

  it('serves a local copy, checked by SHA-256, from a store Triton cannot read, and says so', async () => {
    const location = await bucketWith('gcp', { 'model.onnx': model });
    const endpoint = await triton.deploy({ migration: 'triton-gcs', side: 'target', store: stores.store(location), location, modelKey: 'w/model.onnx', executionProvider: 'cpu', modelName: 'fraud', modelVersion: '2024-05', server: 'triton' });
    expect(endpoint.repository).not.toMatch(/^s3:/);
    expect(endpoint.notHonoured).toEqual(expect.arrayContaining([expect.stringMatching(/Triton cannot read gs:\/\/.*local copy .* checked by SHA-256/), 'version 2024-05: Triton\'s versions are numbers; served as version 1']));
    const client = new OipClient({ url: endpoint.url, model: 'fraud' });
    expect((await client.metadata()).outputs.map((o) => o.name)).toEqual(['label', 'probabilities']);
    await triton.stop('triton-gcs', 'target');
  }, 240_000);
});

describe('Triton serving the models people export', () => {
  it('feeds two inputs by name and answers string classes as BYTES, as the worker reads them', async () => {
    const fixture = (name: string) => readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'interface-pairs', name));
    const location = await bucketWith('aws', { 'two.onnx': fixture('two-inputs.onnx'), 'words.onnx': fixture('strings.onnx') });
    const six = rows.map((r) => r.slice(0, 6));
    const cases: [string, string, ServedInput[]][] = [
      ['w/two.onnx', 'triton-two', [{ name: 'num_a', datatype: 'FP32', columns: [0, 1, 2] }, { name: 'num_b', datatype: 'FP32', columns: [3, 4, 5] }]],
      ['w/words.onnx', 'triton-words', [{ name: 'X', datatype: 'FP32' }]],
    ];
    for (const [key, migration, inputs] of cases) {
      const endpoint = await triton.deploy({ migration, side: 'target', store: stores.store(location), location, modelKey: key, executionProvider: 'cpu', modelName: 'm', server: 'triton' });
      try {
        const local = await openModel(new Uint8Array(fixture(key === 'w/two.onnx' ? 'two-inputs.onnx' : 'strings.onnx')), { executionProvider: 'cpu' }, { features: ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'], task: 'binary', ...(key === 'w/two.onnx' ? { inputs: { num_a: ['f0', 'f1', 'f2'], num_b: ['f3', 'f4', 'f5'] } } : {}) });
        const expectedHere = await predict(local.session, local.iface, Float32Array.from(six.flat()), six.length, local.classes);
        const client = new OipClient({ url: endpoint.url, model: 'm' });
        const metadata = await client.metadata();
        const served = await client.predict(inputs, six, defaultOutputs(metadata, 'binary'), local.classes);
        expect(Array.from(served.labels!)).toEqual(Array.from(expectedHere.labels!));
        expect(Array.from(served.scores)).toEqual(Array.from(expectedHere.scores));
        if (local.classNames) expect(metadata.outputs.find((o) => o.name === 'label')?.datatype).toBe('BYTES');
      } finally {
        await triton.stop(migration, 'target');
      }
    }
  }, 240_000);
});

describe('an adopted MLServer and the check before traffic', () => {
  let mlserver: RunningMlserver;
  let wrongModel: RunningMlserver;
  const endpoints = new LocalEndpointDeployer({ stateDir: mkdtempSync(join(tmpdir(), 'cs-endpoints-')) });
  const activities = createStandUpTargetActivities({ stores, deployer: endpoints });
  beforeAll(async () => {
    [mlserver, wrongModel] = await Promise.all([startMlserver({ model, name: 'fraud' }), startMlserver({ model: regressor, name: 'fraud' })]);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([mlserver?.stop(), wrongModel?.stop(), endpoints.stopAll()]);
  });

  it('takes MLServer serving the same model: its input, outputs and classes read over V2', async () => {
    const location = await bucketWith('aws', { 'model.onnx': model });
    const served = await act(activities.checkServedModel, { side: 'source', endpoint: { url: mlserver.url, model: 'fraud' }, location, modelPath: 'model.onnx', features: 30, task: 'binary' });
    expect(served).toMatchObject({ url: mlserver.url, model: 'fraud', input: { name: 'X', datatype: 'FP32' }, outputs: { label: 'label', probabilities: 'probabilities' }, classes: [0, 1] });
    const answered = await new OipClient({ url: mlserver.url, model: 'fraud' }).predict(served.input, rows, served.outputs, served.classes);
    expect(Array.from(answered.labels!)).toEqual(Array.from(expected.labels!));
  });

  it('refuses at once, naming server, model, field and both values: another model, another name, a V1-only server', async () => {
    const location = await bucketWith('aws', { 'model.onnx': model });
    const check = (endpoint: { url: string; model: string }) => act(activities.checkServedModel, { side: 'source', endpoint, location, modelPath: 'model.onnx', features: 30, task: 'binary' }).catch((e: unknown) => e);
    const started = Date.now();
    const other = await check({ url: wrongModel.url, model: 'fraud' });
    expect(other).toMatchObject({ type: 'EndpointMismatch', nonRetryable: true });
    expect((other as Error).message).toMatch(new RegExp(`the server ${wrongModel.url.replace(/[.]/g, '\\.')}, model fraud \\(the source\\) does not serve what the migration sends and reads: inputs\\.\\w+\\.shape: the server takes \\[-1, 10\\], the holdout gives \\[-1, 30\\]`));
    expect(await check({ url: mlserver.url, model: 'churn' })).toMatchObject({ type: 'EndpointMismatch', message: expect.stringMatching(/does not serve this model/) });
    const v1only = createServer((req, res) => {
      res.statusCode = req.url === '/v1/predict' ? 200 : 404;
      res.end('{}');
    });
    const url = await listen(v1only, 0, '127.0.0.1');
    try {
      expect(await check({ url, model: 'fraud' })).toMatchObject({ type: 'EndpointMismatch', message: expect.stringMatching(/does not speak the Open Inference Protocol \(V2\)/) });
    } finally {
      v1only.close();
    }
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
