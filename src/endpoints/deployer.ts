/**
 * Deploys the inference server for one side of a migration. Workflows see only this interface:
 * a Kubernetes, Cloud Run or SageMaker deployer implements it without touching workflow code.
 * The local one runs the server inside the worker that serves that cloud's queue.
 */
import type { ObjectStore } from '../clouds/object-store.js';
import { loadModel } from '../inference/model.js';
import type { ExecutionProvider } from '../spec.js';
import { type Faults, type RunningServer, startInferenceServer } from './server.js';

export interface EndpointRequest {
  migration: string;
  side: 'source' | 'target';
  store: ObjectStore;
  modelKey: string;
  executionProvider: ExecutionProvider;
  /** A model that does not hash to this is refused (the copy manifest's checksum). */
  expectedModelSha256?: string;
}

export interface Endpoint {
  url: string;
  provider: 'cpu' | 'cuda';
  modelSha256: string;
}

export interface EndpointDeployer {
  /** Idempotent: deploying what runs already returns it. Resolves once the endpoint is ready. */
  deploy(request: EndpointRequest): Promise<Endpoint>;
  /** Idempotent: stopping what does not run succeeds. */
  stop(migration: string, side: 'source' | 'target'): Promise<void>;
}

export interface LocalDeployerOptions {
  host?: string;
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
    const server = await startInferenceServer({
      model,
      executionProvider: request.executionProvider,
      host: this.options.host,
      name: `${request.side}:${request.store.uri}/${request.modelKey}`,
      faults,
      log: this.options.log,
    });
    return { server, endpoint: { url: server.url, provider: server.provider, modelSha256 } };
  }
}
