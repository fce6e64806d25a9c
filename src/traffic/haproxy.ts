/**
 * The local data plane: one HAProxy per migration, started by the worker as a daemon of its own so
 * traffic keeps flowing while workers restart. Weights change through HAProxy's runtime API
 * (no reload, both backends in one command batch); each change is first written into the
 * configuration and the route file, so a restarted HAProxy comes back with the weights it had.
 *
 * Requests without a key are split by weighted round robin; requests with an x-cloudshift-key
 * header are split by a consistent hash of it, so a key stays on its side while the weights hold.
 * Mirroring is a Lua action (deploy/haproxy/mirror.lua): HAProxy 2.6 has no mirror directive.
 * It is switched through a map on the runtime API too, never by a reload: a reload closes the old
 * process's keep-alive connections, and callers racing that close got errors (3 of ~1,500 requests
 * in a canary whose mirror was switched by reload).
 * HAProxy's own Prometheus exporter serves the per-side counts on a second port.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import type { ScrapeTarget } from './discovery.js';
import { fetchMirrored, type MirroredCapture } from './mirrored-answers.js';
import { ROUTER_CAPABILITIES, type Route, STICKY_HEADER, BACKEND_HEADER } from './route.js';
import { checkCapabilities, type RouteBackends, type RouterInfo, type TrafficRouter } from './router.js';
import { alive, stopProcess } from '../processes.js';
import { NonRetryableError } from '../errors.js';

export const MIRROR_LUA = join(PROJECT_ROOT, 'deploy', 'haproxy', 'mirror.lua');

export interface HaproxyRouterOptions {
  /** Each migration's configuration, route and runtime socket live under `<dir>/<migration>/`. */
  dir: string;
  /** Ports handed to migrations, two each (traffic, metrics), the first free pair from `first`. */
  ports: { first: number; last: number };
  /** The address HAProxy listens on. @default 127.0.0.1 */
  host?: string;
  /** The host clients and Prometheus reach it at. @default host */
  advertiseHost?: string;
  /** @default haproxy (from PATH) */
  binary?: string;
}

interface RouteFile {
  route: Route;
  port: number;
  metricsPort: number;
}

const BACKENDS = ['split', 'sticky'] as const;

export class HaproxyRouter implements TrafficRouter {
  readonly kind = 'haproxy' as const;
  readonly capabilities = ROUTER_CAPABILITIES.haproxy;
  /** One change at a time per migration: two changes can never interleave their writes. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly ensured = new Set<string>();

  constructor(private readonly options: HaproxyRouterOptions) {}

  ensure(migration: string, backends: RouteBackends): Promise<RouterInfo> {
    return this.ensureAt(migration, backends);
  }

  /**
   * This router with the traffic port a spec chose (metrics on the next one) in place of the range.
   * A view, not a second router: changes to a migration stay in one queue, and releaseAll stops it.
   */
  atPort(port: number): TrafficRouter {
    return {
      kind: this.kind,
      capabilities: this.capabilities,
      ensure: (migration, backends) => this.ensureAt(migration, backends, port),
      setWeights: (migration, change) => this.setWeights(migration, change),
      readWeights: (migration) => this.readWeights(migration),
      scrapeTargets: (migration) => this.scrapeTargets(migration),
      mirroredAnswers: (migration, since) => this.mirroredAnswers(migration, since),
      release: (migration, options) => this.release(migration, options),
    };
  }

  private ensureAt(migration: string, backends: RouteBackends, chosenPort?: number): Promise<RouterInfo> {
    return this.serially(migration, async () => {
      for (const [side, url] of Object.entries(backends)) serverAddress(url, side);
      this.ensured.add(migration);
      let state = await this.readRouteFile(migration);
      const moved = state && (state.route.source !== backends.source || state.route.target !== backends.target);
      if (!state || moved) {
        const ports = state ? { port: state.port, metricsPort: state.metricsPort } : await this.allocatePorts(migration, chosenPort);
        const route: Route = {
          revision: state?.route.revision ?? 0,
          source: backends.source,
          target: backends.target,
          targetPercent: state?.route.targetPercent ?? 0,
          mirror: state?.route.mirror ?? false,
          updatedAt: new Date().toISOString(),
        };
        state = { route, ...ports };
        await this.persist(migration, state);
        if (await this.running(migration)) await this.startOrReload(migration, true);
      }
      if (!(await this.running(migration))) {
        try {
          await this.startOrReload(migration, false);
        } catch (error) {
          // Another process took the port between the check and the start: move to a free pair.
          if (await bindable(state.port, this.options.host)) throw error;
          state = { ...state, ...(await this.allocatePorts(migration, chosenPort)) };
          await this.persist(migration, state);
          await this.startOrReload(migration, false);
        }
      }
      return { url: this.url(state.port), route: state.route };
    });
  }

  setWeights(migration: string, change: { revision: number; targetPercent: number; mirror: boolean }): Promise<{ route: Route; applied: boolean }> {
    return this.serially(migration, async () => {
      checkCapabilities(this, change);
      if (!(change.targetPercent >= 0 && change.targetPercent <= 100)) throw new Error(`targetPercent must be within 0–100, got ${change.targetPercent}`);
      const state = await this.readRouteFile(migration);
      if (!state) throw new Error(`no HAProxy route for ${migration} yet; ensure it first`);
      if (change.revision <= state.route.revision) return { route: state.route, applied: false };
      const route: Route = { ...state.route, ...change, updatedAt: new Date().toISOString() };
      const next = { ...state, route };
      // The files first: whatever happens next, a restart comes back with these weights.
      await this.persist(migration, next);
      if (await this.running(migration)) await this.applyRuntime(migration, route);
      else await this.startOrReload(migration, false);
      return { route, applied: true };
    });
  }

  async readWeights(migration: string): Promise<Route> {
    const state = await this.readRouteFile(migration);
    if (!state) throw new Error(`no HAProxy route for ${migration}`);
    const weight = async (server: 'source' | 'target') => Number((await this.runtime(migration, `get weight split/${server}`)).split(' ')[0]);
    const [source, target] = [await weight('source'), await weight('target')];
    const mirror = (await this.runtime(migration, `show map ${this.file(migration, 'flags.map')}`)).includes('mirror on');
    const targetPercent = source + target === 0 ? 0 : Math.round((100 * target) / (source + target));
    return { ...state.route, targetPercent, mirror };
  }

  async scrapeTargets(migration: string): Promise<ScrapeTarget[]> {
    const state = await this.readRouteFile(migration);
    if (!state) return [];
    return [{ address: `${this.advertised()}:${state.metricsPort}`, job: 'cloudshift-dataplane', labels: { router: 'haproxy' } }];
  }

  /** Both answers to each mirrored request, as the data plane captured them (mirror.lua). */
  async mirroredAnswers(migration: string, since: number): Promise<MirroredCapture> {
    const state = await this.readRouteFile(migration);
    if (!state) throw new Error(`no HAProxy data plane runs for ${migration}: nothing was mirrored`);
    return fetchMirrored(`http://${this.advertised()}:${state.metricsPort}`, since);
  }

  /**
   * Stops the migration's HAProxy. `forget` (its migration has ended) also removes its route and
   * configuration, so its ports return to the range: kept, every ended migration held its pair
   * and the range ran out after 19 migrations.
   */
  release(migration: string, options: { forget?: boolean } = {}): Promise<void> {
    return this.serially(migration, async () => {
      const pid = await this.pid(migration);
      if (pid !== undefined) await stopProcess(pid, 'SIGUSR1'); // soft stop: finish what is in flight
      await rm(this.file(migration, 'haproxy.pid'), { force: true });
      if (options.forget) {
        this.ensured.delete(migration);
        await rm(join(this.options.dir, migration), { recursive: true, force: true });
      }
    });
  }

  /**
   * Stops the data planes this router ensured (a worker's shutdown; a test's clean-up) and names
   * their migrations. Those of other processes, or of an earlier run of this worker, keep serving.
   */
  async releaseAll(): Promise<string[]> {
    const names = [...this.ensured];
    this.ensured.clear();
    await Promise.all(names.map((name) => this.release(name)));
    return names;
  }

  private advertised(): string {
    return this.options.advertiseHost ?? this.options.host ?? '127.0.0.1';
  }

  private url(port: number): string {
    return `http://${this.advertised()}:${port}`;
  }

  private file(migration: string, name: string): string {
    return join(this.options.dir, migration, name);
  }

  private serially<T>(migration: string, work: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(migration) ?? Promise.resolve()).then(work);
    this.queues.set(migration, next.catch(() => undefined));
    return next;
  }

  private async readRouteFile(migration: string): Promise<RouteFile | undefined> {
    try {
      return JSON.parse(await readFile(this.file(migration, 'route.json'), 'utf8')) as RouteFile;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`the route file ${this.file(migration, 'route.json')} is unreadable (${(error as Error).message}); fix or remove it`);
    }
  }

  private async persist(migration: string, state: RouteFile): Promise<void> {
    await mkdir(join(this.options.dir, migration), { recursive: true });
    await writeAtomically(this.file(migration, 'flags.map'), `mirror ${state.route.mirror ? 'on' : 'off'}\n`);
    await writeAtomically(this.file(migration, 'haproxy.cfg'), this.render(migration, state));
    await writeAtomically(this.file(migration, 'route.json'), JSON.stringify(state, null, 2));
  }

  /** The whole configuration, weights included. */
  render(migration: string, state: RouteFile): string {
    const { route } = state;
    const host = this.options.host ?? '127.0.0.1';
    const flags = this.file(migration, 'flags.map');
    const mirrorOn = `{ str(mirror),map(${flags}) -m str on }`;
    const servers = (w: { source: number; target: number }) =>
      [`  server source ${serverAddress(route.source, 'source')} weight ${w.source}`, `  server target ${serverAddress(route.target, 'target')} weight ${w.target}`];
    const w = weightsOf(route.targetPercent);
    return [
      `# cloudshift data plane for migration ${migration}; written by the worker, revision ${route.revision}`,
      'global',
      `  lua-load ${MIRROR_LUA}`,
      `  stats socket ${this.file(migration, 'admin.sock')} mode 600 level admin`,
      '  httpclient.ssl.verify none',
      // One thread: the endpoints it routes to share the host's cores (two, here); a second
      // thread only contends with them.
      '  nbthread 1',
      // Mirroring needs the whole body in the buffer; prediction batches of up to 64 KiB fit.
      '  tune.bufsize 65536',
      'defaults',
      '  mode http',
      '  timeout connect 5s',
      '  timeout client 65s',
      '  timeout server 30s',
      '  timeout http-keep-alive 65s',
      'frontend canary',
      `  bind ${host}:${state.port}`,
      '  option http-buffer-request',
      // Request ids and the kept body serve the mirror only: without it a request costs no more.
      '  unique-id-format %[uuid()]',
      `  http-request set-header x-request-id %[unique-id] if ${mirrorOn}`,
      `  http-request lua.cloudshift_keep_body if ${mirrorOn}`,
      `  use_backend sticky if { req.hdr(${STICKY_HEADER}) -m found }`,
      '  default_backend split',
      `  http-response set-header ${BACKEND_HEADER} %[srv_name] if { srv_name -m found }`,
      // The source's whole answer, kept beside the target's, is what mirrored agreement compares.
      `  http-response wait-for-body time 5s if { srv_name source } ${mirrorOn}`,
      `  http-response lua.cloudshift_mirror ${route.target.replace(/\/+$/, '')} if { srv_name source } ${mirrorOn}`,
      'backend split',
      '  balance roundrobin',
      ...servers(w),
      'backend sticky',
      `  balance hdr(${STICKY_HEADER})`,
      '  hash-type consistent',
      ...servers(w),
      'frontend metrics',
      `  bind ${host}:${state.metricsPort}`,
      '  http-request use-service prometheus-exporter if { path /metrics }',
      '  http-request use-service lua.cloudshift_mirrored if { path /cloudshift/mirrored }',
      '  http-request return status 200 content-type text/plain string ok if { path /healthz }',
      '',
    ].join('\n');
  }

  private async applyRuntime(migration: string, route: Route): Promise<void> {
    const w = weightsOf(route.targetPercent);
    // One connection, one batch: HAProxy runs the commands back to back, between two requests.
    const commands = [
      ...BACKENDS.flatMap((b) => [`set server ${b}/source weight ${w.source}`, `set server ${b}/target weight ${w.target}`]),
      `set map ${this.file(migration, 'flags.map')} mirror ${route.mirror ? 'on' : 'off'}`,
    ];
    const answer = await this.runtime(migration, commands.join('; '));
    if (answer.trim()) throw new Error(`HAProxy for ${migration} refused the weights: ${answer.trim()}`);
  }

  /** One runtime API command batch over the migration's admin socket. */
  private runtime(migration: string, command: string): Promise<string> {
    const path = this.file(migration, 'admin.sock');
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      let answer = '';
      socket.setTimeout(5000, () => socket.destroy(new Error(`HAProxy's runtime API at ${path} did not answer within 5 s`)));
      socket.on('connect', () => socket.end(`${command}\n`));
      socket.on('data', (chunk) => (answer += chunk.toString('utf8')));
      socket.on('end', () => resolve(answer));
      socket.on('error', (error) => reject(new Error(`HAProxy's runtime API at ${path}: ${error.message}`)));
    });
  }

  private async pid(migration: string): Promise<number | undefined> {
    try {
      const pid = Number((await readFile(this.file(migration, 'haproxy.pid'), 'utf8')).trim().split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async running(migration: string): Promise<boolean> {
    if ((await this.pid(migration)) === undefined) return false;
    return this.runtime(migration, 'show info').then(
      () => true,
      () => false,
    );
  }

  /** Starts HAProxy as a daemon, or reloads it gracefully (old connections finish on the old one). */
  private async startOrReload(migration: string, reload: boolean): Promise<void> {
    const config = this.file(migration, 'haproxy.cfg');
    const pidFile = this.file(migration, 'haproxy.pid');
    const old = reload ? await this.pid(migration) : undefined;
    const args = ['-f', config, '-D', '-p', pidFile, ...(old ? ['-sf', String(old)] : [])];
    const output = await run(this.options.binary ?? 'haproxy', args);
    if (output.code !== 0) throw new Error(`HAProxy for ${migration} did not start (exit ${output.code}): ${output.text.trim().slice(-2000)}`);
    const deadline = Date.now() + 10_000;
    while (!(await this.running(migration))) {
      if (Date.now() > deadline) throw new Error(`HAProxy for ${migration} started but its runtime API did not answer within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The first pair of ports in the range that no other migration holds and nothing listens on. */
  private async allocatePorts(migration: string, chosen?: number): Promise<{ port: number; metricsPort: number }> {
    if (chosen !== undefined) {
      if ((await bindable(chosen, this.options.host)) && (await bindable(chosen + 1, this.options.host))) return { port: chosen, metricsPort: chosen + 1 };
      throw new NonRetryableError('DataPlanePortTaken', `canary.router.port ${chosen} (and ${chosen + 1} for metrics) is taken on this worker; choose another port, or leave it out for one of CLOUDSHIFT_DATAPLANE_PORTS`);
    }
    const taken = new Set<number>();
    for (const name of await readdir(this.options.dir).catch(() => [] as string[])) {
      if (name === migration) continue;
      const other = await this.readRouteFile(name).catch(() => undefined);
      // A data plane that no longer runs holds no ports: a crash or a lost release left it, and
      // its migration, if it still runs, moves to a free pair when it ensures its route again.
      if (other && (await this.running(name))) taken.add(other.port).add(other.metricsPort);
    }
    for (let port = this.options.ports.first; port + 1 <= this.options.ports.last; port += 2) {
      if (taken.has(port) || taken.has(port + 1)) continue;
      if ((await bindable(port, this.options.host)) && (await bindable(port + 1, this.options.host))) return { port, metricsPort: port + 1 };
    }
    throw new Error(`no free pair of data-plane ports in ${this.options.ports.first}–${this.options.ports.last}; widen CLOUDSHIFT_DATAPLANE_PORTS or release finished migrations`);
  }
}

/** HAProxy weights for a share of traffic on the target: they add up to 100. */
export function weightsOf(targetPercent: number): { source: number; target: number } {
  const target = Math.round(targetPercent);
  return { source: 100 - target, target };
}

function serverAddress(url: string, side: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`the ${side} endpoint ${JSON.stringify(url)} is not a URL`);
  }
  if (parsed.protocol !== 'http:' || (parsed.pathname !== '/' && parsed.pathname !== '')) {
    throw new Error(`the ${side} endpoint ${url}: the HAProxy router expects http://host:port`);
  }
  return `${parsed.hostname}:${parsed.port || '80'}`;
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

function run(command: string, args: string[]): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    if (command.includes('/') && !existsSync(command)) return resolve({ code: 127, text: `${command} is missing; run 'bash scripts/install.sh'` });
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', (error) => resolve({ code: 127, text: `${command}: ${error.message} (install HAProxy: bash scripts/install.sh)` }));
    child.on('close', (code) => resolve({ code: code ?? 1, text }));
  });
}


function bindable(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
