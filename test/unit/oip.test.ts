/**
 * The Open Inference Protocol, both ends: cloudshift's endpoint answers V2 as Triton does (the
 * ONNX model's own metadata and outputs), the client reads any V2 server back into predictions
 * equal to the in-worker ones, and what no retry can change is refused at once, naming the
 * server, the model, the field and both values.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointUnavailable, OipClient } from '../../src/endpoints/oip-client.js';
import { defaultOutputs, EndpointMismatch, interfaceProblems, type ModelMetadata } from '../../src/endpoints/oip.js';
import { type RunningServer, startInferenceServer } from '../../src/endpoints/server.js';
import { listen } from '../../src/http/http.js';
import { openModel, predict } from '../../src/inference/session.js';

const model = readFileSync(new URL('../../assets/breast-cancer.onnx', import.meta.url));
const regressor = readFileSync(new URL('../../assets/diabetes.onnx', import.meta.url));
const rows = readFileSync(new URL('../../assets/breast-cancer-holdout.csv', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .slice(1, 41)
  .map((line) => line.split(',').slice(0, 30).map(Number));

let server: RunningServer;
let regression: RunningServer;
beforeAll(async () => {
  [server, regression] = await Promise.all([
    startInferenceServer({ model, executionProvider: 'cpu', name: 'test', modelName: 'fraud' }),
    startInferenceServer({ model: regressor, executionProvider: 'cpu', name: 'test', modelName: 'glucose' }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.close(), regression?.close()]);
});

const post = (path: string, body: unknown) => fetch(new URL(path, server.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe("cloudshift's endpoint speaks V2", () => {
  it('reports health, the server, and the ONNX model’s own metadata', async () => {
    const client = new OipClient({ url: server.url, model: 'fraud', version: '1' });
    expect(await client.ready()).toBe(true);
    expect(await client.modelReady()).toBe(true);
    const metadata = await client.metadata();
    expect(metadata).toMatchObject({ name: 'fraud', versions: ['1'], platform: 'onnxruntime_onnx' });
    expect(metadata.inputs).toEqual([{ name: expect.any(String), datatype: 'FP32', shape: [-1, 30] }]);
    expect(metadata.outputs.map((o) => o.name)).toEqual(expect.arrayContaining(['label', 'probabilities']));
    expect(interfaceProblems(metadata, { inputs: [{ width: 30 }], task: 'binary', classes: 2, outputs: defaultOutputs(metadata, 'binary') })).toEqual([]);
  });

  it('answers the same predictions as the model run in the worker, classifier and regressor', async () => {
    const client = new OipClient({ url: server.url, model: 'fraud' });
    const metadata = await client.metadata();
    const served = await client.predict({ name: metadata.inputs[0]!.name, datatype: 'FP32' }, rows, defaultOutputs(metadata, 'binary'), [0, 1]);
    const { session, iface } = await openModel(model, { executionProvider: 'cpu' });
    const local = await predict(session, iface, Float32Array.from(rows.flat()), rows.length, [0, 1]);
    expect(Array.from(served.labels!)).toEqual(Array.from(local.labels!));
    expect(Array.from(served.scores)).toEqual(Array.from(local.scores));

    const glucose = new OipClient({ url: regression.url, model: 'glucose' });
    const gm = await glucose.metadata();
    const width = gm.inputs[0]!.shape.at(-1)!;
    const some = [Array.from({ length: width }, (_, i) => i / 100), Array.from({ length: width }, () => 0.01)];
    const values = await glucose.predict({ name: gm.inputs[0]!.name, datatype: 'FP32' }, some, defaultOutputs(gm, 'regression'));
    const rs = await openModel(regressor, { executionProvider: 'cpu' });
    expect(Array.from(values.scores)).toEqual(Array.from((await predict(rs.session, rs.iface, Float32Array.from(some.flat()), 2)).scores));
  });

  it('refuses a malformed request with a 400 naming the field and both values', async () => {
    const name = (await new OipClient({ url: server.url, model: 'fraud' }).metadata()).inputs[0]!.name;
    const cases: [unknown, RegExp][] = [
      [{ inputs: [{ name: 'nope', datatype: 'FP32', shape: [1, 30], data: rows[0] }] }, new RegExp(`inputs\\[0\\]\\.name: expected "${name}", got "nope"`)],
      [{ inputs: [{ name, datatype: 'BYTES', shape: [1, 30], data: rows[0] }] }, /datatype: expected a numeric datatype \(FP32\), got BYTES/],
      [{ inputs: [{ name, datatype: 'FP32', shape: [1, 30], data: rows[0] }, { name: 'extra', datatype: 'FP32', shape: [1, 1], data: [0] }] }, new RegExp(`inputs: expected one tensor "${name}", got 2`)],
      [{ inputs: [{ name, datatype: 'FP32', shape: [1, 29], data: rows[0]!.slice(1) }] }, /shape: expected \[rows, 30\], got \[1, 29\]/],
      [{ inputs: [{ name, datatype: 'FP32', shape: [2, 30], data: rows[0] }] }, /expected 60 values for shape \[2, 30\], got 30/],
      [{ inputs: [{ name, datatype: 'FP32', shape: [1, 30], data: [...rows[0]!.slice(1), 'x'] }] }, /data\[29\]: expected a number, got "x"/],
      [{ inputs: [{ name, datatype: 'FP32', shape: [1, 30], data: rows[0] }], outputs: [{ name: 'scores' }] }, /outputs: no output "scores"/],
    ];
    for (const [body, message] of cases) {
      const answer = await post('/v2/models/fraud/infer', body);
      expect(answer.status).toBe(400);
      expect(((await answer.json()) as { error: string }).error).toMatch(message);
    }
    expect((await post('/v2/models/other/infer', {})).status).toBe(404);
    expect((await post('/v2/models/fraud/versions/2/infer', {})).status).toBe(404);
  });
});

describe('the client refuses what no retry changes', () => {
  it('a server that does not speak V2, another model, another version', async () => {
    const v1only = createServer((req, res) => {
      res.statusCode = req.url === '/v1/predict' ? 200 : 404;
      res.end('{}');
    });
    const url = await listen(v1only, 0, '127.0.0.1');
    try {
      const error = await new OipClient({ url, model: 'fraud' }).ready().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EndpointMismatch);
      expect((error as Error).message).toMatch(/does not speak the Open Inference Protocol \(V2\)/);
    } finally {
      v1only.close();
    }
    await expect(new OipClient({ url: server.url, model: 'churn' }).metadata()).rejects.toThrow(/model churn: GET \/v2\/models\/churn answered HTTP 404.*does not serve this model/);
    await expect(new OipClient({ url: server.url, model: 'fraud', version: '7' }).metadata()).rejects.toThrow(EndpointMismatch);
  });

  it('a server that answers 5xx or not at all stays retryable', async () => {
    const failing = createServer((_req, res) => {
      res.statusCode = 503;
      res.end('overloaded');
    });
    const url = await listen(failing, 0, '127.0.0.1');
    try {
      await expect(new OipClient({ url, model: 'fraud' }).metadata()).rejects.toBeInstanceOf(EndpointUnavailable);
    } finally {
      failing.close();
    }
    await expect(new OipClient({ url: 'http://127.0.0.1:1', model: 'fraud' }).ready()).rejects.toBeInstanceOf(EndpointUnavailable);
  });

  it('a served interface unlike the model: input width, datatype, class count, missing outputs', () => {
    const metadata: ModelMetadata = {
      name: 'fraud',
      inputs: [{ name: 'x', datatype: 'BYTES', shape: [-1, 29] }],
      outputs: [{ name: 'label', datatype: 'FP16', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
    };
    const problems = interfaceProblems(metadata, { inputs: [{ width: 30 }], task: 'binary', classes: 2, outputs: { label: 'label', probabilities: 'probabilities' } });
    expect(problems).toEqual([
      'inputs.x.datatype: the server takes BYTES; the holdout\'s columns are sent as FP32, FP64, INT64, INT32, BOOL',
      'inputs.x.shape: the server takes [-1, 29], the holdout gives [-1, 30]',
      'outputs.label.datatype: the server answers FP16; class labels are integers or strings (BYTES)',
      'outputs.probabilities.shape: the server answers [-1, 3], the ONNX model has 2 classes ([-1, 2])',
    ]);
    expect(interfaceProblems(metadata, { inputs: [{ width: 29 }], task: 'binary', outputs: { probabilities: 'probs' } })).toContain('outputs.probabilities: the spec reads "probs", the server has label, probabilities');
    // Two inputs where the holdout sends one: said with what to do.
    const two: ModelMetadata = { ...metadata, inputs: [{ name: 'num_a', datatype: 'FP32', shape: [-1, 3] }, { name: 'num_b', datatype: 'FP32', shape: [-1, 3] }] };
    expect(interfaceProblems(two, { inputs: [{ width: 6 }], task: 'binary', outputs: { probabilities: 'probabilities' } })[0]).toBe(
      'inputs: the server has 2 (num_a, num_b), cloudshift sends one tensor of the holdout\'s 6 features; map the holdout\'s columns to its inputs with workload.holdout.inputs',
    );
    expect(interfaceProblems(two, { inputs: [{ name: 'num_a', width: 3 }, { name: 'num_b', width: 3 }], task: 'binary', outputs: { probabilities: 'probabilities' } })).toEqual([]);
    expect(interfaceProblems(two, { inputs: [{ name: 'num_a', width: 3 }, { name: 'num_c', width: 3 }], task: 'binary', outputs: { probabilities: 'probabilities' } })).toEqual(['inputs.num_c: the server has no such input (it has num_a, num_b)']);
  });
});
