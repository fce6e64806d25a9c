/**
 * What every deployer of endpoints that run as processes of their own shares: one start per
 * migration and side at a time, a state file per endpoint that the next worker adopts it from,
 * a stop that ends the process and forgets it, and a stopAll for what this deployer started.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { alive, stopProcess } from '../processes.js';
import type { Endpoint, EndpointDeployer, EndpointRequest } from './endpoint.js';

type Side = 'source' | 'target';

export abstract class DetachedDeployer<State extends { pid: number }> implements EndpointDeployer {
  /** Deploys in flight, by `migration/side`, so two at once start one process. */
  private readonly starting = new Map<string, Promise<Endpoint>>();
  /** What this deployer started or adopted, for stopAll. */
  private readonly mine = new Set<string>();

  constructor(
    protected readonly stateDir: string,
    /** How long a stopped endpoint may finish what is in flight before it is killed. */
    private readonly graceMs: number,
  ) {}

  protected folder(migration: string, side: string): string {
    return join(this.stateDir, migration, side);
  }

  protected stateFile(migration: string, side: string): string {
    return join(this.folder(migration, side), 'endpoint.json');
  }

  protected abstract adoptOrStart(request: EndpointRequest): Promise<Endpoint>;

  deploy(request: EndpointRequest): Promise<Endpoint> {
    const id = `${request.migration}/${request.side}`;
    let started = this.starting.get(id);
    if (!started) {
      started = this.adoptOrStart(request).finally(() => this.starting.delete(id));
      this.starting.set(id, started);
    }
    this.mine.add(id);
    return started;
  }

  async stop(migration: string, side: Side): Promise<void> {
    this.mine.delete(`${migration}/${side}`);
    const state = await this.state(migration, side);
    if (state) await stopProcess(state.pid, 'SIGTERM', this.graceMs);
    await rm(this.folder(migration, side), { recursive: true, force: true });
  }

  /** Stops what this deployer started or adopted (a test's clean-up); others keep serving. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.mine].map((id) => this.stop(id.slice(0, id.lastIndexOf('/')), id.slice(id.lastIndexOf('/') + 1) as Side)));
  }

  /** The running endpoint's state, where its process still lives. */
  protected async state(migration: string, side: string): Promise<State | undefined> {
    try {
      const state = JSON.parse(await readFile(this.stateFile(migration, side), 'utf8')) as State;
      return alive(state.pid) ? state : undefined;
    } catch {
      return undefined;
    }
  }

  protected stopProcess(pid: number): Promise<void> {
    return stopProcess(pid, 'SIGTERM', this.graceMs);
  }
}

/** Whether a server answers a probe (`/readyz`, `/v2/health/ready`) with 2xx within two seconds. */
export async function answers(url: string, path: string): Promise<boolean> {
  try {
    const response = await fetch(new URL(path, url), { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
