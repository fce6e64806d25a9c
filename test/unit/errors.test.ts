/** One error idiom: a NonRetryableError fails its activity at once, with its type and context. */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { asActivity } from '../../src/activities/failures.js';
import { UnknownProfileError } from '../../src/clouds/profiles.js';
import { ShadowInputError } from '../../src/compare/report.js';
import { NON_RETRYABLE_TYPES } from '../../src/error-types.js';
import { NonRetryableError } from '../../src/errors.js';
import { HoldoutFormatError } from '../../src/inference/holdout.js';
import { ModelChecksumMismatch } from '../../src/inference/model.js';
import { parseNpyHeader } from '../../src/inference/npy.js';
import { PredictionsFormatError } from '../../src/inference/predictions.js';
import { ExecutionProviderUnavailable, UnsupportedModelOutput } from '../../src/inference/session.js';
import { CLOUD_RETRY } from '../../src/workflows/definitions.js';

const failureOf = async (error: Error) => asActivity(async () => Promise.reject(error)).catch((e: unknown) => e as ApplicationFailure);

describe('the error idiom', () => {
  it.each([
    [new ModelChecksumMismatch('m'), 'ModelChecksumMismatch'],
    [new HoldoutFormatError('h'), 'HoldoutFormatError'],
    [new PredictionsFormatError('p'), 'PredictionsFormatError'],
    [new ShadowInputError('s'), 'ShadowInputError'],
    [new UnsupportedModelOutput('u'), 'UnsupportedModelOutput'],
    [new ExecutionProviderUnavailable('e'), 'ExecutionProviderUnavailable'],
    [new UnknownProfileError('x'), 'UnknownProfile'],
    [new NonRetryableError('ModelNotInManifest', 'n', { key: 'k' }), 'ModelNotInManifest'],
  ])('%s fails at once as %s, with its cause', async (error, type) => {
    const failure = await failureOf(error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type, nonRetryable: true, message: error.message });
    expect(failure.cause).toBe(error);
    expect(CLOUD_RETRY.nonRetryableErrorTypes).toContain(type);
  });

  it('a bad .npy header is a holdout error no retry repeats', async () => {
    let error: unknown;
    try {
      parseNpyHeader(Buffer.from('not numpy at all, just text'));
    } catch (e) {
      error = e;
    }
    expect(await failureOf(error as Error)).toMatchObject({ type: 'HoldoutFormatError', nonRetryable: true });
  });

  it('anything else is retried, and every retry policy lists every non-retryable type', async () => {
    const failure = await asActivity(async () => Promise.reject(new Error('a blip'))).catch((e: unknown) => e);
    expect(failure).not.toBeInstanceOf(ApplicationFailure);
    expect([...(CLOUD_RETRY.nonRetryableErrorTypes ?? [])].sort()).toEqual([...NON_RETRYABLE_TYPES].sort());
  });
});
