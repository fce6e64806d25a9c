/** No Docker engine runs on our machines, so the compose file is checked for structure here. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadProfilesFile } from '../../src/clouds/profiles.js';
import { LOCAL_PORTS } from '../../src/dev/local-stack.js';
import { SEARCH_ATTRIBUTE_NAMES } from '../../src/workflows/definitions.js';

const root = join(import.meta.dirname, '../..');
interface Service {
  image?: string;
  build?: unknown;
  ports?: string[];
  healthcheck?: { test: unknown };
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
  command?: unknown;
  restart?: string;
}
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Service> };
const services = compose.services;
const oneShot = (s: Service) => s.restart === 'no';

describe('docker-compose.yml', () => {
  it('has the whole stack: Temporal on PostgreSQL, its UI, the three emulators, Prometheus, Grafana and a worker', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['azurite', 'fake-gcs', 'grafana', 'minio', 'postgresql', 'prometheus', 'temporal', 'temporal-schema', 'temporal-search-attributes', 'temporal-ui', 'worker'].sort(),
    );
    expect(services.temporal!.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
  });

  it('pins every image by an explicit tag, never latest', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, `${name} has an image`).toMatch(/^[\w./-]+:[\w.-]+$/);
      const tag = s.image!.split('/').at(-1)!.split(':')[1];
      expect(tag, `${name} image ${s.image} is pinned`).toMatch(/^[\w.-]+$/);
      expect(tag).not.toBe('latest');
    }
  });

  it('publishes the same ports as the local stack', () => {
    const published = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => Number(p.split(':')[0])));
    for (const port of [LOCAL_PORTS.temporal, LOCAL_PORTS.temporalUi, LOCAL_PORTS.s3, LOCAL_PORTS.gcs, LOCAL_PORTS.azureBlob, LOCAL_PORTS.prometheus]) {
      expect(published).toContain(port);
    }
  });

  it('gives every long-running service a healthcheck and starts dependants only when healthy', () => {
    for (const [name, s] of Object.entries(services)) {
      if (oneShot(s)) continue;
      expect(JSON.stringify(s.healthcheck?.test), `${name} healthcheck`).toMatch(/^\["CMD(-SHELL)?",/);
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on a defined service`).toBeDefined();
        expect(condition).toBe(oneShot(services[dep]!) ? 'service_completed_successfully' : 'service_healthy');
      }
    }
  });

  it('provisions the alert rules in Prometheus and the dashboard in Grafana, and has Prometheus scrape the worker', () => {
    const volumes = (name: string) => ((services[name] as { volumes?: string[] }).volumes ?? []).map((v) => v.split(':'));
    const mounted = (name: string, inContainer: string) => volumes(name).find(([, to]) => to === inContainer)?.[0];
    const prometheus = parse(readFileSync(join(root, mounted('prometheus', '/etc/prometheus/prometheus.yml')!), 'utf8')) as { rule_files: string[]; scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[] };
    for (const rules of prometheus.rule_files) expect(mounted('prometheus', rules), `${rules} is mounted`).toBe('./deploy/prometheus/alerts.yml');
    const metricsPort = String(services.worker!.environment!.CLOUDSHIFT_METRICS_ADDRESS).split(':')[1];
    expect(prometheus.scrape_configs.find((c) => c.job_name === 'cloudshift-worker')?.static_configs?.[0]?.targets).toEqual([`worker:${metricsPort}`]);
    const dashboards = mounted('grafana', '/var/lib/grafana/dashboards')!;
    const provider = parse(readFileSync(join(root, mounted('grafana', '/etc/grafana/provisioning')!, 'dashboards', 'cloudshift.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    expect(provider.providers[0]!.options.path).toBe('/var/lib/grafana/dashboards');
    const dashboard = JSON.parse(readFileSync(join(root, dashboards, 'cloudshift.json'), 'utf8')) as { panels: { datasource?: { uid: string } }[] };
    const datasources = parse(readFileSync(join(root, mounted('grafana', '/etc/grafana/provisioning')!, 'datasources', 'prometheus.yml'), 'utf8')) as { datasources: { uid: string; url: string }[] };
    expect(datasources.datasources[0]!.url).toBe(`http://prometheus:${LOCAL_PORTS.prometheus}`);
    for (const panel of dashboard.panels) if (panel.datasource) expect(panel.datasource.uid).toBe(datasources.datasources[0]!.uid);
  });

  it('starts the worker only once the search attributes are registered, and publishes its data planes', () => {
    expect(services.worker!.depends_on!['temporal-search-attributes']).toEqual({ condition: 'service_completed_successfully' });
    expect(services.worker!.environment).toMatchObject({ CLOUDSHIFT_LISTEN_HOST: '0.0.0.0', CLOUDSHIFT_ADVERTISE_HOST: 'worker' });
    expect(services.worker!.ports).toContain('18080-18199:18080-18199');
  });

  it('registers the search attributes the workflows upsert', () => {
    const command = JSON.stringify(services['temporal-search-attributes']!.command);
    for (const name of SEARCH_ATTRIBUTE_NAMES) expect(command).toContain(name);
  });

  it('configures the worker from its environment, with secrets only as ${VAR} references', () => {
    const worker = services.worker!;
    expect(worker.build).toBe('.');
    expect(worker.environment).toMatchObject({
      TEMPORAL_ADDRESS: 'temporal:7233',
      CLOUDSHIFT_QUEUES: 'all',
      CLOUDSHIFT_PROFILES: '/app/deploy/compose-profiles.yaml',
    });
    expect(Object.keys(worker.depends_on ?? {}).sort()).toEqual(['azurite', 'fake-gcs', 'minio', 'prometheus', 'temporal', 'temporal-search-attributes']);
    for (const s of Object.values(services)) {
      for (const [key, value] of Object.entries(s.environment ?? {})) {
        if (/PASSWORD|PWD|SECRET|KEY_ID/.test(key)) expect(String(value), key).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
      }
    }
  });

  it("points the worker's profiles at the compose services", () => {
    const profiles = loadProfilesFile(join(root, 'deploy/compose-profiles.yaml'));
    expect(profiles['local-s3']).toMatchObject({ endpoint: 'http://minio:9000' });
    expect(profiles['local-s3']).not.toHaveProperty('credentialsFile');
    expect(profiles['local-gcs']).toMatchObject({ apiEndpoint: 'http://fake-gcs:4443' });
    expect(profiles['local-azure']).toMatchObject({ development: true, developmentEndpoint: 'http://azurite:10000/devstoreaccount1' });
  });
});
