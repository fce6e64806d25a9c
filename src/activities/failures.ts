import { ApplicationFailure } from '@temporalio/common';
import { StoreError } from '../clouds/errors.js';
import { UnknownProfileError } from '../clouds/profiles.js';

/** Errors of ours (by name) that a retry cannot fix: a wrong model, holdout or provider. */
const CANNOT_BE_RETRIED = new Set([
  'ModelChecksumMismatch',
  'ExecutionProviderUnavailable',
  'HoldoutFormatError',
  'ModelNotInManifest',
  'UnsupportedModelOutput',
  'PredictionsFormatError',
  'ShadowInputError',
  'OnnxFormatError',
]);

/**
 * Runs activity work and turns our domain errors into ApplicationFailures whose `type` the
 * workflows' retry policies know: retryable kinds are retried with backoff, the others fail the
 * activity at once with a message that says what to do.
 */
export async function asActivity<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StoreError) {
      throw ApplicationFailure.create({
        type: error.kind,
        message: error.message,
        nonRetryable: !error.retryable,
        details: [{ store: error.store, key: error.key, operation: error.operation }],
        cause: error,
      });
    }
    if (error instanceof UnknownProfileError) {
      throw ApplicationFailure.nonRetryable(error.message, 'UnknownProfile');
    }
    if (error instanceof Error && CANNOT_BE_RETRIED.has(error.name)) {
      throw ApplicationFailure.nonRetryable(error.message, error.name);
    }
    throw error;
  }
}
