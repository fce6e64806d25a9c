/**
 * Migrations of a model that travels as a signed, multi-file artifact, on the dev server and the
 * emulators: verified at the source, the target and again before the target's shadow side; a
 * target copy tampered with after the copy rolls the migration back naming the file.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { generateKeyPair, privateKeyAt } from '../../src/artifacts/keys.js';
import { createArtifactActivities } from '../../src/activities/artifacts.js';
import { TestAuthority } from '../support/certificates.js';
import { signFolder } from '../../src/artifacts/folder-signing.js';
import type { ObjectStore } from '../../src/clouds/object-store.js';
import { ASSETS_DIR, CLASSIFIER_FEATURES, WORKLOAD_TOLERANCES } from '../../src/dev/workload.js';
import { migrationResult } from '../../src/client/index.js';
import { STATE_DIR } from '../../src/paths.js';
import { CONTROL_TASK_QUEUE, MIGRATION_WORKFLOW_TYPE, recordQuery } from '../../src/workflows/definitions.js';
import { patternStream, uniqueBucket } from '../support/data.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, type TemporalTestContext, testWorkers } from '../support/temporal.js';
import { expectSourceUntouched, type Snapshot, snapshot } from '../support/invariants.js';
import { recordHistory } from '../support/histories.js';

let temporal: TemporalTestContext;
const stores = testResolver();
let work: string;
let keysDir: string;
let bucket: string;
let source: ObjectStore;
let seeded: Snapshot;

/** The artifact as a user lays it out: the model, its preprocessing, a tokenizer config and the provenance, signed. */
const ARTIFACT_FILES: Record<string, Buffer> = {
  'model.onnx': readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx')),
  'preprocess.json': Buffer.from(JSON.stringify({ features: CLASSIFIER_FEATURES, scaling: 'none' })),
  'tokenizer/config.json': Buffer.from('{"lowercase": false}'),
  // The shipped model's own provenance, its subject named as the model is named in this folder.
  'provenance.json': Buffer.from(readFileSync(join(ASSETS_DIR, 'breast-cancer.provenance.json'), 'utf8').replace('"breast-cancer.onnx"', '"model.onnx"')),
};

async function upload(folder: string, prefix: string, keys: string[]) {
  for (const name of keys) await source.write(`${prefix}${name}`, Readable.from([readFileSync(join(folder, name))]));
}

beforeAll(async () => {
  temporal = await connectTemporal();
  work = mkdtempSync(join(tmpdir(), 'signed-migration-'));
  keysDir = join(work, 'keys');
  generateKeyPair(keysDir, 'release');
  generateKeyPair(keysDir, 'intruder');
  bucket = uniqueBucket('signed');
  source = stores.store({ cloud: 'aws', profile: 'local-s3', bucket });
  await source.ensureContainer();
  // Two copies of one artifact: signed by the trusted key, and by another.
  for (const [folder, key] of [['signed-model', 'release'], ['foreign-model', 'intruder']] as const) {
    const dir = join(work, folder);
    for (const [name, bytes] of Object.entries(ARTIFACT_FILES)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), bytes);
    }
    await signFolder(dir, privateKeyAt(join(keysDir, `${key}.pem`)));
    await upload(dir, `fraud/${folder}/`, [...Object.keys(ARTIFACT_FILES), 'model.sig']);
  }
  // And one signed with a certificate the worker's root issued (certificate mode).
  const ca = new TestAuthority(join(work, 'ca'), 'Corp Root');
  writeFileSync(join(keysDir, 'corp-ca.crt'), readFileSync(ca.root.certificate));
  const signer = ca.signer('ml-release@example.com');
  const certified = join(work, 'certified-model');
  for (const [name, bytes] of Object.entries(ARTIFACT_FILES)) {
    mkdirSync(dirname(join(certified, name)), { recursive: true });
    writeFileSync(join(certified, name), bytes);
  }
  await signFolder(certified, privateKeyAt(signer.key), undefined, [new X509Certificate(readFileSync(signer.certificate))]);
  await upload(certified, 'fraud/certified-model/', [...Object.keys(ARTIFACT_FILES), 'model.sig']);
  await source.write('fraud/holdout/holdout.csv', Readable.from([readFileSync(join(ASSETS_DIR, 'breast-cancer-holdout.csv'))]));
  // Enough data that the copy phase, throttled, lasts a few seconds.
  await source.write('fraud/data/big.bin', patternStream(3 * 1024 * 1024, 7));
  await source.write('fraud/data/small.bin', patternStream(1000, 8));
  seeded = await snapshot(source, 'fraud/');
});
afterAll(async () => {
  await temporal?.close();
  rmSync(work, { recursive: true, force: true });
});

async function text(key: string): Promise<string> {
  const target = stores.store({ cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t` });
  const chunks: Buffer[] = [];
  for await (const chunk of await target.read(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const uniqueName = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

function specFor(name: string, folder = 'signed-model', overrides: Record<string, unknown> = {}) {
  return {
    name,
    source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'fraud/' },
    target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t`, prefix: `${name}/` },
    workload: {
      model: { path: `${folder}/model.onnx` },
      holdout: { path: 'holdout/holdout.csv', format: 'csv', features: CLASSIFIER_FEATURES, label: 'label', task: 'binary' },
      artifact: { folder: `${folder}/`, provenance: `${folder}/provenance.json`, policy: { keys: ['release'] } },
    },
    shadow: { tolerances: WORKLOAD_TOLERANCES },
    audit: { throughputMiBps: 50 },
    // Latency is not under test here; a loaded two-core machine can slow one side's first requests.
    canary: { steps: [100], intervalSeconds: 2, thresholds: { minRequests: 10, maxP50LatencyRatio: 100, maxP99LatencyRatio: 200 }, load: { requestsPerSecond: 100, concurrency: 2 } },
    approval: { beforeTeardown: 'auto', onBlockingFindings: 'fail' },
    ...overrides,
  };
}

const start = (spec: { name: string }) => temporal.client.workflow.start(MIGRATION_WORKFLOW_TYPE, { taskQueue: CONTROL_TASK_QUEUE, workflowId: spec.name, args: [spec] });
const workers = () => testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores, identity: 'signed-artifact-test', keysDir });

describe('a migration of a signed artifact', () => {
  it('verifies it at both ends and completes; the copy at the target verifies with model-signing too', async () => {
    const name = uniqueName('signed');
    const result = await runWorkersUntil(await workers(), async () => migrationResult(await start(specFor(name))));
    await recordHistory(name, 'migration-signed-artifact');
    expect(result.outcome, result.status.reason).toBe('completed');
    expect(result.status.artifact?.source).toMatchObject({ state: 'verified', signer: 'release', files: 4 });
    expect(result.status.artifact?.target).toMatchObject({ state: 'verified', signer: 'release', files: 4, folder: expect.stringContaining(`${name}/signed-model/`) });
    expect(result.status.audit?.artifact?.state).toBe('verified');
    expect(result.status.artifact?.target?.provenance?.predicate).toMatchObject({ metrics: { holdout_accuracy: 0.97 }, runtime: { opset: 17 } });
    // The shadow report shows the provenance, and each side ran on what it declares.
    const report = JSON.parse(await text(`${name}/.cloudshift/${name}/shadow/report.json`));
    expect(report.provenance.summary.subject).toEqual([{ name: 'model.onnx', sha256: expect.any(String) }]);
    expect(report.provenance.runtime).toHaveLength(6);
    expect(report.provenance.runtime.filter((r: { matches: boolean }) => !r.matches)).toEqual([]);
    expect(report.sides.target.runtime).toMatchObject({ executionProvider: 'cpu', opset: 17 });
    // Every file and the bundle arrived; the ecosystem's own verifier accepts the target's copy.
    const target = stores.store({ cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t` });
    const copy = join(work, `${name}-copy`);
    for (const file of [...Object.keys(ARTIFACT_FILES), 'model.sig']) {
      const chunks: Buffer[] = [];
      for await (const chunk of await target.read(`${name}/signed-model/${file}`)) chunks.push(chunk as Buffer);
      mkdirSync(dirname(join(copy, file)), { recursive: true });
      writeFileSync(join(copy, file), Buffer.concat(chunks));
    }
    const tool = join(STATE_DIR, 'model-signing', 'bin', 'model_signing');
    const { stdout, stderr } = await promisify(execFile)(tool, ['verify', 'key', copy, '--signature', join(copy, 'model.sig'), '--public_key', join(keysDir, 'release.pub')]);
    expect(stdout + stderr).toContain('Verification succeeded');
    expectSourceUntouched(seeded, await snapshot(source, 'fraud/'));
  });

  it('rolls back when the target copy is tampered with after the copy, naming the file, before the target shadow side runs', async () => {
    const name = uniqueName('tampered');
    const target = stores.store({ cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t` });
    // The data copy leaves the artifact alone (it is in place), and is throttled so the tampering lands while it runs.
    const spec = specFor(name, 'signed-model', { copy: { exclude: ['signed-model/**'], bandwidthMiBps: 0.5 } });
    const result = await runWorkersUntil(await workers(), async () => {
      const handle = await start(spec);
      for (;;) {
        const status = await handle.query(recordQuery);
        if (status.phase === 'copyData' && status.artifact?.target) break;
        expect(status.state).toBe('running');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await target.write(`${name}/signed-model/preprocess.json`, Readable.from([Buffer.from('{"features": [], "scaling": "evil"}')]));
      return migrationResult(handle);
    });
    await recordHistory(name, 'migration-artifact-tampered');
    expect(result.outcome).toBe('rolledBack');
    expect(result.status.reason).toMatch(/the artifact failed verification at the target before its shadow side runs \(ArtifactDigestMismatch\): .*changed: preprocess\.json/);
    expect(result.status.phases.find((p) => p.phase === 'copyData')?.state).toBe('succeeded');
    expect(result.status.phases.find((p) => p.phase === 'shadow')?.state).toBe('failed');
    expect(result.status.shadow).toBeUndefined();
    expect(result.status.compensations).toEqual([expect.objectContaining({ what: 'stop the target endpoint', outcome: 'done' })]);
    expectSourceUntouched(seeded, await snapshot(source, 'fraud/'));
  });

  it('fails at the audit, before anything is written, when a key the policy does not trust signed it', async () => {
    const name = uniqueName('foreign');
    const result = await runWorkersUntil(await workers(), async () => {
      const handle = await start(specFor(name, 'foreign-model'));
      const error = await handle.result().then(() => undefined, (e: unknown) => e);
      return { error, status: await handle.query(recordQuery) };
    });
    expect(String((result.error as Error).cause)).toMatch(/BlockingAuditFindings|blocking audit finding/);
    expect(result.status.artifact?.source).toMatchObject({ state: 'invalid', severity: 'blocking', problem: expect.stringMatching(/signed by the key [0-9a-f]{64}, which is not among the keys the policy trusts \(release\)/) });
    expect(result.status.phases.find((p) => p.phase === 'standUpTarget')?.state).toBe('pending');
  });

  it('checks a certificate-signed artifact against the roots and identities the worker trusts', async () => {
    const activities = createArtifactActivities({ stores, keysDir });
    const location = { cloud: 'aws' as const, profile: 'local-s3', bucket, prefix: 'fraud/' };
    const check = (identities: string[]) =>
      activities.checkSourceArtifact({ location, artifact: { folder: 'certified-model/', provenance: 'certified-model/provenance.json', policy: { certificates: { roots: ['corp-ca'], identities }, requireSignature: true } } });
    expect(await check(['ml-release@example.com'])).toMatchObject({ state: 'verified', signer: 'ml-release@example.com (certificate under corp-ca)', files: 4 });
    expect(await check(['ops@example.com'])).toMatchObject({ state: 'invalid', severity: 'blocking', problem: expect.stringContaining('names none of the identities the policy accepts (ops@example.com)') });
    const byKey = await activities.checkSourceArtifact({ location, artifact: { folder: 'certified-model/', policy: { keys: ['release'], requireSignature: true } } });
    expect(byKey).toMatchObject({ state: 'invalid', problem: expect.stringContaining('signed with a certificate, and the policy trusts only the keys release') });
  });
});
