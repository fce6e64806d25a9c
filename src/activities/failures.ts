import { ApplicationFailure } from '@temporalio/common';
import { StoreError } from '../clouds/errors.js';
import { NonRetryableError } from '../errors.js';

/**
 * Runs activity work and turns our errors into ApplicationFailures whose `type` the workflows'
 * retry policies know, in this one place: a StoreError keeps its kind (retryable or not, with the
 * store, key and operation), a NonRetryableError fails the activity at once with its type and
 * context; anything else is retried with backoff.
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
    if (error instanceof NonRetryableError) {
      throw ApplicationFailure.create({ type: error.type, message: error.message, nonRetryable: true, details: [error.context], cause: error });
    }
    throw error;
  }
}
