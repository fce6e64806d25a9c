/**
 * The portable deployment description where it lands: `cloudshift serve` (what a rendered
 * Deployment runs) serving a model from a real bucket, the local deployer saying what of the
 * description one host cannot honour, and `cloudshift render` as a user runs it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { LOCAL_MAX_REPLICAS, LocalEndpointDeployer } from '../../src/endpoints/deployer.js';
import { ASSETS_DIR, holdoutRows } from '../../src/dev/workload.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { parseSpec } from '../../src/spec.js';
import type { ObjectStore } from '../../src/clouds/object-store.js';
import { uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';
import { cloudshift } from '../support/cli.js';
import { freePort } from '../support/ports.js';

const stores = testResolver();
let bucket: string;
let store: ObjectStore;
const model = readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx'));


/** `cloudshift serve` in a process of its own; resolves with its first line, or its exit. */
function serve(...args: string[]) {
  const child = spawn(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['src/cli.ts', 'serve', ...args], { cwd: PROJECT_ROOT });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('serving ')) resolve(output);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) => reject(new Error(`exited ${code}: ${output}`)));
  });
  return { child, ready, exited, output: () => output };
}

beforeAll(async () => {
  bucket = uniqueBucket('serve');
  store = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
  await store.ensureContainer();
  await store.write('models/model.onnx', Readable.from([model]));
});

describe('cloudshift serve', () => {
  it('serves the model from the bucket until told to stop', async () => {
    const port = await freePort();
    const server = serve('--cloud', 'aws', '--profile', 'local-s3', '--bucket', bucket, '--key', 'models/model.onnx', '--port', String(port), '--host', '127.0.0.1', '--provider', 'cpu');
    try {
      expect(await server.ready).toMatch(/serving s3:\/\/.*models\/model\.onnx \(sha256 [0-9a-f]{64}\) on http:\/\/127\.0\.0\.1:\d+ with cpu/);
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      const answer = await fetch(`http://127.0.0.1:${port}/v1/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: holdoutRows().slice(0, 3) }) });
      expect(((await answer.json()) as { predictions: unknown[] }).predictions).toHaveLength(3);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  });

  it('refuses a model that does not hash to --sha256, naming it (exit 1)', async () => {
    const server = serve('--cloud', 'aws', '--profile', 'local-s3', '--bucket', bucket, '--key', 'models/model.onnx', '--port', String(await freePort()), '--sha256', 'f'.repeat(64));
    await expect(server.ready).rejects.toThrow(/exited 1: .*ModelChecksumMismatch: the model s3:\/\/.*models\/model\.onnx hashes to SHA-256 [0-9a-f]{64}, but the --sha256 given records f{64}/s);
  });
});

describe('the local deployer and the description', () => {
  const deployer = new LocalEndpointDeployer({ stateDir: mkdtempSync(join(tmpdir(), 'cs-endpoints-')) });
  afterAll(() => deployer.stopAll());
  async function deploy(name: string, deployment: unknown) {
    const parsed = parseSpec({
      name,
      source: { cloud: 'aws', profile: 'local-s3', bucket },
      target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t` },
      workload: { model: { path: 'models/model.onnx' }, holdout: { path: 'h.csv', format: 'csv', features: ['a'], label: 'y', task: 'binary' }, deployment },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    return deployer.deploy({ migration: name, side: 'target', store, modelKey: 'models/model.onnx', executionProvider: 'cpu', serving: parsed.spec.workload!.deployment });
  }

  it('serves the replicas and CPU it describes, probes the health check it names, and says what one host cannot honour', async () => {
    const endpoint = await deploy('serving-notes', { replicas: 3, resources: { cpu: '2', memory: '4Gi', gpu: 1 }, healthCheck: { path: '/healthz', periodSeconds: 1, failureThreshold: 3 }, exposure: { visibility: 'public', hostname: 'fraud.example.com' } });
    expect(endpoint.notHonoured).toEqual([
      'memory 4Gi: not limited locally (the endpoint runs as a process on the worker\'s host)',
      '1 GPU(s) requested: served on cpu',
      'public exposure at fraud.example.com: served on the worker\'s host only',
    ]);
    expect((await fetch(new URL('/healthz', endpoint.url))).status).toBe(200);
    expect(await (await fetch(new URL('/readyz', endpoint.url))).json()).toMatchObject({ ready: true, replicas: 3 });
    // Concurrent requests spread over the replicas, each answered.
    const answers = await Promise.all(Array.from({ length: 12 }, () => fetch(new URL('/v1/predict', endpoint.url), { method: 'POST', body: JSON.stringify({ instances: [Array(30).fill(0.5)] }) }).then((r) => r.status)));
    expect(answers).toEqual(Array(12).fill(200));
  });

  it('caps replicas on one host and says so, and maps a fraction of a core to one thread', async () => {
    const endpoint = await deploy('serving-caps', { replicas: 500, autoscaling: { minReplicas: 2, maxReplicas: 1000 }, resources: { cpu: '500m' }, healthCheck: { periodSeconds: 1 } });
    expect(endpoint.notHonoured).toEqual([
      `500 replicas: ${LOCAL_MAX_REPLICAS} served (at most ${LOCAL_MAX_REPLICAS} model instances on one host)`,
      `autoscaling 2–1000 replicas at 70% CPU: not scaled locally; ${LOCAL_MAX_REPLICAS} served`,
      'cpu 500m: 1 ONNX Runtime thread per replica (whole cores; no CPU quota on the worker\'s host)',
      'memory 1Gi: not limited locally (the endpoint runs as a process on the worker\'s host)',
    ]);
    expect(await (await fetch(new URL('/readyz', endpoint.url))).json()).toMatchObject({ replicas: LOCAL_MAX_REPLICAS });
  });
});

/** KServe's own SDK models' verdict on a document (test/support/kserve_validate.py): the problems, each with its path. */
function kserveProblems(document: unknown): string[] {
  const result = spawnSync(join(PROJECT_ROOT, '.stack/kserve/bin/python'), [join(PROJECT_ROOT, 'test/support/kserve_validate.py')], { input: JSON.stringify(document), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the KServe validator failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

describe('cloudshift render', () => {
  it('renders the target as a KServe InferenceService that KServe\'s own SDK models accept: V2, storageUri in the target bucket, replicas and resources', async () => {
    const triton = await cloudshift('render', '--spec', 'examples/mlserver-to-triton.yaml', '--namespace', 'ml');
    expect(triton.code, triton.stderr).toBe(0);
    const service = parseAllDocuments(triton.stdout).map((d) => d.toJSON() as Record<string, any>).find((d) => d.kind === 'InferenceService')!;
    expect(kserveProblems(service)).toEqual([]);
    const spec = parseSpec(parseYaml(readFileSync(join(PROJECT_ROOT, 'examples/mlserver-to-triton.yaml'), 'utf8')));
    if (!spec.ok) throw new Error('the example does not parse');
    const { target, name, workload } = spec.spec;
    expect(service.spec.predictor.model).toMatchObject({
      modelFormat: { name: 'triton' },
      protocolVersion: 'v2',
      runtime: 'kserve-tritonserver',
      // The repository the migration writes: config.pbtxt and the model, read by Triton from the bucket.
      storageUri: `${target.cloud === 'aws' ? 's3' : 'gs'}://${target.bucket}/${target.prefix}.cloudshift/${name}/triton/target`,
      resources: { requests: { cpu: workload!.deployment.resources.cpu, memory: workload!.deployment.resources.memory } },
    });
    expect(service.spec.predictor.minReplicas).toBe(workload!.deployment.autoscaling?.minReplicas ?? workload!.deployment.replicas);

    // The cloudshift server's target: the copied ONNX model itself.
    const own = parseAllDocuments((await cloudshift('render', '--spec', 'examples/aws-to-gcp.yaml')).stdout).map((d) => d.toJSON() as Record<string, any>).find((d) => d.kind === 'InferenceService')!;
    expect(kserveProblems(own)).toEqual([]);
    expect(own.spec.predictor.model).toMatchObject({ modelFormat: { name: 'onnx' }, protocolVersion: 'v2', storageUri: expect.stringMatching(/^gs:\/\/.+\.onnx$/) });

    // The validator is KServe's and strict: a wrong type, an unknown field and a missing predictor are each named.
    const broken = { ...service, spec: { predictor: { ...service.spec.predictor, minReplicas: 'one', replicaz: 2 } } };
    expect(kserveProblems(broken)).toEqual(["$.spec.predictor.minReplicas: expected int, got \"one\"", "$.spec.predictor.replicaz: V1beta1PredictorSpec has no field 'replicaz'"]);
    expect(kserveProblems({ ...service, spec: {} })).toEqual([expect.stringContaining('`predictor`, must not be `None`')]);
  });

  it('writes the example\'s manifests as YAML a user pipes to kubectl, and exits 2 on what it cannot render', async () => {
    const rendered = await cloudshift('render', '--spec', 'examples/aws-to-gcp.yaml', '--weight', '50', '--namespace', 'ml');
    expect(rendered.code, rendered.stderr).toBe(0);
    const documents = parseAllDocuments(rendered.stdout).map((d) => d.toJSON() as { kind: string; metadata: { namespace: string } });
    expect(documents.map((d) => d.kind)).toEqual(['Deployment', 'Service', 'HorizontalPodAutoscaler', 'Deployment', 'Service', 'HorizontalPodAutoscaler', 'HTTPRoute', 'InferenceService']);
    expect(new Set(documents.map((d) => d.metadata.namespace))).toEqual(new Set(['ml']));
    expect((await cloudshift('render', '--spec', 'examples/aws-to-gcp.yaml', '--skip-inference-service')).stdout).not.toContain('InferenceService');
    expect((await cloudshift('render', '--spec', 'examples/data-only-s3-to-gcs.yaml')).code).toBe(2);
    expect((await cloudshift('render', '--spec', 'examples/aws-to-gcp.yaml', '--target', 'nomad')).code).toBe(2);
  });
});
