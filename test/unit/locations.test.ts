/** Locations compared as the places they are, whatever the profiles are called. */
import { ApplicationFailure } from '@temporalio/common';
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
}, { AZ_A: 'DefaultEndpointsProtocol=https;AccountName=acct1;AccountKey=x', AZ_B: 'DefaultEndpointsProtocol=https;AccountName=acct2;AccountKey=y' });

const at = (cloud: StorageLocation['cloud'], profile: string, bucket: string, prefix = ''): StorageLocation => ({ cloud, profile, bucket, prefix });
const refusal = (source: StorageLocation, target: StorageLocation) => {
  try {
    assertApart(source, target, 'copy', stores);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe('InvalidLocations');
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
    return (error as Error).message;
  }
};

describe('locations as places', () => {
  it('catches on-prem roots nested in each other under different bucket names', () => {
    expect(refusal(at('onprem', 'fs-a', 'shared', 'x/'), at('onprem', 'fs-b', 'x'))).toMatch(/through its profile, the same place/);
    expect(refusal(at('onprem', 'fs-a', 'shared'), at('onprem', 'fs-b', 'x', 'y/'))).toMatch(/inside the source/);
    expect(refusal(at('onprem', 'fs-b', 'x', 'y/'), at('onprem', 'fs-a', 'shared'))).toMatch(/holds, through its profile, the source/);
    expect(refusal(at('onprem', 'fs-a', 'one'), at('onprem', 'fs-b', 'one'))).toBeUndefined();
  });

  it('takes an S3 or GCS bucket name as one bucket whatever the profile (the names are global)', () => {
    expect(refusal(at('aws', 'minio-a', 'bkt', 'a/'), at('aws', 'minio-b', 'bkt', 'a/b/'))).toMatch(/inside the source/);
    expect(refusal(at('aws', 'minio-a', 'bkt'), at('aws', 'minio-other', 'bkt'))).toMatch(/same place/);
    expect(refusal(at('aws', 'minio-a', 'bkt'), at('aws', 'minio-other', 'other-bkt'))).toBeUndefined();
  });

  it('tells Azure accounts apart by the account the connection string names, without echoing it', () => {
    expect(refusal(at('azure', 'azure-a', 'models'), at('azure', 'azure-b', 'models'))).toBeUndefined();
    const message = refusal(at('azure', 'azure-a', 'models'), at('azure', 'azure-a', 'models', 'x/'));
    expect(message).toMatch(/lies inside the source/);
    expect(message).not.toMatch(/AccountKey/);
  });

  it('refuses before touching anything when the spec check was skipped', () => {
    expect(refusal(at('aws', 'minio-a', 'bkt', 'data'), at('aws', 'minio-a', 'bkt', 'data/'))).toMatch(/same place/);
  });
});
