/**
 * The local stack: Temporal dev server (with its Web UI), MinIO for S3, fake-gcs-server for GCS,
 * Azurite for Azure Blob, Prometheus for the canary's analysis and moto's server for Route 53,
 * each a child process of ours with fixed loopback ports.
 *
 * `ensureStack` starts only what is not already answering and reports what it started, so a test
 * run reuses a stack a developer left running and stops only its own processes.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { SEARCH_ATTRIBUTE_NAMES } from '../workflows/definitions.js';
import { PROJECT_ROOT, STATE_DIR } from '../paths.js';
import { alive } from '../processes.js';

export { PROJECT_ROOT, STATE_DIR };


/** Fixed loopback ports, as the README lists them. */
export const LOCAL_PORTS = {
  temporal: 7233,
  temporalUi: 8233,
  s3: 9000,
  s3Console: 9001,
  gcs: 4443,
  azureBlob: 10000,
  prometheus: 9090,
  route53: 5055,
} as const;

export const LOCAL_ENDPOINTS = {
  temporal: `127.0.0.1:${LOCAL_PORTS.temporal}`,
  temporalUi: `http://127.0.0.1:${LOCAL_PORTS.temporalUi}`,
  s3: `http://127.0.0.1:${LOCAL_PORTS.s3}`,
  gcs: `http://127.0.0.1:${LOCAL_PORTS.gcs}`,
  azureBlob: `http://127.0.0.1:${LOCAL_PORTS.azureBlob}/devstoreaccount1`,
  prometheus: `http://127.0.0.1:${LOCAL_PORTS.prometheus}`,
  route53: `http://127.0.0.1:${LOCAL_PORTS.route53}`,
} as const;

export const SERVICE_NAMES = ['temporal', 's3', 'gcs', 'azure', 'prometheus', 'route53'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Where the worker finds the MinIO credentials the stack generated (never committed). */
export const LOCAL_S3_CREDENTIALS_FILE = join(STATE_DIR, 'minio-credentials.json');

/**
 * The one key MinIO's built-in KMS holds, so a bucket can encrypt by default with SSE-KMS as AWS
 * buckets often do (ETags that are no MD5). Its material is made per stack and never committed.
 */
export const LOCAL_S3_KMS_KEY_ID = 'cloudshift-local';
const LOCAL_S3_KMS_KEY_FILE = join(STATE_DIR, 'minio-kms-key');

/** The folder Prometheus watches for the worker's scrape target files (file-based discovery). */
export const SCRAPE_TARGETS_DIR = join(STATE_DIR, 'prometheus', 'targets');
/** The alert rules the local stack's Prometheus evaluates, as docker-compose.yml's does. */
export const ALERT_RULES_FILE = join(PROJECT_ROOT, 'deploy', 'prometheus', 'alerts.yml');

/**
 * Writes Prometheus's configuration and returns its path: every second, what the worker lists
 * under SCRAPE_TARGETS_DIR (one second, so a canary step of a few seconds has several samples to
 * judge), and cloudshift's alert rules.
 */
export function writePrometheusConfig(): string {
  mkdirSync(SCRAPE_TARGETS_DIR, { recursive: true });
  const file = join(STATE_DIR, 'prometheus', 'prometheus.yml');
  writeFileSync(
    file,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      `rule_files: ['${ALERT_RULES_FILE}']`,
      'scrape_configs:',
      '  - job_name: cloudshift',
      '    file_sd_configs:',
      `      - files: ['${join(SCRAPE_TARGETS_DIR, '*.json')}']`,
      '        refresh_interval: 5s',
      '',
    ].join('\n'),
  );
  return file;
}

/** moto takes any credentials; these only keep the SDK from looking for real ones. */
function motoCredentials(): void {
  const file = join(STATE_DIR, 'moto-credentials.json');
  if (!existsSync(file)) writeFileSync(file, JSON.stringify({ accessKeyId: 'moto', secretAccessKey: 'moto' }), { mode: 0o600 });
}

interface ServiceDefinition {
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Resolves true once the service answers. */
  ready(): Promise<boolean>;
  /** Runs once after the service first answers. */
  afterStart?(): Promise<void>;
}

const bin = (name: string): string => join(STATE_DIR, 'bin', name);

/** A secret the stack makes once and keeps in its state folder (owner-only), never committed. */
function madeOnce(file: string, make: () => string): string {
  if (!existsSync(file)) {
    mkdirSync(STATE_DIR, { recursive: true });
    writeFileSync(file, make(), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

function localS3Credentials(): { accessKeyId: string; secretAccessKey: string } {
  const made = madeOnce(LOCAL_S3_CREDENTIALS_FILE, () => JSON.stringify({ accessKeyId: 'cloudshift', secretAccessKey: randomBytes(18).toString('base64url') }));
  return JSON.parse(made) as { accessKeyId: string; secretAccessKey: string };
}

const localS3KmsKey = () => madeOnce(LOCAL_S3_KMS_KEY_FILE, () => `${LOCAL_S3_KMS_KEY_ID}:${randomBytes(32).toString('base64')}`);

function definitions(): Record<ServiceName, ServiceDefinition> {
  const data = (name: string) => {
    const dir = join(STATE_DIR, 'data', name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  return {
    temporal: {
      command: join(STATE_DIR, 'venv', 'bin', 'temporal'),
      args: [
        'server', 'start-dev',
        '--ip', '127.0.0.1',
        '--port', String(LOCAL_PORTS.temporal),
        '--ui-port', String(LOCAL_PORTS.temporalUi),
        '--db-filename', join(data('temporal'), 'temporal.sqlite'),
        '--log-level', 'warn',
        ...SEARCH_ATTRIBUTE_NAMES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
      ],
      ready: async () => (await portOpen(LOCAL_PORTS.temporal)) && (await httpOk(`${LOCAL_ENDPOINTS.temporalUi}/`)),
    },
    s3: {
      command: bin('minio'),
      args: [
        'server', data('minio'),
        '--address', `127.0.0.1:${LOCAL_PORTS.s3}`,
        '--console-address', `127.0.0.1:${LOCAL_PORTS.s3Console}`,
        '--quiet',
      ],
      env: (() => {
        const credentials = localS3Credentials();
        return { MINIO_ROOT_USER: credentials.accessKeyId, MINIO_ROOT_PASSWORD: credentials.secretAccessKey, MINIO_BROWSER: 'off', MINIO_KMS_SECRET_KEY: localS3KmsKey() };
      })(),
      ready: () => httpOk(`${LOCAL_ENDPOINTS.s3}/minio/health/ready`),
    },
    gcs: {
      command: bin('fake-gcs-server'),
      args: [
        '-scheme', 'http',
        '-host', '127.0.0.1',
        '-port', String(LOCAL_PORTS.gcs),
        '-backend', 'filesystem',
        '-filesystem-root', data('fake-gcs'),
        '-public-host', `127.0.0.1:${LOCAL_PORTS.gcs}`,
        '-external-url', LOCAL_ENDPOINTS.gcs,
        '-log-level', 'warn',
      ],
      ready: () => httpOk(`${LOCAL_ENDPOINTS.gcs}/storage/v1/b`),
    },
    azure: {
      command: join(PROJECT_ROOT, 'node_modules', '.bin', 'azurite-blob'),
      args: [
        '--blobHost', '127.0.0.1',
        '--blobPort', String(LOCAL_PORTS.azureBlob),
        '--location', data('azurite'),
        '--skipApiVersionCheck',
        '--loose',
        '--silent',
      ],
      ready: () => portOpen(LOCAL_PORTS.azureBlob),
    },
    prometheus: {
      command: '/usr/bin/prometheus',
      args: [
        `--config.file=${writePrometheusConfig()}`,
        `--storage.tsdb.path=${data('prometheus')}`,
        '--storage.tsdb.retention.time=2d',
        `--web.listen-address=127.0.0.1:${LOCAL_PORTS.prometheus}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
      ],
      ready: () => httpOk(`${LOCAL_ENDPOINTS.prometheus}/-/ready`),
    },
    route53: {
      command: join(STATE_DIR, 'venv', 'bin', 'moto_server'),
      args: ['-H', '127.0.0.1', '-p', String(LOCAL_PORTS.route53)],
      ready: async () => {
        motoCredentials();
        return httpOk(`${LOCAL_ENDPOINTS.route53}/moto-api/`);
      },
    },
  };
}

export async function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ port, host });
    const finish = (open: boolean) => {
      socket.destroy();
      done(open);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.setTimeout(1000, () => finish(false));
  });
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return response.ok;
  } catch {
    return false;
  }
}

const pidFile = (name: ServiceName) => join(STATE_DIR, 'pids', `${name}.pid`);
/** The pid this stack started a service as, if it started it and it still runs. */
export function servicePid(name: ServiceName): number | undefined {
  const pid = recordedPid(name);
  return pid !== undefined && alive(pid) ? pid : undefined;
}

/** The pid in a service's pid file, if there is one and it reads as a pid. */
function recordedPid(name: ServiceName): number | undefined {
  if (!existsSync(pidFile(name))) return undefined;
  const pid = Number(readFileSync(pidFile(name), 'utf8'));
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

const logFile = (name: ServiceName) => join(STATE_DIR, 'logs', `${name}.log`);

export interface StackHandle {
  /** Services this call started (the others were already answering). */
  started: ServiceName[];
  /** Stops what this call started and nothing else. */
  stop(): Promise<void>;
}

export interface EnsureStackOptions {
  /** @default all services */
  services?: readonly ServiceName[];
  /** How long to wait for a service to answer. @default 120_000 */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export async function ensureStack(options: EnsureStackOptions = {}): Promise<StackHandle> {
  const services = options.services ?? SERVICE_NAMES;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const log = options.log ?? (() => {});
  const defs = definitions();
  const started: ServiceName[] = [];
  await Promise.all(
    services.map(async (name) => {
      const def = defs[name];
      if (await def.ready()) {
        log(`${name}: already running`);
        return;
      }
      if (!existsSync(def.command)) {
        throw new Error(`${name}: ${def.command} is missing; run 'bash scripts/install.sh' first`);
      }
      mkdirSync(join(STATE_DIR, 'pids'), { recursive: true });
      mkdirSync(join(STATE_DIR, 'logs'), { recursive: true });
      const out = openSync(logFile(name), 'a');
      // Detached, in its own process group, so a test run that ends abruptly leaves a stack the
      // next run can reuse or `stack.sh stop` can end, rather than orphans holding the ports.
      const child = spawn(def.command, def.args, {
        cwd: PROJECT_ROOT,
        detached: true,
        stdio: ['ignore', out, out],
        env: { ...process.env, ...def.env },
      });
      child.unref();
      writeFileSync(pidFile(name), String(child.pid));
      started.push(name);
      let exited: number | null = null;
      child.once('exit', (code) => (exited = code ?? -1));
      const deadline = Date.now() + timeoutMs;
      while (!(await def.ready())) {
        if (exited !== null) {
          throw new Error(`${name} exited with code ${exited} while starting; see ${logFile(name)}`);
        }
        if (Date.now() > deadline) {
          throw new Error(`${name} did not answer within ${timeoutMs} ms; see ${logFile(name)}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      await def.afterStart?.();
      log(`${name}: started (pid ${child.pid}, log ${logFile(name)})`);
    }),
  );
  return {
    started,
    stop: async () => {
      await stopServices(started);
    },
  };
}

/** Stops the data planes (one HAProxy per migration) that workers left running under the state folder. */
export async function stopDataPlanes(): Promise<number> {
  const dir = join(STATE_DIR, 'dataplane');
  let stopped = 0;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    const file = join(dir, name, 'haproxy.pid');
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').trim());
    rmSync(file, { force: true });
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    stopped++;
  }
  return stopped;
}

/** Stops the named services if this stack's pid files know them. */
export async function stopServices(names: readonly ServiceName[] = SERVICE_NAMES): Promise<ServiceName[]> {
  const stopped: ServiceName[] = [];
  await Promise.all(
    names.map(async (name) => {
      const pid = recordedPid(name);
      rmSync(pidFile(name), { force: true });
      if (pid === undefined || !signalGroup(pid, 'SIGTERM')) return;
      const deadline = Date.now() + 15_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (alive(pid)) signalGroup(pid, 'SIGKILL');
      stopped.push(name);
    }),
  );
  return stopped;
}

function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}


/**
 * Stops the stack and removes everything its services stored (histories, buckets, the on-prem
 * folder); installed binaries stay. Every test run adds buckets under unique names, so a
 * developer's stack only grows. Refuses while a service still answers on its port, since that one
 * may be using the data.
 */
export async function resetStackData(): Promise<{ stopped: ServiceName[]; removed: string }> {
  await stopDataPlanes();
  const stopped = await stopServices();
  const stillUp = Object.entries(await stackStatus()).filter(([, up]) => up).map(([name]) => name);
  if (stillUp.length > 0) {
    throw new Error(`not resetting: ${stillUp.join(', ')} still answer on their ports but were not started by this stack (no pid file); stop them first`);
  }
  const removed = join(STATE_DIR, 'data');
  rmSync(removed, { recursive: true, force: true });
  return { stopped, removed };
}

export async function stackStatus(): Promise<Record<ServiceName, boolean>> {
  const defs = definitions();
  const entries = await Promise.all(SERVICE_NAMES.map(async (name) => [name, await defs[name].ready()] as const));
  return Object.fromEntries(entries) as Record<ServiceName, boolean>;
}
