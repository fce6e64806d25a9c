/**
 * The one error idiom: a failure no retry can fix is a NonRetryableError with a stable `type`
 * (from error-types.ts), the context an operator needs (which object, which file) and its `cause`.
 * The activity wrapper (activities/failures.ts) turns it into a non-retryable ApplicationFailure,
 * once, for every activity.
 */
import { isNonRetryableType, type NonRetryableType } from './error-types.js';

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

/**
 * An error that crossed a thread boundary as its name and message: one no retry can fix keeps its
 * type (so the activity fails at once), any other stays a plain, retryable Error.
 */
export function errorFromThread(name: string, message: string): Error {
  if (isNonRetryableType(name)) return new NonRetryableError(name, message);
  const error = new Error(message);
  error.name = name;
  return error;
}
