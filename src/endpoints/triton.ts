/**
 * A target endpoint on NVIDIA Triton Inference Server. The deployer writes a Triton model
 * repository (config.pbtxt from the ONNX model's own inputs and outputs, the model, and — for a
 * build without the ONNX Runtime backend — deploy/triton/model.py, which runs it in ONNX Runtime
 * inside Triton's Python backend) into the target bucket beside the copied model, and starts
 * `tritonserver` on it. Triton reads an S3 repository itself (`s3://http://host:port/bucket/…`,
 * so MinIO too); it cannot reach fake-gcs-server or Azurite, so there it loads a local copy of
 * the repository whose model was checked by SHA-256, and the endpoint says which it did.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ObjectStore } from '../clouds/object-store.js';
import { readCredentialsFile, type Profile } from '../clouds/profiles.js';
import { loadModel } from '../inference/model.js';
import { loadSession } from '../inference/session.js';
import { migrationFolder } from '../migration-paths.js';
import { PROJECT_ROOT, STATE_DIR } from '../paths.js';
import type { ServingSpec, StorageLocation } from '../spec.js';
import type { Endpoint, EndpointRequest } from './endpoint.js';
import { answers, DetachedDeployer } from './detached.js';
import type { ModelMetadata } from './oip.js';
import { v2Metadata } from './oip-server.js';

/** Where scripts/install.sh puts tritonserver, its backends and the Python its backend runs. */
const TRITON_STACK = join(STATE_DIR, 'triton');

export interface TritonDeployerOptions {
  /** Where each endpoint's state, local repository copy and log live. */
  stateDir: string;
  /** The tritonserver binary. @default the one scripts/install.sh puts in .stack/triton */
  binary?: string;
  /** Its backends folder. @default .stack/triton's */
  backendDirectory?: string;
  /** A folder whose `python` has ONNX Runtime and numpy: the Python backend's stub runs it. @default .stack/triton/bin */
  pythonBin?: string;
  /**
   * `python`: the model runs in ONNX Runtime inside Triton's Python backend (the PyPI build);
   * `onnxruntime`: Triton's own ONNX Runtime backend (an NGC build, GPU or CPU). @default 'python'
   */
  backend?: 'python' | 'onnxruntime';
  /** The connection profile of each location, for Triton's own access to an S3 repository. */
  profileOf: (location: StorageLocation) => Profile | undefined;
  host?: string;
  advertiseHost?: string;
  /** @default 180 s: the Python backend starts a stub process per model instance. */
  startTimeoutMs?: number;
}

interface TritonState {
  url: string;
  pid: number;
  modelSha256: string;
  repository: string;
  metricsUrl: string;
  notHonoured?: string[];
}

/** Triton's data_type names for the protocol's datatypes. */
const TRITON_TYPE = (datatype: string) => `TYPE_${datatype === 'BYTES' ? 'STRING' : datatype}`;

/** config.pbtxt for the model: its own input and tensor outputs, batching left to the requests. */
export function tritonModelConfig(metadata: ModelMetadata, options: { backend: 'python' | 'onnxruntime'; instances: number; gpu: boolean }): string {
  const tensor = (t: ModelMetadata['inputs'][number]) => `  { name: "${t.name}" data_type: ${TRITON_TYPE(t.datatype)} dims: [ ${t.shape.join(', ')} ] }`;
  return [
    `name: "${metadata.name}"`,
    options.backend === 'python' ? 'backend: "python"' : 'platform: "onnxruntime_onnx"',
    'max_batch_size: 0',
    `input [\n${metadata.inputs.map(tensor).join(',\n')}\n]`,
    `output [\n${metadata.outputs.map(tensor).join(',\n')}\n]`,
    `instance_group [ { kind: ${options.gpu ? 'KIND_GPU' : 'KIND_CPU'} count: ${options.instances} } ]`,
    '',
  ].join('\n');
}

/** A port nothing listens on now. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Where Triton reads the repository itself, with the environment it needs, or undefined where it cannot. */
function tritonRepositoryUrl(location: StorageLocation, profile: Profile | undefined, folder: string): { url: string; env: Record<string, string> } | undefined {
  if (location.cloud !== 'aws' || profile?.cloud !== 'aws') return undefined;
  const credentials = profile.credentialsFile ? readCredentialsFile(profile.credentialsFile) : undefined;
  const env: Record<string, string> = {
    AWS_DEFAULT_REGION: profile.region,
    ...(credentials ? { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, ...(credentials.sessionToken ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}) } : {}),
  };
  // Triton names a non-AWS endpoint inside the URL, scheme included.
  const base = profile.endpoint ? `s3://${profile.endpoint.replace(/\/+$/, '')}/` : 's3://';
  return { url: `${base}${location.bucket}/${folder.replace(/\/+$/, '')}`, env };
}

export class TritonDeployer extends DetachedDeployer<TritonState> {
  constructor(private readonly options: TritonDeployerOptions) {
    // Triton drains its in-flight requests on SIGTERM (its exit timeout is 30 s).
    super(options.stateDir, 15_000);
  }

  protected async adoptOrStart(request: EndpointRequest): Promise<Endpoint> {
    if (!request.location) throw new Error('the Triton deployer needs the location the model is stored in');
    const { bytes: model, sha256: modelSha256 } = await loadModel(request.store, request.modelKey, request.expectedModelSha256, 'the copy that wrote it');
    const running = await this.state(request.migration, request.side);
    if (running && running.modelSha256 === modelSha256 && (await answers(running.url, '/v2/health/ready'))) return endpointOf(running);
    if (running) await this.stopProcess(running.pid);

    const name = request.modelName ?? 'model';
    // Triton's versions are numbers: another version name is served as 1, and said.
    const version = /^\d+$/.test(request.modelVersion ?? '1') ? (request.modelVersion ?? '1') : '1';
    const backend = this.options.backend ?? 'python';
    const gpu = request.executionProvider === 'cuda';
    const instances = Math.min(request.serving?.replicas ?? 1, 8);
    const { session } = await loadSession(model, { executionProvider: 'cpu' });
    const metadata = v2Metadata(session, name, version);
    await session.release();
    const files: [string, Uint8Array | string][] = [
      [`${name}/config.pbtxt`, tritonModelConfig(metadata, { backend, instances, gpu })],
      [`${name}/${version}/model.onnx`, model],
      ...(backend === 'python' ? [[`${name}/${version}/model.py`, await readFile(join(PROJECT_ROOT, 'deploy', 'triton', 'model.py'))] as [string, Uint8Array]] : []),
    ];
    // The repository goes into the target bucket beside the copied model, in the migration's folder.
    const repositoryFolder = migrationFolder(request.location, request.migration, `triton/${request.side}/`);
    for (const [path, body] of files) await request.store.write(`${repositoryFolder}${path}`, Readable.from([Buffer.from(body)]), { contentType: path.endsWith('.pbtxt') || path.endsWith('.py') ? 'text/plain' : 'application/octet-stream' });

    const folder = this.folder(request.migration, request.side);
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    const direct = tritonRepositoryUrl(request.location, this.options.profileOf(request.location), repositoryFolder);
    let repository: string;
    let env: Record<string, string> = {};
    if (direct) {
      repository = direct.url;
      env = direct.env;
    } else {
      // Triton cannot read this store: the repository as written, copied here from the store,
      // its model checked against the SHA-256 verified above.
      const local = join(folder, 'repository');
      for (const [path] of files) {
        const stored = await loadModel(request.store, `${repositoryFolder}${path}`, path.endsWith('model.onnx') ? modelSha256 : undefined, 'the model verified at the store');
        await mkdir(dirname(join(local, path)), { recursive: true });
        await writeFile(join(local, path), stored.bytes);
      }
      repository = local;
    }
    const host = this.options.host ?? '127.0.0.1';
    const [http, grpc, metrics] = [await freePort(host), await freePort(host), await freePort(host)];
    const logFile = join(folder, 'tritonserver.log');
    const log = openSync(logFile, 'a');
    const child = spawn(
      this.options.binary ?? join(TRITON_STACK, 'bin', 'tritonserver'),
      [
        `--model-repository=${repository}`,
        `--backend-directory=${this.options.backendDirectory ?? join(TRITON_STACK, 'backends')}`,
        `--http-address=${host}`,
        `--http-port=${http}`,
        `--grpc-address=${host}`,
        `--grpc-port=${grpc}`,
        `--metrics-address=${host}`,
        `--metrics-port=${metrics}`,
        '--allow-gpu-metrics=false',
        '--exit-on-error=true',
        '--strict-readiness=true',
        '--log-verbose=0',
      ],
      { detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...env, PATH: `${this.options.pythonBin ?? join(TRITON_STACK, 'bin')}:${process.env.PATH ?? ''}` } },
    );
    closeSync(log);
    child.unref();
    let exited: number | null | undefined;
    child.once('exit', (code) => (exited = code));
    const advertised = this.options.advertiseHost ?? host;
    const url = `http://${advertised}:${http}`;
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 180_000);
    while (!(await answers(url, '/v2/health/ready'))) {
      if (exited !== undefined || Date.now() > deadline) {
        if (child.pid && exited === undefined) await this.stopProcess(child.pid);
        const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').filter((l) => /^E|error/i.test(l)).slice(-3).join(' | ');
        throw new Error(`Triton for ${name} (${repository}) ${exited !== undefined ? `exited (code ${exited})` : 'was not ready in time'}: ${tail || `see ${logFile}`}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const notHonoured = tritonNotHonoured(request.serving, { instances, gpu, version: request.modelVersion, direct: Boolean(direct), store: request.store, backend });
    const state: TritonState = { url, pid: child.pid!, modelSha256, repository, metricsUrl: `http://${advertised}:${metrics}/metrics`, ...(notHonoured.length ? { notHonoured } : {}) };
    await writeFile(this.stateFile(request.migration, request.side), JSON.stringify(state));
    return endpointOf(state);
  }
}

const endpointOf = (state: TritonState): Endpoint => ({
  url: state.url,
  provider: 'cpu',
  modelSha256: state.modelSha256,
  server: 'triton',
  repository: state.repository,
  metricsAddress: new URL(state.metricsUrl).host,
  ...(state.notHonoured?.length ? { notHonoured: state.notHonoured } : {}),
});

function tritonNotHonoured(serving: ServingSpec | undefined, used: { instances: number; gpu: boolean; version?: string; direct: boolean; store: ObjectStore; backend: string }): string[] {
  const notes: string[] = [];
  if (!used.direct) notes.push(`repository: Triton cannot read ${used.store.uri}; it serves a local copy of the repository written there, its model checked by SHA-256`);
  if (used.version && !/^\d+$/.test(used.version)) notes.push(`version ${used.version}: Triton's versions are numbers; served as version 1`);
  if (serving && serving.replicas > used.instances) notes.push(`${serving.replicas} replicas: ${used.instances} model instances on one Triton`);
  if (serving?.resources.gpu && !used.gpu) notes.push(`${serving.resources.gpu} GPU(s) requested: served on cpu (${used.backend} backend)`);
  if (serving) notes.push(`memory ${serving.resources.memory}: not limited locally (Triton runs as a process on the worker's host)`);
  return notes;
}
