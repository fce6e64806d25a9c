/** The CLI driving migrations as an operator would: spawned processes against the dev server. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationSummary } from '../../src/client/index.js';
import type { MigrationStatus } from '../../src/workflows/status.js';
import { patternStream, uniqueBucket } from '../support/data.js';
import { cloudshift, cloudshiftWith } from '../support/cli.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, type TemporalTestContext, testWorkers } from '../support/temporal.js';
import { eventually } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'cs-cli-mig-'));
const stores = testResolver();
let temporal: TemporalTestContext;
let bucket: string;


function specFile(name: string, extra: string[] = []): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      `name: ${name}`,
      `source: { cloud: aws, profile: local-s3, bucket: ${bucket}, prefix: data/ }`,
      `target: { cloud: azure, profile: local-azure, bucket: ${bucket}-t, prefix: ${name}/ }`,
      'audit: { throughputMiBps: 10 }',
      'approval: { beforeTeardown: manual }',
      ...extra,
    ].join('\n'),
  );
  return file;
}

beforeAll(async () => {
  temporal = await connectTemporal();
  bucket = uniqueBucket('climig');
  const source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
  await source.ensureContainer();
  await Promise.all(Array.from({ length: 6 }, (_, i) => source.write(`data/f-${i}.bin`, patternStream(2000 + i, i + 1))));
});
afterAll(async () => {
  await temporal?.close();
});

const workers = () => testWorkers(temporal, { queues: ['control', 'aws', 'azure'], stores, identity: 'cli-migration-test' });

describe('cloudshift start, list, approve, status', () => {
  it('refuses a bad spec before anything starts, naming the field (exit 2)', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ name: 'ok-name', source: { cloud: 'aws', profile: 'local-s3', bucket: 'B!' }, target: { cloud: 'gcp', profile: 'local-gcs', bucket: 'fine-bucket' }, password: 'x' }));
    for (const command of ['validate', 'start']) {
      const { code, stdout, stderr } = await cloudshift(command, '--spec', file);
      expect(code).toBe(2);
      expect(stdout + stderr).toMatch(/source\.bucket: expected a bucket or container name/);
      expect(stdout + stderr).toMatch(/password: not allowed: a spec never holds credentials/);
    }
  });

  it('starts once, lists the migration waiting, takes an approve, follows it to the end', async () => {
    const name = `cli-${randomBytes(3).toString('hex')}`;
    const file = specFile(name);
    await runWorkersUntil(await workers(), async () => {
      const first = await cloudshift('start', '--spec', file, '--json');
      const second = await cloudshift('start', '--spec', file, '--json');
      expect(first.code).toBe(0);
      // The same migration started twice is one execution, and the second start says it attached.
      expect(JSON.parse(second.stdout)).toEqual({ ...JSON.parse(first.stdout), attached: true });
      expect(JSON.parse(first.stdout)).toMatchObject({ attached: false });
      expect((await cloudshift('start', '--spec', file)).stdout).toMatch(new RegExp(`^attached to ${name} \\(run .*\\), already running`));

      const waiting = await eventually(async () => {
        const { stdout } = await cloudshift('list', '--phase', 'awaitingApproval', '--json');
        return (JSON.parse(stdout) as MigrationSummary[]).find((m) => m.workflowId === name);
      }, 60_000);
      expect(waiting).toMatchObject({ execution: 'RUNNING', source: 'aws', target: 'azure' });

      // Waiting at a gate, the status names the exact commands that answer it.
      const atGate = await cloudshift('status', name);
      expect(atGate.stdout).toContain(`approve:   npm run cloudshift -- approve ${name} --phase teardown`);
      expect(atGate.stdout).toContain(`roll back: npm run cloudshift -- rollback ${name} --reason`);
      // An approve for a gate not waiting is rejected at once, with the reason, and exits 2.
      const wrong = await cloudshift('approve', name, '--phase', 'canary', '--by', 'ops-bot');
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain(`approve of ${name} by ops-bot rejected: the gate waiting is teardown, not canary`);
      const approve = await cloudshift('approve', name, '--phase', 'teardown', '--comment', 'all green', '--by', 'ops-alice');
      expect(approve.code).toBe(0);
      expect(approve.stdout).toContain(`approve of ${name} by ops-alice accepted: approved teardown`);

      const followed = await cloudshift('status', name, '--follow');
      expect(followed.code).toBe(0);
      expect(followed.stdout).toMatch(new RegExp(`${name}: aws → azure, completed`));
      expect(followed.stdout).toMatch(/teardown\s+succeeded/);

      const { stdout } = await cloudshift('status', name, '--json');
      const status = JSON.parse(stdout) as MigrationStatus;
      // A rejected update never reaches the decision log (Temporal does not record a validator's refusal).
      expect(status.decisions.map((d) => [d.by, d.phase, d.applied])).toEqual([['ops-alice', 'teardown', true]]);
    });
    // Completed, with no worker left to answer a query: the status comes from the result.
    const after = await cloudshift('status', name, '--json');
    expect(after.code).toBe(0);
    expect((JSON.parse(after.stdout) as MigrationStatus).state).toBe('completed');
  });

  it('names an unreachable server with its address within seconds (exit 3)', async () => {
    const started = Date.now();
    const { code, stderr } = await cloudshiftWith({ TEMPORAL_ADDRESS: '127.0.0.1:1' }, 'list');
    expect(code).toBe(3);
    expect(stderr).toContain('Temporal did not answer at 127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('rolls back on request and says so in the exit code (4)', async () => {
    const name = `cli-rb-${randomBytes(3).toString('hex')}`;
    await runWorkersUntil(await workers(), async () => {
      const waitingStart = cloudshift('start', '--spec', specFile(name), '--wait');
      await eventually(async () => {
        const { stdout, code } = await cloudshift('status', name, '--json');
        return code === 0 && (JSON.parse(stdout) as MigrationStatus).pendingGate ? true : undefined;
      }, 60_000);
      const noReason = await cloudshift('rollback', name);
      expect(noReason.code).toBe(2);
      expect(noReason.stderr).toContain('rollback needs --reason');
      expect((await cloudshift('rollback', name, '--reason', 'change freeze', '--by', 'ops-bob')).code).toBe(0);
      const started = await waitingStart;
      expect(started.code).toBe(4);
      expect(started.stdout).toMatch(/rolledBack \(rollback by ops-bob: change freeze\)/);
    });
  });

  it('says what it could not find, and where it looked (exit 5)', async () => {
    const { code, stderr } = await cloudshift('status', 'no-such-migration');
    expect(code).toBe(5);
    expect(stderr).toMatch(/^cloudshift: no migration no-such-migration in the namespace "default" at 127\.0\.0\.1:7233 .*--namespace NAME or TEMPORAL_NAMESPACE/);
    // The flag beats the environment, for the namespace and the address alike.
    const elsewhere = await cloudshiftWith({ TEMPORAL_NAMESPACE: 'default' }, 'approve', 'no-such-migration', '--namespace', 'nowhere');
    expect(elsewhere.code).toBe(5);
    expect(elsewhere.stderr).toMatch(/^cloudshift: no namespace "nowhere" at 127\.0\.0\.1:7233/);
    const unreachable = await cloudshift('list', '--address', '127.0.0.1:1');
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('Temporal did not answer at 127.0.0.1:1');
  });
});
