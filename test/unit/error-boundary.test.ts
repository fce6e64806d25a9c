/**
 * The one error boundary: every activity, whatever it forgets, fails non-retryably with its own
 * type when it meets an error no retry can fix, because the worker registers the mapping once
 * (errorBoundary) rather than each activity calling it.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createActivities, type ActivityDeps } from '../../src/activities/index.js';
import { errorBoundary } from '../../src/activities/failures.js';
import { StoreError } from '../../src/clouds/errors.js';
import { NonRetryableError } from '../../src/errors.js';
import { StoreResolver } from '../../src/clouds/profiles.js';
import { localActivityDeps } from '../../src/worker.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Throws `error` the moment anything in it is read: every activity reads its input or its deps first. */
const explosive = (error: () => Error): never =>
  new Proxy({}, { get: () => { throw error(); }, has: () => { throw error(); }, ownKeys: () => { throw error(); } }) as never;

const noop = () => {};
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/** Deps that read as absent while the factory builds (its options have defaults) and explode once an activity runs. */
function explosiveDeps(error: () => Error): ActivityDeps {
  let armed = false;
  const deps = new Proxy({}, { get: () => { if (armed) throw error(); return undefined; } }) as unknown as ActivityDeps;
  const activities = createActivities(deps) as unknown as Record<string, (input: unknown) => Promise<unknown>>;
  armed = true;
  return activities as never;
}

const activityNames = Object.keys(explosiveDeps(() => new Error('unused'))).sort();

async function failureOf(name: string, error: () => Error, info: Record<string, unknown> = {}): Promise<ApplicationFailure | Error> {
  const activities = explosiveDeps(error) as unknown as Record<string, (input: unknown) => Promise<unknown>>;
  const env = new MockActivityEnvironment(info, { interceptors: [errorBoundary], logger: quiet });
  try {
    await env.run(activities[name]!, explosive(error));
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${name} succeeded on input that cannot be read`);
}

describe('the error boundary every worker registers', () => {
  it('covers every activity (there are as many as the factory builds)', () => {
    expect(activityNames.length).toBeGreaterThan(20);
    expect(activityNames).toEqual(expect.arrayContaining(['setWeights', 'stopEndpoint', 'ensureRouter', 'deleteVerifiedSourcePage', 'runShadowInference']));
  });

  it.each(activityNames)('%s: a NonRetryableError arrives non-retryable, with its own type', async (name) => {
    const failure = await failureOf(name, () => new NonRetryableError('UnknownProfile', `profile "x" is not known (${name})`));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).type).toBe('UnknownProfile');
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
    expect(failure.message).not.toMatch(/retr(y|ied) with backoff|will be retried/);
  });

  it.each(activityNames)('%s: a store refusing access arrives as AccessDenied, not retried', async (name) => {
    const failure = await failureOf(name, () => new StoreError('AccessDenied', { store: 's3://b', operation: 'list' }, 'denied'));
    expect((failure as ApplicationFailure).type).toBe('AccessDenied');
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
  });

  it('says on the last attempt that no retry follows, and not before', async () => {
    const error = () => new StoreError('Unavailable', { store: 's3://b', operation: 'list' }, 'connection refused');
    const last = await failureOf('listSourcePage', error, { attempt: 15, retryPolicy: { maximumAttempts: 15 } });
    expect((last as ApplicationFailure).nonRetryable).toBe(false);
    expect(last.message).toMatch(/the last of 15 attempts: not retried again/);
    const earlier = await failureOf('listSourcePage', error, { attempt: 3, retryPolicy: { maximumAttempts: 15 } });
    expect(earlier.message).not.toMatch(/last of/);
  });
});

describe('the heartbeat every worker keeps', () => {
  it('beats while a single long request waits, repeating the details the activity gave last', async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 800 }, { interceptors: [errorBoundary], logger: quiet });
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    await env.run(async () => {
      Context.current().heartbeat({ done: [1, 2] });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    });
    expect(beats.length).toBeGreaterThanOrEqual(4);
    expect(beats.slice(1).every((b) => JSON.stringify(b) === JSON.stringify({ done: [1, 2] }))).toBe(true);
    const after = beats.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(beats.length).toBe(after);
  });

  it('does not beat for an activity without a heartbeat timeout', async () => {
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 0 }, { interceptors: [errorBoundary], logger: quiet });
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    await env.run(() => new Promise((resolve) => setTimeout(resolve, 300)));
    expect(beats).toEqual([]);
  });
});

describe('a Route 53 router the worker cannot use', () => {
  it('fails in well under a second, non-retryably, naming the profile or its credentials file', async () => {
    const stores = new StoreResolver({ 'r53-missing-creds': { cloud: 'aws', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: false, credentialsFile: '/nonexistent/route53-credentials.json' } });
    const deps = localActivityDeps({ stores, scrapeTargetsDir: mkdtempSync(join(tmpdir(), 'cs-targets-')) });
    const activities = createActivities(deps);
    const route53 = (profile: string) => ({ kind: 'route53' as const, profile, hostedZoneId: 'Z0123456789ABCDEFGHIJ', recordName: 'predict.example.com', ttlSeconds: 60 });
    for (const [profile, message] of [
      ['r53-missing-creds', /the credentials file \/nonexistent\/route53-credentials\.json cannot be read/],
      ['no-such-profile', /profile "no-such-profile" is not known to this worker/],
    ] as const) {
      const started = performance.now();
      const env = new MockActivityEnvironment({ attempt: 1 }, { interceptors: [errorBoundary], logger: quiet });
      const error = await env.run(activities.setWeights, { migration: 'm', router: route53(profile), targetPercent: 10, mirror: false, revision: 1 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ type: 'UnknownProfile', nonRetryable: true, message: expect.stringMatching(message) });
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });
});
