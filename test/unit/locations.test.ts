/** Locations compared as the places they are, whatever the profiles are called. */
import { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertApart } from '../../src/activities/object-access.js';
import { StoreResolver } from '../../src/clouds/profiles.js';
import type { StorageLocation } from '../../src/spec.js';

const stores = new StoreResolver({
  'fs-a': { cloud: 'onprem', root: '/srv/data' },
  'fs-b': { cloud: 'onprem', root: '/srv/data/shared/' },
  'minio-a': { cloud: 'aws', region: 'us-east-1', endpoint: 'http://localhost:9000/', forcePathStyle: true },
  'minio-b': { cloud: 'aws', region: 'us-east-1', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true },
  'minio-other': { cloud: 'aws', region: 'us-east-1', endpoint: 'http://127.0.0.1:9100', forcePathStyle: true },
  'azure-a': { cloud: 'azure', connectionStringEnv: 'AZ_A', development: false },
  'azure-b': { cloud: 'azure', connectionStringEnv: 'AZ_B', development: false },
}, { AZ_A: 'DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=eA==;EndpointSuffix=core.windows.net', AZ_B: 'DefaultEndpointsProtocol=https;AccountName=acct2;AccountKey=eQ==;EndpointSuffix=core.windows.net' });

const at = (cloud: StorageLocation['cloud'], profile: string, bucket: string, prefix = ''): StorageLocation => ({ cloud, profile, bucket, prefix });
const refusal = async (source: StorageLocation, target: StorageLocation, resolver = stores) => {
  try {
    await assertApart(source, target, 'copy', resolver);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('InvalidLocations');
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    return (error as Error).message;
  }
};

describe('locations as places', () => {
  it('catches on-prem roots nested in each other under different bucket names', async () => {
    expect(await refusal(at('onprem', 'fs-a', 'shared', 'x/'), at('onprem', 'fs-b', 'x'))).toMatch(/as this worker reaches them, the same place/);
    expect(await refusal(at('onprem', 'fs-a', 'shared'), at('onprem', 'fs-b', 'x', 'y/'))).toMatch(/inside the source/);
    expect(await refusal(at('onprem', 'fs-b', 'x', 'y/'), at('onprem', 'fs-a', 'shared'))).toMatch(/holds, as this worker reaches them, the source/);
    expect(await refusal(at('onprem', 'fs-a', 'one'), at('onprem', 'fs-b', 'one'))).toBeUndefined();
  });

  it('takes an S3 or GCS bucket name as one bucket whatever the profile (the names are global)', async () => {
    expect(await refusal(at('aws', 'minio-a', 'bkt', 'a/'), at('aws', 'minio-b', 'bkt', 'a/b/'))).toMatch(/inside the source/);
    expect(await refusal(at('aws', 'minio-a', 'bkt'), at('aws', 'minio-other', 'bkt'))).toMatch(/same place/);
    expect(await refusal(at('aws', 'minio-a', 'bkt'), at('aws', 'minio-other', 'other-bkt'))).toBeUndefined();
  });

  it('tells Azure accounts apart by the account the connection string names, without echoing it', async () => {
    expect(await refusal(at('azure', 'azure-a', 'models'), at('azure', 'azure-b', 'models'))).toBeUndefined();
    const message = await refusal(at('azure', 'azure-a', 'models'), at('azure', 'azure-a', 'models', 'x/'));
    expect(message).toMatch(/lies inside the source/);
    expect(message).not.toMatch(/AccountKey/);
  });

  it('refuses before touching anything when the spec check was skipped', async () => {
    expect(await refusal(at('aws', 'minio-a', 'bkt', 'data'), at('aws', 'minio-a', 'bkt', 'data/'))).toMatch(/same place/);
  });
});

describe('one store under two names (identity proven, not assumed)', () => {
  const azurite = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://localhost:10000/devstoreaccount1;';
  const aliases = new StoreResolver(
    {
      dev: { cloud: 'azure', development: true },
      'dev-elsewhere': { cloud: 'azure', development: true, developmentEndpoint: 'http://127.0.0.1:10999/devstoreaccount1' },
      conn: { cloud: 'azure', connectionStringEnv: 'AZ_CONN', development: false },
      'public-key': { cloud: 'azure', connectionStringEnv: 'AZ_KEY', development: false },
      'public-sas': { cloud: 'azure', connectionStringEnv: 'AZ_SAS', development: false },
      'minio-v6': { cloud: 'aws', region: 'us-east-1', endpoint: 'http://[::1]:9000', forcePathStyle: true },
      'minio-a': { cloud: 'aws', region: 'us-east-1', endpoint: 'http://localhost:9000/', forcePathStyle: true },
    },
    {
      AZ_CONN: azurite,
      AZ_KEY: 'DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey=a2V5;EndpointSuffix=core.windows.net',
      AZ_SAS: 'BlobEndpoint=https://prodacct.blob.core.windows.net/;SharedAccessSignature=sv=2024-01-01&sig=x',
    },
  );

  it('takes the Azure development profile and a connection string to the same account for one store', async () => {
    const message = await refusal(at('azure', 'dev', 'models'), at('azure', 'conn', 'models'), aliases);
    expect(message).toMatch(/same place/);
    expect(message).not.toMatch(/AccountKey|a2V5/);
    expect(await refusal(at('azure', 'dev', 'models'), at('azure', 'dev-elsewhere', 'models'), aliases)).toBeUndefined();
  });

  it('takes an account key and a SAS for the same public account for one store', async () => {
    expect(await refusal(at('azure', 'public-key', 'c', 'a/'), at('azure', 'public-sas', 'c', 'a/b/'), aliases)).toMatch(/inside the source/);
  });

  it('takes ::1, localhost and 127.0.0.1 for one host', async () => {
    expect(await refusal(at('aws', 'minio-v6', 'b'), at('aws', 'minio-a', 'b'), aliases)).toMatch(/same place/);
  });

  it('resolves an on-prem root reached through a symlink, and a bucket folder linked into another', async () => {
    const base = mkdtempSync(join(tmpdir(), 'cloudshift-alias-'));
    try {
      mkdirSync(join(base, 'real', 'data'), { recursive: true });
      symlinkSync(join(base, 'real'), join(base, 'link'));
      mkdirSync(join(base, 'other'), { recursive: true });
      symlinkSync(join(base, 'real', 'data'), join(base, 'other', 'mirror'));
      const fs = new StoreResolver({
        real: { cloud: 'onprem', root: join(base, 'real') },
        link: { cloud: 'onprem', root: join(base, 'link') },
        other: { cloud: 'onprem', root: join(base, 'other') },
      });
      expect(await refusal(at('onprem', 'real', 'data'), at('onprem', 'link', 'data'), fs)).toMatch(/same place/);
      expect(await refusal(at('onprem', 'real', 'data'), at('onprem', 'link', 'data', 'copy/'), fs)).toMatch(/inside the source/);
      expect(await refusal(at('onprem', 'real', 'data'), at('onprem', 'other', 'mirror'), fs)).toMatch(/same place/);
      // A bucket not created yet lies beside, not inside, the source.
      expect(await refusal(at('onprem', 'real', 'data'), at('onprem', 'link', 'fresh'), fs)).toBeUndefined();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('finds, for generated pairs of spellings of one store, every pair the same place', async () => {
    const hosts = ['http://localhost:9000', 'http://127.0.0.1:9000/', 'http://LOCALHOST:9000', 'http://[::1]:9000', 'http://127.0.0.1:9000'];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...hosts), fc.constantFrom(...hosts), fc.constantFrom('', 'p/', 'p/q/'), async (a, b, prefix) => {
        // Azure container names are per account, so only the resolved account tells these apart.
        const r = new StoreResolver({ a: { cloud: 'azure', development: true, developmentEndpoint: `${a.replace(/\/$/, '').replace('9000', '10000')}/devstoreaccount1` }, c: { cloud: 'azure', development: true, developmentEndpoint: `${b.replace(/\/$/, '').replace('9000', '10000')}/devstoreaccount1` } });
        expect(await refusal(at('azure', 'a', 'bkt', prefix), at('azure', 'c', 'bkt', `${prefix}x/`), r)).toMatch(/inside the source/);
      }),
      { numRuns: 40 },
    );
  });
});
