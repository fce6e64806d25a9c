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
  it('has the whole stack: Temporal on PostgreSQL, its UI, the three emulators, Prometheus and a worker', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['azurite', 'fake-gcs', 'minio', 'postgresql', 'prometheus', 'temporal', 'temporal-search-attributes', 'temporal-ui', 'worker'].sort(),
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
        expect(condition).toBe('service_healthy');
      }
    }
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
    expect(Object.keys(worker.depends_on ?? {}).sort()).toEqual(['azurite', 'fake-gcs', 'minio', 'prometheus', 'temporal']);
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
