/**
 * docker-compose.yml as Docker loads it: through compose-go (the library `docker compose config`
 * is built on; scripts/install.sh builds scripts/compose-config), interpolated and with paths
 * resolved. No Docker engine runs here, so the model is what can be checked, and is.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, STATE_DIR } from '../../src/paths.js';

const LOADER = join(STATE_DIR, 'bin', 'compose-config');
// Stand-ins for the variables the file requires: names to interpolate, nothing secret.
const REQUIRED = { POSTGRES_PASSWORD: 'compose-check', MINIO_ROOT_USER: 'compose-check', MINIO_ROOT_PASSWORD: 'compose-check' };

interface Model {
  services: Record<string, {
    image?: string;
    build?: { context: string; dockerfile: string };
    environment?: Record<string, string>;
    ports?: { target: number; published: string }[];
    volumes?: { type: string; source: string; target: string }[];
    depends_on?: Record<string, { condition: string }>;
  }>;
}

async function load(env: Record<string, string>): Promise<{ model?: Model; error?: string }> {
  const bare = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in REQUIRED))) as Record<string, string>;
  try {
    const { stdout } = await promisify(execFile)(LOADER, [join(PROJECT_ROOT, 'docker-compose.yml')], { env: { ...bare, ...env }, maxBuffer: 16 * 1024 * 1024 });
    return { model: JSON.parse(stdout) as Model };
  } catch (error) {
    return { error: (error as { stderr: string }).stderr };
  }
}

describe('docker-compose.yml through compose-go', () => {
  it('loads, and refuses to without the passwords, naming each', async () => {
    expect(existsSync(LOADER), `${LOADER}: run bash scripts/install.sh`).toBe(true);
    expect((await load(REQUIRED)).model?.services.worker).toBeDefined();
    const refused = await load({ MINIO_ROOT_USER: 'x', MINIO_ROOT_PASSWORD: 'y' });
    expect(refused.error).toMatch(/required variable POSTGRES_PASSWORD is missing a value: set POSTGRES_PASSWORD/);
  });

  it('builds the worker from this repository, reachable from outside its container, after the search attributes', async () => {
    const { services } = (await load(REQUIRED)).model!;
    const worker = services.worker!;
    expect(worker.build).toMatchObject({ context: PROJECT_ROOT, dockerfile: 'Dockerfile' });
    expect(worker.environment).toMatchObject({ CLOUDSHIFT_LISTEN_HOST: '0.0.0.0', CLOUDSHIFT_ADVERTISE_HOST: 'worker' });
    const published = new Map((worker.ports ?? []).map((p) => [p.target, p.published]));
    for (const port of [18080, 18199]) expect(published.get(port), `data plane port ${port}`).toBe(String(port));
    expect(worker.depends_on?.['temporal-search-attributes']?.condition).toBe('service_completed_successfully');
    expect(services['temporal-search-attributes']!.depends_on?.temporal?.condition).toBe('service_healthy');
    expect(services.temporal!.depends_on?.['temporal-schema']?.condition).toBe('service_completed_successfully');
    // Prometheus scrapes the worker's metrics on the port it listens on.
    expect(worker.environment!.CLOUDSHIFT_METRICS_ADDRESS).toBe('0.0.0.0:9464');
  });

  it('mounts only files and folders that exist in the repository', async () => {
    const { services } = (await load(REQUIRED)).model!;
    const binds = Object.entries(services).flatMap(([name, s]) => (s.volumes ?? []).filter((v) => v.type === 'bind').map((v) => ({ name, ...v })));
    expect(binds.map((b) => b.target)).toEqual(expect.arrayContaining(['/etc/prometheus/alerts.yml', '/etc/grafana/provisioning', '/var/lib/grafana/dashboards']));
    for (const bind of binds) expect(existsSync(bind.source), `${bind.name}: ${bind.source}`).toBe(true);
  });

  it('runs the Temporal server and Web UI versions of the local stack', async () => {
    const { services } = (await load(REQUIRED)).model!;
    const { stdout } = await promisify(execFile)(join(STATE_DIR, 'venv', 'bin', 'temporal'), ['--version']);
    const [, server, ui] = /Server ([\d.]+), UI ([\d.]+)/.exec(stdout)!;
    expect(services.temporal!.image).toBe(`temporalio/server:${server}`);
    expect(services['temporal-ui']!.image).toBe(`temporalio/ui:${ui}`);
    for (const tool of ['temporal-schema', 'temporal-search-attributes']) expect(services[tool]!.image).toBe(`temporalio/admin-tools:${server}`);
  });
});
