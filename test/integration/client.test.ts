/** src/client as another service uses it, against the dev server. */
import { WorkflowNotFoundError } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidMigrationSpecError, MigrationClient, type MigrationSpecInput, MissingSearchAttributesError } from '../../src/client/index.js';
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
      expect(first.attached).toBe(false);
      expect(first.workflowId).toBe(spec.name);
      const waiting = await eventually(async () => (await client.getStatus(first.workflowId)).pendingGate, 60_000);
      expect(waiting).toMatchObject({ phase: 'teardown' });
      await client.approve(first.workflowId, { by: 'svc-deployer', phase: 'teardown', comment: 'ticket CHG-1' });
      const result = await client.waitForResult(first.workflowId);
      expect(result.outcome).toBe('completed');
      expect(result.status.decisions).toEqual([expect.objectContaining({ by: 'svc-deployer', comment: 'ticket CHG-1', applied: true })]);
      expect(result.status.copy?.progress?.verifiedObjects).toBe(1);
    });
  });
});
