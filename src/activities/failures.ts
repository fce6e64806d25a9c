import { activityInfo } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { StoreError } from '../clouds/errors.js';
import { NonRetryableError } from '../errors.js';

/**
 * Our errors as ApplicationFailures whose `type` the workflows' retry policies know, in this one
 * place: a StoreError keeps its kind (retryable or not, with the store, key and operation), a
 * NonRetryableError fails the activity at once with its type and context; anything else stays
 * retryable. Without it the SDK names an error by its class ("NonRetryableError") and retries it:
 * a taken router port or a bad Route 53 profile was retried for nine minutes.
 */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof ApplicationFailure || error instanceof CancelledFailure) return error;
  if (error instanceof StoreError) {
    return ApplicationFailure.create({
      type: error.kind,
      message: error.message,
      nonRetryable: !error.retryable,
      details: [{ store: error.store, key: error.key, operation: error.operation }],
      cause: error,
    });
  }
  if (error instanceof NonRetryableError) {
    return ApplicationFailure.create({ type: error.type, message: error.message, nonRetryable: true, details: [error.context], cause: error });
  }
  return error;
}

/** For code that maps errors before it returns (kept for the activities that still call it; the interceptor does the same). */
export async function asActivity<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toActivityFailure(error);
  }
}

/** The last attempt the activity's retry policy allows, where it sets one. */
function isLastAttempt(): boolean {
  try {
    const info = activityInfo();
    const max = info.retryPolicy?.maximumAttempts;
    return max !== undefined && max > 0 && info.attempt >= max;
  } catch {
    return false;
  }
}

/**
 * The error boundary every activity passes through, registered once on every worker
 * (createWorkers): no activity can forget it. On the last attempt a retryable failure says so
 * instead of reading as if another try were coming.
 */
export const errorBoundary: ActivityInterceptorsFactory = () => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (error) {
        const mapped = toActivityFailure(error);
        if (isLastAttempt() && mapped instanceof Error && !(mapped instanceof ApplicationFailure && mapped.nonRetryable) && !(mapped instanceof CancelledFailure)) {
          mapped.message = `${mapped.message} (the last of ${activityInfo().attempt} attempts: not retried again)`;
        }
        throw mapped;
      }
    },
  } satisfies ActivityInboundCallsInterceptor,
});
