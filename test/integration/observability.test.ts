/**
 * Observability on the real stack: a worker process exports the SDK's metrics and cloudshift's own
 * to the local Prometheus; during a migration (held at its teardown gate) every series the
 * dashboard and the alert rules rely on is there, every panel of the Grafana dashboard returns
 * data, and the alert rules load. The rules themselves are proved by promtool, alert by alert.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import { seedWorkload } from '../../src/dev/workload.js';
import { LOCAL_ENDPOINTS, PROJECT_ROOT, STATE_DIR, writePrometheusConfig } from '../../src/dev/local-stack.js';
import { migrationResult } from '../../src/client/index.js';
import { approveSignal, CONTROL_TASK_QUEUE, MIGRATION_WORKFLOW_TYPE } from '../../src/workflows/definitions.js';
import { uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';
import { freePort } from '../support/ports.js';
import { recordWhen } from '../support/record.js';
import { eventually } from '../support/wait.js';
import { workloadMigration } from '../support/workload-migration.js';

const PROMETHEUS = LOCAL_ENDPOINTS.prometheus;
const RULES_DIR = join(PROJECT_ROOT, 'deploy', 'prometheus');
const DASHBOARD = JSON.parse(readFileSync(join(PROJECT_ROOT, 'deploy', 'grafana', 'dashboards', 'cloudshift.json'), 'utf8')) as {
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
};

interface Series {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

async function prometheus(path: string, params: Record<string, string>): Promise<Series[]> {
  const answer = await fetch(`${PROMETHEUS}${path}?${new URLSearchParams(params)}`);
  const body = (await answer.json()) as { status: string; error?: string; data: { result: Series[] } };
  if (body.status !== 'success') throw new Error(`${params.query}: ${body.error}`);
  return body.data.result;
}
const instant = (query: string) => prometheus('/api/v1/query', { query });


let worker: ChildProcess;
let client: Client;
let connection: Connection;
let bucket: string;
let metricsAddress: string;

beforeAll(async () => {
  // A Prometheus the stack started before the rules existed reads them now.
  writePrometheusConfig();
  expect((await fetch(`${PROMETHEUS}/-/reload`, { method: 'POST' })).ok).toBe(true);
  bucket = uniqueBucket('observe');
  const source = testResolver().store({ cloud: 'aws', profile: 'local-s3', bucket });
  await source.ensureContainer();
  await seedWorkload(source, 'fraud/');
  await source.write('fraud/data/part-1.bin', Readable.from([Buffer.alloc(64 * 1024, 7)]));
  metricsAddress = `127.0.0.1:${await freePort()}`;
  const log = join(STATE_DIR, 'logs', 'observability-worker.log');
  // As users start it: the script caps the heap and execs node, so the pid is the worker's.
  worker = spawn('bash', ['scripts/worker.sh', '--queues', 'control,aws,gcp'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, CLOUDSHIFT_METRICS_ADDRESS: metricsAddress, CLOUDSHIFT_WORKER_HEAP_MIB: '320' },
    stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')],
  });
  const started = await eventually(async () => {
    const text = readFileSync(log, 'utf8');
    return text.includes(`metrics on http://${metricsAddress}/metrics`) ? text : undefined;
  }, 60_000);
  // The heap limit V8 reports is the old space the script capped plus the young generation
  // (on Node 24 half as much again); uncapped it would be a quarter of the host's memory.
  const heapLimit = Number(/V8 heap limit (\d+) MiB/.exec(started)?.[1]);
  expect(heapLimit).toBeGreaterThanOrEqual(320);
  expect(heapLimit).toBeLessThanOrEqual(2 * 320);
  connection = await Connection.connect({ address: LOCAL_ENDPOINTS.temporal });
  client = new Client({ connection });
});

afterAll(async () => {
  worker?.kill('SIGTERM');
  await connection?.close();
});

describe('a migration observed in Prometheus', () => {
  it('exports every series the dashboard and the alerts use, and every dashboard panel returns data', async () => {
    const name = `observe-${bucket.slice(-8)}`;
    const started = Date.now() / 1000;
    const handle = await client.workflow.start(MIGRATION_WORKFLOW_TYPE, {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: name,
      args: [{
        ...workloadMigration(name, bucket),
        canary: { steps: [50, 100], intervalSeconds: 2, thresholds: { minRequests: 10, maxP50LatencyRatio: 100, maxP99LatencyRatio: 200 }, load: { requestsPerSecond: 50, concurrency: 2 } },
        approval: { beforeTeardown: 'manual' },
        teardown: { deleteSourceData: false },
      }],
    });
    await recordWhen(handle, (s) => s.pendingGate?.phase === 'teardown', 150_000);
    const selector = `{migration="${name}"}`;
    // A few scrapes of the worker while it waits, so even the gate's gauge has a history to draw.
    await new Promise((resolve) => setTimeout(resolve, 4000));

    // cloudshift's own series from the worker, each with the migration and both clouds.
    const own = ['cloudshift_copy_objects_total', 'cloudshift_copy_bytes_total', 'cloudshift_egress_bytes_total', 'cloudshift_egress_estimated_cost', 'cloudshift_shadow_rows_total',
      'cloudshift_shadow_verdicts_total', 'cloudshift_shadow_criterion_value', 'cloudshift_shadow_criterion_passed', 'cloudshift_canary_weight_percent', 'cloudshift_canary_step',
      'cloudshift_migration_phase', 'cloudshift_migration_gate_waiting_since_seconds'];
    for (const metric of own) {
      const series = await eventually(async () => {
        const found = await instant(`${metric}${selector}`);
        return found.length ? found : undefined;
      }, 20_000).catch(() => [] as Series[]);
      expect(series.length, `${metric} for ${name}`).toBeGreaterThan(0);
      expect(series[0]!.metric, metric).toMatchObject({ job: 'cloudshift-worker', migration: name, source_cloud: 'aws', target_cloud: 'gcp' });
    }
    expect(Number((await instant(`cloudshift_canary_weight_percent${selector}`))[0]!.value![1])).toBe(100);
    expect(Number((await instant(`cloudshift_migration_gate_waiting_since_seconds${selector}`))[0]!.value![1])).toBeGreaterThan(started - 1);
    expect(Number((await instant(`sum(cloudshift_copy_objects_total{migration="${name}",outcome="copied"})`))[0]!.value![1])).toBeGreaterThan(0);
    // Labelled counters exist at 0 before their first event, so increase() sees that event and the
    // alerts on them can fire (a series that first appears at 1 has no increase).
    expect(Number((await instant(`sum(cloudshift_copy_objects_total{migration="${name}",outcome="mismatched"})`))[0]?.value?.[1])).toBe(0);
    for (const outcome of ['completed', 'rolledBack', 'failed']) {
      expect(Number((await instant(`cloudshift_migrations_ended_total{migration="${name}",outcome="${outcome}"}`))[0]?.value?.[1]), outcome).toBe(0);
    }
    expect(Number((await instant(`sum(cloudshift_egress_estimated_cost${selector})`))[0]!.value![1])).toBeGreaterThan(0);
    // The SDK's own metrics, from the same exporter.
    expect((await instant(`count({job="cloudshift-worker",instance="${metricsAddress}",__name__=~"temporal_.+"})`))[0]!.value![1]).not.toBe('0');
    // The endpoints' series: the migration, the side and the cloud from discovery, the model's digest from the endpoint.
    const endpoint = await instant(`cloudshift_endpoint_requests_total${selector}`);
    expect(endpoint.map((s) => s.metric)).toContainEqual(expect.objectContaining({ side: 'target', cloud: 'gcp', model_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }));

    // Every panel of the dashboard, over the migration so far, as Grafana would ask.
    const end = Date.now() / 1000;
    for (const panel of DASHBOARD.panels.filter((p) => p.type !== 'row')) {
      for (const target of panel.targets ?? []) {
        const query = target.expr.replaceAll('$migration', name).replaceAll('$__rate_interval', '15s');
        const series = await prometheus('/api/v1/query_range', { query, start: String(started - 5), end: String(end), step: '1' });
        const finite = series.flatMap((s) => s.values ?? []).filter(([, v]) => Number.isFinite(Number(v)));
        expect(finite.length, `panel "${panel.title}": ${query}`).toBeGreaterThan(0);
      }
    }

    // The alert rules are loaded, and none fires on a healthy migration.
    const rules = (await (await fetch(`${PROMETHEUS}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: { name: string; state: string; labels: Record<string, string> }[] }[] } };
    const cloudshift = rules.data.groups.find((g) => g.name === 'cloudshift')!;
    expect(cloudshift.rules.map((r) => r.name)).toContain('CloudshiftShadowDriftPastLimit');
    const alerts = (await (await fetch(`${PROMETHEUS}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string> }[] } };
    expect(alerts.data.alerts.filter((a) => a.labels.migration === name)).toEqual([]);

    await handle.signal(approveSignal, { by: 'observer', phase: 'teardown' });
    const result = await migrationResult(handle);
    expect(result.outcome, result.status.reason).toBe('completed');
    const ended = await eventually(async () => {
      const found = await instant(`cloudshift_migrations_ended_total{migration="${name}",outcome="completed"}`);
      // The series was there at 0 all along: wait for the end to be counted.
      return found.length && Number(found[0]!.value![1]) > 0 ? found : undefined;
    }, 20_000);
    expect(Number(ended[0]!.value![1])).toBe(1);
  });
});

describe('the alert rules', () => {
  it('pass promtool check and fire, alert by alert, on the series that should raise them', async () => {
    const promtool = (...args: string[]) => promisify(execFile)('promtool', args, { cwd: RULES_DIR });
    expect((await promtool('check', 'rules', 'alerts.yml')).stdout).toContain('SUCCESS: 7 rules found');
    expect((await promtool('test', 'rules', 'alerts.test.yml')).stdout).toContain('SUCCESS');
  });
});
