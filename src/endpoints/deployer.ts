/**
 * The local deployer of cloudshift's own endpoint (the contract is endpoint.ts). It runs each endpoint as a process of its own on the worker's host
 * (endpoint-process.ts), so production traffic never depends on the worker: a worker that dies
 * mid-canary leaves both endpoints serving, and the next worker adopts them from their state.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorFromThread } from '../errors.js';
import { loadModel } from '../inference/model.js';
import { stopProcess } from '../processes.js';
import { answers, DetachedDeployer } from './detached.js';
import type { ServingSpec } from '../spec.js';
import type { Endpoint, EndpointDeployer, EndpointRequest } from './endpoint.js';
import type { EndpointProcessConfig, EndpointState } from './endpoint-process.js';
import type { Faults } from './server.js';

export type { Endpoint, EndpointDeployer, EndpointRequest } from './endpoint.js';

export interface LocalDeployerOptions {
  /** Where each endpoint's state, model copy and log live (one folder per migration and side). */
  stateDir: string;
  /** Where endpoints listen. @default 127.0.0.1 */
  host?: string;
  /** The host their URLs name (the data plane and Prometheus reach them there). @default host */
  advertiseHost?: string;
  /** Faults for an endpoint, by migration and side: for tests and game days, never set by a spec. */
  faults?: (migration: string, side: 'source' | 'target') => Faults | undefined;
  /** How long a new endpoint may take to load its model. @default 120 s */
  startTimeoutMs?: number;
}

/** The endpoint process's module, from source (under tsx) or from the built code. */
const PROCESS_MODULE = new URL(import.meta.url.endsWith('.ts') ? './endpoint-process.ts' : './endpoint-process.js', import.meta.url);

export class LocalEndpointDeployer extends DetachedDeployer<EndpointState & { notHonoured?: string[] }> {
  constructor(private readonly options: LocalDeployerOptions) {
    super(options.stateDir, 5000);
  }

  protected async adoptOrStart(request: EndpointRequest): Promise<Endpoint> {
    const { bytes: model, sha256: modelSha256 } = await loadModel(request.store, request.modelKey, request.expectedModelSha256, 'the copy that wrote it');
    const running = await this.state(request.migration, request.side);
    // A worker that restarted finds its endpoint serving: adopted, not started twice.
    if (running && running.modelSha256 === modelSha256 && (await answers(running.url, '/readyz'))) {
      return { url: running.url, provider: running.provider, modelSha256, ...(running.notHonoured?.length ? { notHonoured: running.notHonoured } : {}) };
    }
    if (running) await this.stopProcess(running.pid);
    const faults = this.options.faults?.(request.migration, request.side);
    if (faults?.startupDelayMs) await new Promise((resolve) => setTimeout(resolve, faults.startupDelayMs));
    const local = request.serving ? localShape(request.serving) : { replicas: 1, threads: 1 };
    const folder = this.folder(request.migration, request.side);
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    const config: EndpointProcessConfig = {
      modelFile: join(folder, 'model.onnx'),
      sha256: modelSha256,
      executionProvider: request.executionProvider,
      host: this.options.host,
      advertiseHost: this.options.advertiseHost,
      name: `${request.side}:${request.store.uri}/${request.modelKey}`,
      modelName: request.modelName ?? 'model',
      modelVersion: request.modelVersion ?? '1',
      replicas: local.replicas,
      threadsPerReplica: local.threads,
      ...(faults ? { faults } : {}),
      stateFile: join(folder, 'endpoint.json'),
      failureFile: join(folder, 'failed.json'),
    };
    await writeFile(config.modelFile, model);
    const state = await this.spawnEndpoint(config, join(folder, 'endpoint.log'));
    try {
      if (request.serving) await waitUntilHealthy(state.url, request.serving.healthCheck);
    } catch (error) {
      await this.stop(request.migration, request.side);
      throw error;
    }
    const notHonoured = request.serving ? notHonouredLocally(request.serving, local, state.provider) : [];
    await writeFile(config.stateFile, JSON.stringify({ ...state, ...(notHonoured.length ? { notHonoured } : {}) }));
    return { url: state.url, provider: state.provider, modelSha256, ...(notHonoured.length ? { notHonoured } : {}) };
  }

  /** Starts the endpoint's process, detached from the worker, and waits for its state file. */
  private async spawnEndpoint(config: EndpointProcessConfig, logFile: string): Promise<EndpointState> {
    const log = openSync(logFile, 'a');
    const loader = PROCESS_MODULE.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const child = spawn(process.execPath, [...loader, PROCESS_MODULE.pathname, JSON.stringify(config)], { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    child.unref();
    let exited: number | null | undefined;
    child.once('exit', (code) => (exited = code));
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 120_000);
    for (;;) {
      const state = await readFile(config.stateFile, 'utf8').then((t) => JSON.parse(t) as EndpointState, () => undefined);
      if (state) return state;
      if (exited !== undefined) {
        const failure = await readFile(config.failureFile, 'utf8').then((t) => JSON.parse(t) as { type: string; message: string }, () => undefined);
        if (failure) throw errorFromThread(failure.type, failure.message);
        const tail = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join(' | ');
        throw new Error(`the endpoint ${config.name} exited (code ${exited}) before it was ready: ${tail}`);
      }
      if (Date.now() > deadline) {
        if (child.pid) await stopProcess(child.pid, 'SIGTERM');
        throw new Error(`the endpoint ${config.name} was not ready within ${Math.round((this.options.startTimeoutMs ?? 120_000) / 1000)} s (log: ${logFile})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Probes the health check as a kubelet would: after the initial delay, every period, each within its timeout. */
async function waitUntilHealthy(url: string, check: ServingSpec['healthCheck']): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, check.initialDelaySeconds * 1000));
  let last = '';
  for (let attempt = 1; attempt <= check.failureThreshold; attempt++) {
    try {
      const answer = await fetch(new URL(check.path, url), { signal: AbortSignal.timeout(check.timeoutSeconds * 1000) });
      await answer.arrayBuffer();
      if (answer.ok) return;
      last = `HTTP ${answer.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (attempt < check.failureThreshold) await new Promise((resolve) => setTimeout(resolve, check.periodSeconds * 1000));
  }
  throw new Error(`the endpoint ${url} did not pass its health check ${check.path} in ${check.failureThreshold} tries ${check.periodSeconds}s apart (last: ${last}); it was stopped`);
}

/** Model instances one host serves at most, whatever the description asks: each holds the model in memory. */
export const LOCAL_MAX_REPLICAS = 8;

/** What of the description one host honours: replicas as model instances, whole CPU cores as ONNX Runtime threads. */
function localShape(serving: ServingSpec): { replicas: number; threads: number } {
  const cores = serving.resources.cpu.endsWith('m') ? Number(serving.resources.cpu.slice(0, -1)) / 1000 : Number(serving.resources.cpu);
  return { replicas: Math.min(serving.replicas, LOCAL_MAX_REPLICAS), threads: Math.max(1, Math.floor(cores)) };
}

/** The endpoint runs as a process on the worker's host: what of the description that leaves out, said plainly. */
function notHonouredLocally(serving: ServingSpec, { replicas, threads }: ReturnType<typeof localShape>, provider: 'cpu' | 'cuda'): string[] {
  const notes: string[] = [];
  if (serving.replicas > replicas) notes.push(`${serving.replicas} replicas: ${replicas} served (at most ${LOCAL_MAX_REPLICAS} model instances on one host)`);
  if (serving.autoscaling) notes.push(`autoscaling ${serving.autoscaling.minReplicas}–${serving.autoscaling.maxReplicas} replicas at ${serving.autoscaling.targetCpuPercent}% CPU: not scaled locally; ${replicas} served`);
  if (threads !== Number(serving.resources.cpu)) notes.push(`cpu ${serving.resources.cpu}: ${threads} ONNX Runtime thread per replica (whole cores; no CPU quota on the worker's host)`);
  notes.push(`memory ${serving.resources.memory}: not limited locally (the endpoint runs as a process on the worker's host)`);
  if (serving.resources.gpu > 0 && provider !== 'cuda') notes.push(`${serving.resources.gpu} GPU(s) requested: served on ${provider}`);
  if (serving.exposure.visibility === 'public') notes.push(`public exposure${serving.exposure.hostname ? ` at ${serving.exposure.hostname}` : ''}: served on the worker's host only`);
  return notes;
}

/** The serving stacks a worker can deploy to, picked per request by `server`. */
export class ServingStacks implements EndpointDeployer {
  constructor(private readonly stacks: { cloudshift: EndpointDeployer & { stopAll(): Promise<void> }; triton?: EndpointDeployer & { stopAll(): Promise<void> } }) {}

  deploy(request: EndpointRequest): Promise<Endpoint> {
    const server = request.server ?? 'cloudshift';
    const stack = this.stacks[server];
    if (!stack) throw new Error(`this worker has no ${server} serving stack (install it with bash scripts/install.sh)`);
    return stack.deploy(request);
  }

  /** Stops the side wherever it runs: stopping what does not run succeeds. */
  async stop(migration: string, side: 'source' | 'target'): Promise<void> {
    await Promise.all(Object.values(this.stacks).map((stack) => stack?.stop(migration, side)));
  }

  async stopAll(): Promise<void> {
    await Promise.all(Object.values(this.stacks).map((stack) => stack?.stopAll()));
  }
}
