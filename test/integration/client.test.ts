/** src/client as another service uses it, against the dev server. */
import { WorkflowNotFoundError } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidMigrationSpecError, MigrationClient, MigrationNameTakenError, type MigrationSpecInput, MissingSearchAttributesError } from '../../src/client/index.js';
import { missingSearchAttributes } from '../../src/client/search-attributes.js';
import { LOCAL_ENDPOINTS } from '../../src/dev/local-stack.js';
import { patternStream, uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, type TemporalTestContext, testWorkers } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

let temporal: TemporalTestContext;
let client: MigrationClient;
const stores = testResolver();

beforeAll(async () => {
  temporal = await connectTemporal();
  client = await MigrationClient.connect(LOCAL_ENDPOINTS.temporal);
});
afterAll(async () => {
  await client?.close();
  await temporal?.close();
});

describe('MigrationClient', () => {
  it('refuses a bad spec with every field named, and starts nothing', async () => {
    const name = `client-bad-${randomBytes(3).toString('hex')}`;
    const bad = { name, source: { cloud: 'aws', profile: 'local-s3', bucket: 'x' }, target: { cloud: 'ibm', profile: 'p', bucket: 'fine-bucket' }, canary: { steps: [5, 1] } };
    const error = await client.startMigration(bad as unknown as MigrationSpecInput).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidMigrationSpecError);
    expect((error as InvalidMigrationSpecError).issues.map((i) => i.field)).toEqual(expect.arrayContaining(['source.bucket', 'target.cloud', 'canary.steps']));
    await expect(client.handle(name).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('refuses to start in a namespace without cloudshift\'s search attributes, with the command that adds them', async () => {
    const namespace = `cs-bare-${randomBytes(3).toString('hex')}`;
    // A protobuf Duration: the generated type wants a Long, the encoder takes a number.
    await temporal.client.connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: 86_400 as never } });
    const bare = await MigrationClient.connect(LOCAL_ENDPOINTS.temporal, namespace);
    try {
      const name = `client-bare-${randomBytes(3).toString('hex')}`;
      const spec = { name, source: { cloud: 'aws', profile: 'local-s3', bucket: 'bare-src' }, target: { cloud: 'gcp', profile: 'local-gcs', bucket: 'bare-dst' } } as MigrationSpecInput;
      const error = await eventually(async () => {
        const e = await bare.startMigration(spec).catch((e: unknown) => e);
        return e instanceof MissingSearchAttributesError ? e : undefined;
      }, 20_000);
      expect(error.missing).toEqual(['CloudshiftPhase', 'CloudshiftSource', 'CloudshiftTarget']);
      expect(error.message).toContain(`temporal operator search-attribute create --namespace ${namespace} --name CloudshiftPhase --type Keyword`);
      await expect(bare.handle(name).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      // The stack's own namespace has them all.
      expect(await missingSearchAttributes(temporal.client.connection, 'default')).toEqual([]);
    } finally {
      await bare.close();
    }
  });

  it('starts one migration for two starts, takes decisions, and reports the result', async () => {
    const bucket = uniqueBucket('client');
    const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
    await source.ensureContainer();
    await source.write('d/a.bin', patternStream(3000, 1));
    const spec: MigrationSpecInput = {
      name: `client-${randomBytes(3).toString('hex')}`,
      source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'd/' },
      target: { cloud: 'onprem', profile: 'local-fs', bucket: `${bucket}-t` },
      audit: { throughputMiBps: 10 },
    };
    const workers = await testWorkers(temporal, { queues: ['control', 'aws', 'onprem'], stores, identity: 'client-test' });
    await runWorkersUntil(workers, async () => {
      const first = await client.startMigration(spec);
      const second = await client.startMigration(spec);
      expect(second).toEqual({ ...first, attached: true });
      // The same name with another spec is not taken for the running one.
      const other = await client.startMigration({ ...spec, target: { ...spec.target, bucket: `${bucket}-u` } }).catch((e: unknown) => e);
      expect(other).toBeInstanceOf(MigrationNameTakenError);
      expect((other as Error).message).toMatch(/already running with another spec \(target\.bucket differ\)/);
      expect(first.attached).toBe(false);
      expect(first.workflowId).toBe(spec.name);
      const waiting = await eventually(async () => (await client.getStatus(first.workflowId)).pendingGate, 60_000);
      expect(waiting).toMatchObject({ phase: 'teardown' });
      await client.approve(first.workflowId, { by: 'svc-deployer', phase: 'teardown', comment: 'ticket CHG-1' });
      const result = await client.waitForResult(first.workflowId);
      expect(result.outcome).toBe('completed');
      expect(result.status.decisions).toEqual([expect.objectContaining({ by: 'svc-deployer', comment: 'ticket CHG-1', applied: true })]);
      expect(result.status.copy?.progress?.verifiedObjects).toBe(1);
      expect(result.status.runMark).toBe(first.runId);
      // A name that ran before is refused unless the rerun is asked for; then the new run is
      // refused by the target's folder, which the first run claimed, before it writes anything.
      const again = await client.startMigration(spec).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(MigrationNameTakenError);
      expect((again as Error).message).toMatch(/ran before \(run .*completed.*--rerun/);
      const rerun = await client.startMigration(spec, { rerun: true });
      expect(rerun.runId).not.toBe(first.runId);
      const refused = await client.waitForResult(rerun.workflowId).catch((e: unknown) => e);
      const chain: string[] = [];
      for (let e = refused as (Error & { cause?: unknown }) | undefined; e instanceof Error; e = e.cause as typeof e) chain.push(e.message);
      expect(chain.join(' <- ')).toMatch(/ran before into .*run\.json \(run /);
    });
  });
});
