import { activityInfo, type Context } from '@temporalio/activity';
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
 * Keeps an activity that has a heartbeat timeout beating while it runs, with the details it last
 * gave (a copy batch's resume point survives): a listing or any single long request then shows a
 * dead worker within the timeout, not after its start-to-close limit (a listing stalled a copy for
 * ten minutes so).
 */
function keepBeating(ctx: Context): () => void {
  const timeoutMs = ctx.info.heartbeatTimeoutMs;
  if (!timeoutMs) return () => undefined;
  const send = ctx.heartbeat;
  let last: unknown = ctx.info.heartbeatDetails;
  // The activity's own beats pass through here, so the ticker repeats what it said last.
  (ctx as { heartbeat: (details?: unknown) => void }).heartbeat = (details?: unknown) => {
    last = details;
    send(details);
  };
  const ticker = setInterval(() => send(last), Math.max(200, Math.min(5_000, timeoutMs / 4)));
  ticker.unref();
  return () => clearInterval(ticker);
}

/**
 * The boundary every activity passes through, registered once on every worker (createWorkers):
 * no activity can forget it. It maps errors (toActivityFailure), says on the last attempt that
 * no retry follows instead of reading as if another try were coming, and keeps the activity
 * beating (keepBeating).
 */
export const errorBoundary: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const stopBeating = keepBeating(ctx);
      try {
        return await next(input);
      } catch (error) {
        const mapped = toActivityFailure(error);
        if (isLastAttempt() && mapped instanceof Error && !(mapped instanceof ApplicationFailure && mapped.nonRetryable) && !(mapped instanceof CancelledFailure)) {
          mapped.message = `${mapped.message} (the last of ${activityInfo().attempt} attempts: not retried again)`;
        }
        throw mapped;
      } finally {
        stopBeating();
      }
    },
  } satisfies ActivityInboundCallsInterceptor,
});
