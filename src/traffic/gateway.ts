/**
 * The weighted gateway: one HTTP entry point that splits prediction traffic between the source and
 * target endpoints, optionally mirrors source-bound requests to the target (the caller always gets
 * the source's answer), and measures each backend. Routes change only through the admin API,
 * which listens on its own port (loopback by default), never on the prediction port. A change
 * replaces the route as a whole, is written to disk before it is answered, and carries a revision,
 * so a retried change is a no-op and a restarted gateway keeps its weights.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { dirname } from 'node:path';
import { closeServer, HttpError, listen, readBody, sendJson, sendText } from '../http/http.js';
import { Counter, Histogram, renderMetrics } from '../http/metrics.js';
import type { Route, RouteChange } from './route.js';
import { type BackendWindow, type CanaryWindow, LatencyWindow } from './window.js';

export type { Route, RouteChange } from './route.js';

export interface GatewayOptions {
  /** Where the route is persisted. */
  stateFile: string;
  host?: string;
  /** Absent: the port of the last run (from the state file), else any free one. */
  port?: number;
  adminHost?: string;
  adminPort?: number;
}

interface PersistedState {
  route?: Route;
  port?: number;
  adminPort?: number;
}

/** The request header whose value keeps a caller on one backend while the weights hold. */
export const STICKY_HEADER = 'x-cloudshift-key';
export const BACKEND_HEADER = 'x-cloudshift-backend';

export class Gateway {
  /** One keep-alive connection pool per backend. */
  private readonly pools = new Map<string, Pool>();
  private readonly requests = new Counter('cloudshift_gateway_requests_total', 'Requests by backend, role (served or mirrored) and outcome');
  private readonly latency = new Histogram('cloudshift_gateway_backend_seconds', 'Backend latency by backend and role');
  private readonly mirrorRows = new Counter('cloudshift_gateway_mirror_rows_total', 'Mirrored prediction rows compared, by agreement');
  private window = newWindow();
  private changes: Promise<unknown> = Promise.resolve();
  /** Metric handles per backend and role, built once: the hot path only adds. */
  private readonly meters = {
    source: { served: this.meter('source', 'served'), mirrored: this.meter('source', 'mirrored') },
    target: { served: this.meter('target', 'served'), mirrored: this.meter('target', 'mirrored') },
  };

  private constructor(
    private route: Route | undefined,
    private readonly options: GatewayOptions,
    private readonly traffic: Server,
    private readonly admin: Server,
    readonly url: string,
    readonly adminUrl: string,
  ) {}

  static async start(options: GatewayOptions): Promise<Gateway> {
    const saved = await readState(options.stateFile);
    const traffic = createServer();
    const admin = createServer();
    traffic.keepAliveTimeout = 65_000;
    const url = await listen(traffic, options.port ?? saved.port ?? 0, options.host ?? '127.0.0.1');
    const adminUrl = await listen(admin, options.adminPort ?? saved.adminPort ?? 0, options.adminHost ?? '127.0.0.1');
    const gateway = new Gateway(saved.route, options, traffic, admin, url, adminUrl);
    traffic.on('request', (req, res) => gateway.serve(req, res, gateway.forward.bind(gateway)));
    admin.on('request', (req, res) => gateway.serve(req, res, gateway.administer.bind(gateway)));
    await gateway.persist();
    return gateway;
  }

  get currentRoute(): Route | undefined {
    return this.route;
  }

  async close(): Promise<void> {
    await Promise.all([closeServer(this.traffic), closeServer(this.admin)]);
    await Promise.all([...this.pools.values()].map((pool) => pool.destroy()));
  }

  /**
   * Applies a change unless its revision is not newer; persisted before it takes effect. Changes
   * apply one at a time, so two arriving together cannot land out of revision order.
   */
  change(change: RouteChange): Promise<{ route: Route; applied: boolean }> {
    const applied = this.changes.then(() => this.applyChange(change));
    this.changes = applied.catch(() => undefined);
    return applied;
  }

  private async applyChange(change: RouteChange): Promise<{ route: Route; applied: boolean }> {
    const current = this.route;
    if (change.revision !== undefined && current && change.revision <= current.revision) return { route: current, applied: false };
    const next: Route = {
      revision: change.revision ?? (current?.revision ?? 0) + 1,
      source: change.source ?? current?.source ?? '',
      target: change.target ?? current?.target ?? '',
      targetPercent: change.targetPercent ?? current?.targetPercent ?? 0,
      mirror: change.mirror ?? current?.mirror ?? false,
      updatedAt: new Date().toISOString(),
    };
    if (!next.source || !next.target) throw new HttpError(400, 'a route needs both a source and a target URL');
    if (!(next.targetPercent >= 0 && next.targetPercent <= 100)) throw new HttpError(400, 'targetPercent must be within 0–100');
    await this.persist(next);
    this.route = next;
    return { route: next, applied: true };
  }

  private async persist(route = this.route): Promise<void> {
    const state: PersistedState = { route, port: portOf(this.url), adminPort: portOf(this.adminUrl) };
    await mkdir(dirname(this.options.stateFile), { recursive: true });
    const temporary = `${this.options.stateFile}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(state, null, 2));
    await rename(temporary, this.options.stateFile);
  }

  private serve(req: IncomingMessage, res: ServerResponse, handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): void {
    handler(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 502;
      if (!res.headersSent) sendJson(res, status, { error: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  }

  private async administer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/routes' && req.method === 'GET') return sendJson(res, this.route ? 200 : 404, this.route ?? { error: 'no route yet' });
    if (path === '/routes' && req.method === 'PUT') {
      let change: RouteChange;
      try {
        change = JSON.parse((await readBody(req)).toString('utf8')) as RouteChange;
      } catch {
        throw new HttpError(400, 'expected a JSON route change');
      }
      return sendJson(res, 200, await this.change(change));
    }
    if (path === '/metrics' && req.method === 'GET') return sendText(res, 200, renderMetrics(this.requests, this.latency, this.mirrorRows));
    if (path === '/window' && req.method === 'GET') return sendJson(res, 200, this.readWindow());
    if (path === '/window' && req.method === 'POST') {
      this.window = newWindow();
      return sendJson(res, 200, this.readWindow());
    }
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    throw new HttpError(404, `no admin route ${req.method} ${path}`);
  }

  readWindow(): CanaryWindow {
    const w = this.window;
    return {
      since: w.since,
      seconds: (Date.now() - Date.parse(w.since)) / 1000,
      route: this.route,
      source: w.source.summary(),
      target: w.target.summary(),
      mirror: { rows: w.mirrorRows, agreeing: w.mirrorAgreeing, agreement: w.mirrorRows ? w.mirrorAgreeing / w.mirrorRows : undefined },
    };
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? '/';
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    const route = this.route;
    if (!route) throw new HttpError(503, 'the gateway has no route yet');
    const body = await readBody(req);
    const toTarget = chooseTarget(route.targetPercent, req.headers[STICKY_HEADER]);
    const backend = toTarget ? 'target' : 'source';
    const window = this.window;
    const served = await this.call(toTarget ? route.target : route.source, req, path, body, backend, 'served', window);
    res.writeHead(served.status, { ...served.headers, [BACKEND_HEADER]: backend });
    res.end(served.body);
    if (route.mirror && !toTarget) {
      // After the caller has its answer: the mirror never delays or changes it.
      void this.call(route.target, req, path, body, 'target', 'mirrored', window)
        .then((mirrored) => {
          if (served.status === 200 && mirrored.status === 200) this.compare(served.body, mirrored.body, window);
        })
        .catch(() => undefined);
    }
  }

  private poolFor(base: string): Pool {
    let pool = this.pools.get(base);
    if (!pool) this.pools.set(base, (pool = new Pool(base, { connections: 256, keepAliveTimeout: 60_000 })));
    return pool;
  }

  private meter(backend: 'source' | 'target', role: 'served' | 'mirrored') {
    return {
      ok: this.requests.child({ backend, role, outcome: 'ok' }),
      error: this.requests.child({ backend, role, outcome: 'error' }),
      latency: this.latency.child({ backend, role }),
    };
  }

  private async call(base: string, req: IncomingMessage, path: string, body: Buffer, backend: 'source' | 'target', role: 'served' | 'mirrored', window: Window) {
    const meter = this.meters[backend][role];
    const started = performance.now();
    try {
      const answer = await send(this.poolFor(base), path, req.method ?? 'POST', req.headers['content-type'], body);
      const ok = answer.status < 500;
      (ok ? meter.ok : meter.error).inc();
      window[backend].record((performance.now() - started) / 1000, ok);
      return answer;
    } catch (error) {
      meter.error.inc();
      window[backend].record((performance.now() - started) / 1000, false);
      if (role === 'served') throw new HttpError(502, `the ${backend} endpoint did not answer: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    } finally {
      meter.latency.observe((performance.now() - started) / 1000);
    }
  }

  private compare(a: Buffer, b: Buffer, window: Window): void {
    try {
      const pa = (JSON.parse(a.toString('utf8')) as PredictionAnswer).predictions;
      const pb = (JSON.parse(b.toString('utf8')) as PredictionAnswer).predictions;
      for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
        const same = agrees(pa[i]!, pb[i]!);
        window.mirrorRows++;
        if (same) window.mirrorAgreeing++;
        this.mirrorRows.inc({ agreement: same ? 'same' : 'different' });
      }
    } catch {
      // An answer that is not predictions JSON is not comparable; the error counters tell the rest.
    }
  }
}

interface PredictionAnswer {
  predictions: { score: number; label?: number }[];
}

/** Same class, or for regressors scores within 0.1 % (relative, floored at 1e-3 like the shadow gate). */
function agrees(a: { score: number; label?: number }, b: { score: number; label?: number }): boolean {
  if (a.label !== undefined || b.label !== undefined) return a.label === b.label;
  return Math.abs(a.score - b.score) <= 1e-3 * Math.max(Math.abs(a.score), Math.abs(b.score), 1e-3);
}

function chooseTarget(targetPercent: number, key: string | string[] | undefined): boolean {
  if (targetPercent <= 0) return false;
  if (targetPercent >= 100) return true;
  const sticky = Array.isArray(key) ? key[0] : key;
  // A sticky key maps to a fixed point in [0, 100): it stays on its backend until the weight passes it.
  const point = sticky ? createHash('sha1').update(sticky).digest().readUInt32BE(0) / 2 ** 32 * 100 : Math.random() * 100;
  return point < targetPercent;
}

// undici instead of node:http's client: 14 % more requests through the gateway in the benchmark,
// where the gateway shares its host's cores with what it routes to.
async function send(pool: Pool, path: string, method: string, contentType: string | undefined, body: Buffer) {
  const answer = await pool.request({
    path,
    method: method as 'POST',
    headers: { 'content-type': contentType ?? 'application/json' },
    body,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const type = answer.headers['content-type'];
  return { status: answer.statusCode, headers: typeof type === 'string' ? { 'content-type': type } : {}, body: Buffer.from(await answer.body.arrayBuffer()) };
}

interface Window {
  since: string;
  source: LatencyWindow;
  target: LatencyWindow;
  mirrorRows: number;
  mirrorAgreeing: number;
}

function newWindow(): Window {
  return { since: new Date().toISOString(), source: new LatencyWindow(), target: new LatencyWindow(), mirrorRows: 0, mirrorAgreeing: 0 };
}

const portOf = (url: string) => Number(new URL(url).port);

async function readState(file: string): Promise<PersistedState> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as PersistedState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`the gateway's state file ${file} is unreadable (${(error as Error).message}); fix or remove it`);
  }
}

export type { BackendWindow, CanaryWindow };
