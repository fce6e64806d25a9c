/** The CLI driven as an operator would: a spawned process against the real emulators. */
import { mkdtempSync, writeFileSync } from 'node:fs';
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
    const report = JSON.parse(stdout);
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
