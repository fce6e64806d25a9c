/**
 * Deploys the inference server for one side of a migration. Workflows see only this interface:
 * a Kubernetes, Cloud Run or SageMaker deployer implements it without touching workflow code.
 * The local one runs the server inside the worker that serves that cloud's queue.
 */
import type { ObjectStore } from '../clouds/object-store.js';
import { loadModel } from '../inference/model.js';
import type { ExecutionProvider, ServingSpec } from '../spec.js';
import { type Faults, type RunningServer, startInferenceServer } from './server.js';

export interface EndpointRequest {
  migration: string;
  side: 'source' | 'target';
  store: ObjectStore;
  modelKey: string;
  executionProvider: ExecutionProvider;
  /** A model that does not hash to this is refused (the copy manifest's checksum). */
  expectedModelSha256?: string;
  /** The workload's portable deployment description; each deployer honours what applies to it. */
  serving?: ServingSpec;
}

export interface Endpoint {
  url: string;
  provider: 'cpu' | 'cuda';
  modelSha256: string;
  /** What of the deployment description this deployer could not honour, and what it did instead. */
  notHonoured?: string[];
}

export interface EndpointDeployer {
  /** Idempotent: deploying what runs already returns it. Resolves once the endpoint is ready. */
  deploy(request: EndpointRequest): Promise<Endpoint>;
  /** Idempotent: stopping what does not run succeeds. */
  stop(migration: string, side: 'source' | 'target'): Promise<void>;
}

export interface LocalDeployerOptions {
  /** Where endpoints listen. @default 127.0.0.1 */
  host?: string;
  /** The host their URLs name (the data plane and Prometheus reach them there). @default host */
  advertiseHost?: string;
  /** Faults for an endpoint, by migration and side: for tests and game days, never set by a spec. */
  faults?: (migration: string, side: 'source' | 'target') => Faults | undefined;
  log?: (line: string) => void;
}

export class LocalEndpointDeployer implements EndpointDeployer {
  /** By `migration/side`. */
  private readonly running = new Map<string, { migration: string; side: 'source' | 'target'; started: Promise<{ server: RunningServer; endpoint: Endpoint }> }>();

  constructor(private readonly options: LocalDeployerOptions = {}) {}

  deploy(request: EndpointRequest): Promise<Endpoint> {
    const id = `${request.migration}/${request.side}`;
    let started = this.running.get(id)?.started;
    if (!started) {
      started = this.start(request);
      this.running.set(id, { migration: request.migration, side: request.side, started });
      started.catch(() => this.running.delete(id));
    }
    return started.then((e) => e.endpoint);
  }

  async stop(migration: string, side: 'source' | 'target'): Promise<void> {
    const id = `${migration}/${side}`;
    const entry = this.running.get(id);
    this.running.delete(id);
    if (entry) await (await entry.started.catch(() => undefined))?.server.close();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running.values()].map(({ migration, side }) => this.stop(migration, side)));
  }

  private async start(request: EndpointRequest) {
    const faults = this.options.faults?.(request.migration, request.side);
    if (faults?.startupDelayMs) await new Promise((resolve) => setTimeout(resolve, faults.startupDelayMs));
    const { bytes: model, sha256: modelSha256 } = await loadModel(request.store, request.modelKey, request.expectedModelSha256, 'the copy that wrote it');
    const local = request.serving ? localShape(request.serving) : { replicas: 1, threads: 1 };
    const server = await startInferenceServer({
      model,
      modelSha256,
      executionProvider: request.executionProvider,
      replicas: local.replicas,
      threadsPerReplica: local.threads,
      host: this.options.host,
      advertiseHost: this.options.advertiseHost,
      name: `${request.side}:${request.store.uri}/${request.modelKey}`,
      faults,
      log: this.options.log,
    });
    try {
      if (request.serving) await waitUntilHealthy(server.url, request.serving.healthCheck);
    } catch (error) {
      await server.close();
      throw error;
    }
    const notHonoured = request.serving ? notHonouredLocally(request.serving, local, server.provider) : [];
    return { server, endpoint: { url: server.url, provider: server.provider, modelSha256, ...(notHonoured.length ? { notHonoured } : {}) } };
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

/** The endpoint runs inside the worker on one host: what of the description that leaves out, said plainly. */
function notHonouredLocally(serving: ServingSpec, { replicas, threads }: ReturnType<typeof localShape>, provider: 'cpu' | 'cuda'): string[] {
  const notes: string[] = [];
  if (serving.replicas > replicas) notes.push(`${serving.replicas} replicas: ${replicas} served (at most ${LOCAL_MAX_REPLICAS} model instances on one host)`);
  if (serving.autoscaling) notes.push(`autoscaling ${serving.autoscaling.minReplicas}–${serving.autoscaling.maxReplicas} replicas at ${serving.autoscaling.targetCpuPercent}% CPU: not scaled locally; ${replicas} served`);
  if (threads !== Number(serving.resources.cpu)) notes.push(`cpu ${serving.resources.cpu}: ${threads} ONNX Runtime thread per replica (whole cores; no CPU quota inside the worker)`);
  notes.push(`memory ${serving.resources.memory}: not limited locally (the endpoint runs inside the worker)`);
  if (serving.resources.gpu > 0 && provider !== 'cuda') notes.push(`${serving.resources.gpu} GPU(s) requested: served on ${provider}`);
  if (serving.exposure.visibility === 'public') notes.push(`public exposure${serving.exposure.hostname ? ` at ${serving.exposure.hostname}` : ''}: served on the worker's host only`);
  return notes;
}
