import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseQueues, taskQueueOf } from '../../src/config.js';

describe('worker configuration', () => {
  it('serves every queue by default and exactly the named ones when told', () => {
    expect(loadConfig({}).queues).toEqual(['control', 'aws', 'gcp', 'azure', 'onprem']);
    expect(parseQueues('control, gcp')).toEqual(['control', 'gcp']);
    expect(parseQueues('control,gcp').map(taskQueueOf)).toEqual(['cloudshift', 'cloudshift-gcp']);
    expect(() => parseQueues('control,ibm')).toThrow(/unknown queue selector.*"ibm"/);
  });

  it('merges a profiles file over the local stack profiles and rejects a bad one by field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-profiles-'));
    const good = join(dir, 'profiles.yaml');
    writeFileSync(good, 'profiles:\n  prod-aws:\n    cloud: aws\n    region: eu-west-1\n');
    const config = loadConfig({ CLOUDSHIFT_PROFILES: good, TEMPORAL_ADDRESS: 'temporal:7233' });
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.profiles['prod-aws']).toMatchObject({ cloud: 'aws', region: 'eu-west-1', forcePathStyle: false });
    expect(Object.keys(config.profiles)).toEqual(expect.arrayContaining(['local-s3', 'local-gcs', 'local-azure', 'local-fs']));

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ profiles: { x: { cloud: 'azure' }, y: { cloud: 'aws', accessKey: 'k' } } }));
    expect(() => loadConfig({ CLOUDSHIFT_PROFILES: bad })).toThrow(/profiles\.x.*connectionStringEnv[\s\S]*profiles\.y/);
  });

  it('caps large objects in transfer at 4 unless told otherwise, and names the variable when the value is wrong', () => {
    // Absent: the worker adapts the cap to the target (ThroughputClimber).
    expect(loadConfig({}).largeObjectsAtOnce).toBeUndefined();
    expect(loadConfig({ CLOUDSHIFT_LARGE_OBJECTS_AT_ONCE: '8' }).largeObjectsAtOnce).toBe(8);
    expect(() => loadConfig({ CLOUDSHIFT_LARGE_OBJECTS_AT_ONCE: '0' })).toThrow(/CLOUDSHIFT_LARGE_OBJECTS_AT_ONCE/);
  });

  it('listens on loopback unless told, and advertises a host others can reach when it listens on every address', () => {
    expect(loadConfig({}).network).toEqual({ listenHost: '127.0.0.1', advertiseHost: '127.0.0.1' });
    expect(loadConfig({ CLOUDSHIFT_LISTEN_HOST: '0.0.0.0' }).network).toEqual({ listenHost: '0.0.0.0', advertiseHost: '127.0.0.1' });
    expect(loadConfig({ CLOUDSHIFT_LISTEN_HOST: '0.0.0.0', CLOUDSHIFT_ADVERTISE_HOST: 'worker' }).network).toEqual({ listenHost: '0.0.0.0', advertiseHost: 'worker' });
    expect(() => loadConfig({ CLOUDSHIFT_ADVERTISE_HOST: 'http://worker/' })).toThrow(/CLOUDSHIFT_ADVERTISE_HOST/);
  });
});
