/**
 * The one error idiom: a failure no retry can fix is a NonRetryableError with a stable `type`
 * (from error-types.ts), the context an operator needs (which object, which file) and its `cause`.
 * The activity wrapper (activities/failures.ts) turns it into a non-retryable ApplicationFailure,
 * once, for every activity.
 */
import type { NonRetryableType } from './error-types.js';

export class NonRetryableError extends Error {
  constructor(
    readonly type: NonRetryableType,
    message: string,
    readonly context: Record<string, string | number | undefined> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = type;
  }
}
