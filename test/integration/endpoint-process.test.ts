/**
 * Production traffic never depends on the worker: an endpoint the local deployer started keeps
 * answering after its worker is killed with SIGKILL, the next worker adopts it (same process, no
 * second start), and stopping it ends its process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalEndpointDeployer } from '../../src/endpoints/deployer.js';
import { OipClient } from '../../src/endpoints/oip-client.js';
import { defaultOutputs } from '../../src/endpoints/oip.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { alive } from '../../src/processes.js';
import type { StorageLocation } from '../../src/spec.js';
import { uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';

const stores = testResolver();
const row = readFileSync(join(PROJECT_ROOT, 'assets', 'breast-cancer-holdout.csv'), 'utf8').split('\n')[1]!.split(',').slice(0, 30).map(Number);

/** Starts a stand-in worker that deploys the endpoint, and resolves with it and the worker's process. */
function workerDeploying(args: object): Promise<{ worker: ReturnType<typeof spawn>; endpoint: { url: string } }> {
  const worker = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'test/support/deploy-endpoint.ts'), JSON.stringify(args)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    worker.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ worker, endpoint: JSON.parse(line) as { url: string } });
    });
    worker.once('exit', (code) => reject(new Error(`the stand-in worker exited (${code}) before deploying: ${out}`)));
  });
}

describe('endpoints outlive the worker', () => {
  it('keeps serving through a SIGKILL of its worker, is adopted by the next, and stops when told', async () => {
    const location: StorageLocation = { cloud: 'aws', profile: 'local-s3', bucket: uniqueBucket('ep'), prefix: '' };
    const store = stores.store(location);
    await store.ensureContainer();
    await store.write('models/model.onnx', Readable.from([readFileSync(join(PROJECT_ROOT, 'assets', 'breast-cancer.onnx'))]));
    const stateDir = mkdtempSync(join(tmpdir(), 'cs-endpoints-'));
    const request = { stateDir, migration: 'outlives', side: 'target', location, modelKey: 'models/model.onnx' } as const;

    const { worker, endpoint } = await workerDeploying(request);
    const client = new OipClient({ url: endpoint.url, model: 'fraud' });
    const metadata = await client.metadata();
    const ask = () => client.predict({ name: metadata.inputs[0]!.name, datatype: 'FP32' }, [row], defaultOutputs(metadata, 'binary'), [0, 1]);
    const before = await ask();

    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    // Requests go on being answered, the same way, with no worker at all.
    for (let i = 0; i < 20; i++) expect(Array.from((await ask()).scores)).toEqual(Array.from(before.scores));

    const state = JSON.parse(readFileSync(join(stateDir, 'outlives', 'target', 'endpoint.json'), 'utf8')) as { pid: number; url: string };
    const next = new LocalEndpointDeployer({ stateDir });
    const adopted = await next.deploy({ migration: 'outlives', side: 'target', store, modelKey: 'models/model.onnx', executionProvider: 'cpu', modelName: 'fraud' });
    expect(adopted.url).toBe(endpoint.url);
    expect(JSON.parse(readFileSync(join(stateDir, 'outlives', 'target', 'endpoint.json'), 'utf8')).pid).toBe(state.pid);

    await next.stop('outlives', 'target');
    expect(alive(state.pid)).toBe(false);
    await expect(ask()).rejects.toThrow(/did not answer/);
  });

  it('refuses, without retry, a model whose bytes are not the recorded ones', async () => {
    const location: StorageLocation = { cloud: 'gcp', profile: 'local-gcs', bucket: uniqueBucket('ep'), prefix: '' };
    const store = stores.store(location);
    await store.ensureContainer();
    await store.write('m.onnx', Readable.from([readFileSync(join(PROJECT_ROOT, 'assets', 'breast-cancer.onnx'))]));
    const deployer = new LocalEndpointDeployer({ stateDir: mkdtempSync(join(tmpdir(), 'cs-endpoints-')) });
    const error = await deployer.deploy({ migration: 'bad-model', side: 'target', store, modelKey: 'm.onnx', executionProvider: 'cpu', expectedModelSha256: '0'.repeat(64) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'ModelChecksumMismatch' });
  });
});
