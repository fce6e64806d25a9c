/** The CLI driven as an operator would: a spawned process against the real emulators. */
import { createReadStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { beforeAll, describe, expect, it } from 'vitest';
import { patternStream, uniqueBucket } from '../support/data.js';
import { cloudshift } from '../support/cli.js';
import { testResolver } from '../support/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'cs-cli-'));


describe('cloudshift audit', () => {
  const container = uniqueBucket('cli');
  let specFile: string;

  beforeAll(async () => {
    const store = testResolver().store({ cloud: 'azure', profile: 'local-azure', bucket: container });
    await store.ensureContainer();
    await store.write('ml/model.onnx', patternStream(300_000, 1));
    await store.write('ml/data/old-2019.parquet', patternStream(50_000, 2));
    // The tier is set with the SDK directly: the ObjectStore interface never archives anything.
    await BlobServiceClient.fromConnectionString('UseDevelopmentStorage=true')
      .getContainerClient(container)
      .getBlobClient('ml/data/old-2019.parquet')
      .setAccessTier('Archive');
    specFile = join(dir, 'spec.yaml');
    writeFileSync(
      specFile,
      [
        'name: churn-to-aws',
        `source: { cloud: azure, profile: local-azure, bucket: ${container}, prefix: ml/ }`,
        `target: { cloud: aws, profile: local-s3, bucket: ${container}-t }`,
        'deployment:',
        '  dependencies:',
        '    - { kind: mlService, service: azureml-endpoint, name: churn }',
        '    - { kind: secrets, service: key-vault, name: kv-prod }',
      ].join('\n'),
    );
  });

  it('prints the readable report and exits 1 on an archive-tier object', async () => {
    const { code, stdout } = await cloudshift('audit', '--spec', specFile);
    expect(code).toBe(1);
    expect(stdout).toContain('Inventory: 2 objects');
    expect(stdout).toMatch(/Archive: 1 objects, 48\.8 KiB/);
    expect(stdout).toContain('[MAPPED] mlService azureml-endpoint "churn" → SageMaker');
    expect(stdout).toContain('[MANUAL] secrets key-vault "kv-prod"');
    expect(stdout).toMatch(/1 objects \(48\.8 KiB\) are in archive tiers \(Archive\) and must be restored/);
    expect(stdout).toMatch(/Egress: 0\.00 GiB → USD 0\.00 \(Azure bandwidth/);
    expect(stdout).toMatch(/Copy time: about \d+s (at [\d.]+ MiB\/s|\(objects too small to measure a byte rate; round trips only\)) \(measured\)/);
  });

  it('prints JSON for scripts', async () => {
    const { stdout } = await cloudshift('audit', '--spec', specFile, '--json');
    const { audit: report, preflight } = JSON.parse(stdout);
    expect(preflight.map((c: { field: string; outcome: string }) => `${c.field} ${c.outcome}`)).toEqual(['source ok', 'target ok', 'target ok']);
    expect(report.inventory).toMatchObject({ objects: 2, bytes: 350_000, archived: { objects: 1, bytes: 50_000, tiers: ['Archive'] } });
    expect(report.copyTime.basis).toBe('measured');
    // Only the hot object was sampled: an archived blob cannot be read.
    expect(report.counts).toEqual({ portable: 0, mapped: 1, manual: 1, blocking: 0 });
  });

  it('rejects a bad spec with exit code 2, naming the fields', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ name: 'x', source: { cloud: 'aws', profile: 'local-s3', bucket: 'B' }, target: {} }));
    const { code, stderr } = await cloudshift('audit', '--spec', bad);
    expect(code).toBe(2);
    expect(stderr).toMatch(/source\.bucket: expected a bucket or container name/);
    expect(stderr).toMatch(/target\.cloud:/);
  });
});

describe('the pre-flight finds what the migration would fail or block on, before it starts', () => {
  const bucket = uniqueBucket('preflight');
  const fixtures = join(import.meta.dirname, '../fixtures/interface-pairs');
  const features = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
  const write = (name: string, spec: Record<string, unknown>) => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify({ name, source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'w/' }, target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t`, prefix: `${name}/` }, ...spec }));
    return file;
  };
  const workload = (extra: Record<string, unknown> = {}, holdout: Record<string, unknown> = {}) => ({
    workload: { model: { path: 'plain.onnx' }, holdout: { path: 'holdout.csv', format: 'csv', features, label: 'label', task: 'binary', ...holdout }, ...extra },
  });
  const preflight = async (file: string) => {
    const { code, stdout } = await cloudshift('audit', '--spec', file, '--json');
    return { code, checks: (JSON.parse(stdout) as { preflight: { field: string; check: string; outcome: string; detail: string }[] }).preflight, audit: (JSON.parse(stdout) as { audit?: { inventory: { objects: number } } }).audit };
  };

  beforeAll(async () => {
    const store = testResolver().store({ cloud: 'aws', profile: 'local-s3', bucket });
    await store.ensureContainer();
    for (const name of ['plain.onnx', 'two-inputs.onnx', 'holdout.csv']) await store.write(`w/${name}`, createReadStream(join(fixtures, name)));
    await store.write('w/art/plain.onnx', createReadStream(join(fixtures, 'plain.onnx')));
    await store.write('w/data/a.parquet', patternStream(1000, 1));
    await store.write('w/data/b.tmp', patternStream(1000, 2));
  });

  it('passes a spec that would run, and counts the inventory through its filters', async () => {
    const { code, checks, audit } = await preflight(write('pf-good', { ...workload(), copy: { exclude: ['**/*.tmp'] } }));
    expect(checks.filter((c) => c.outcome !== 'ok')).toEqual([]);
    expect(checks.map((c) => c.field)).toEqual(expect.arrayContaining(['source', 'workload.model.path', 'workload.holdout.path', 'workload.holdout', 'workload.model', 'target']));
    expect(code).toBe(0);
    // Six objects, the excluded .tmp not counted, as it will not be copied.
    expect(audit?.inventory.objects).toBe(6 - 1);
  });

  it.each([
    ['a missing model', workload({ model: { path: 'nope.onnx' } }), 'workload.model.path', /nope\.onnx cannot be read .*fix workload\.model\.path or upload it/],
    ['a missing holdout', workload({}, { path: 'nope.csv' }), 'workload.holdout.path', /nope\.csv cannot be read/],
    ['a holdout without the named column', workload({}, { features: ['f0', 'f1', 'f2', 'f3', 'f4', 'f9'] }), 'workload.holdout', /holdout CSV header lacks column\(s\) f9/],
    ['a model of two inputs the holdout does not map', workload({ model: { path: 'two-inputs.onnx' } }), 'workload.model', /the model has 2 inputs .*workload\.holdout\.inputs/],
    ['a trusted key file that does not exist', workload({ model: { path: 'art/plain.onnx' }, artifact: { folder: 'art/', policy: { keys: ['nobody'], unsigned: 'info', requireSignature: false } } }), 'workload.artifact.policy', /the trusted key "nobody": no file .*nobody\.pub/],
    ['an unsigned artifact its policy makes blocking', workload({ model: { path: 'art/plain.onnx' }, artifact: { folder: 'art/', policy: { keys: ['nobody'], unsigned: 'blocking', requireSignature: false } } }), 'workload.artifact', /not signed.*a blocking audit finding/],
    ['a signature the policy requires and the artifact lacks', workload({ model: { path: 'art/plain.onnx' }, artifact: { folder: 'art/', policy: { keys: ['nobody'] } } }), 'workload.artifact', /no signature bundle at .*and the policy requires one/],
  ])('%s: named, with what to do, exit 1', async (_, spec, field, detail) => {
    const name = `pf-${Math.random().toString(36).slice(2, 8)}`;
    const { code, checks } = await preflight(write(name, spec));
    expect(code).toBe(1);
    expect(checks.filter((c) => c.outcome !== 'ok')).toContainEqual(expect.objectContaining({ field, detail: expect.stringMatching(detail) }));
  });

  it('a source that cannot be listed fails first, and nothing else is tried', async () => {
    const { code, checks } = await preflight(write('pf-nosource', { source: { cloud: 'aws', profile: 'local-s3', bucket: `${bucket}-none`, prefix: 'w/' } }));
    expect(code).toBe(1);
    expect(checks[0]).toMatchObject({ field: 'source', outcome: 'failed', detail: expect.stringMatching(/cannot list aws:.*-none\/w\/ with the profile local-s3/) });
  });
});
