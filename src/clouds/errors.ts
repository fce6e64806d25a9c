/**
 * The few store failures a workflow acts on. Every provider's errors map onto these, and each
 * names the store, the object and the operation, and says whether a retry can help.
 */
export const STORE_ERROR_KINDS = {
  NotFound: 'NotFound',
  AccessDenied: 'AccessDenied',
  Throttled: 'Throttled',
  Unavailable: 'Unavailable',
  InvalidRequest: 'InvalidRequest',
  ChecksumMismatch: 'ChecksumMismatch',
} as const;
export type StoreErrorKind = keyof typeof STORE_ERROR_KINDS;

const RETRYABLE: Record<StoreErrorKind, boolean> = {
  NotFound: false,
  AccessDenied: false,
  Throttled: true,
  Unavailable: true,
  InvalidRequest: false,
  // The bytes went wrong in transit or at rest; a fresh upload usually fixes it.
  ChecksumMismatch: true,
};

const ADVICE: Record<StoreErrorKind, string> = {
  NotFound: 'check the bucket, prefix and key in the spec',
  AccessDenied: "check the credentials the worker resolves for this profile and the principal's permissions",
  Throttled: 'the store is limiting requests; lower copy.concurrency if it persists',
  Unavailable: 'check that the endpoint answers if it persists',
  InvalidRequest: 'the request itself is wrong; fix the spec or profile',
  ChecksumMismatch: 'the stored bytes differ from the bytes sent; the upload is done again from the start',
};

export type StoreOperation = 'list' | 'head' | 'read' | 'write' | 'delete' | 'ensureContainer';

export interface StoreErrorContext {
  /** The store as a URI, e.g. `s3://bucket` or `file:///srv/data/bucket`. */
  store: string;
  operation: StoreOperation;
  key?: string;
}

/** The MD5 a source states for an object, and the one its bytes as read have. */
export interface SourceDigest {
  stated: string;
  found: string;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly kind: StoreErrorKind;
  readonly store: string;
  readonly operation: StoreOperation;
  readonly key: string | undefined;
  readonly retryable: boolean;
  /**
   * On a ChecksumMismatch where the target holds the bytes read from the source intact but they
   * do not have the MD5 the source states: that MD5 and theirs. The same pair on a second read
   * means no retry can help (the source's stated MD5 is stale, or its bytes are damaged).
   */
  readonly sourceDigest: SourceDigest | undefined;

  constructor(kind: StoreErrorKind, context: StoreErrorContext, detail: string, options?: { cause?: unknown; sourceDigest?: SourceDigest }) {
    const object = context.key === undefined ? context.store : `${context.store}/${context.key}`;
    // The message outlives the retries (it is the final failure's too), so it says what kind the
    // error is, never that a retry is still to come.
    const retry = RETRYABLE[kind] ? 'retryable under the step’s retry policy' : 'not retried';
    super(`${context.operation} ${object}: ${kind} (${detail}); ${retry}: ${ADVICE[kind]}`, options);
    this.kind = kind;
    this.store = context.store;
    this.operation = context.operation;
    this.key = context.key;
    this.retryable = RETRYABLE[kind];
    this.sourceDigest = options?.sourceDigest;
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH',
  'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'TimeoutError', 'RequestTimeout',
]);

/** The kind for an HTTP status, shared by every HTTP-based provider. */
export function kindForHttpStatus(status: number): StoreErrorKind {
  if (status === 404) return 'NotFound';
  if (status === 401 || status === 403) return 'AccessDenied';
  if (status === 429) return 'Throttled';
  if (status === 408 || status >= 500) return status === 503 ? 'Throttled' : 'Unavailable';
  return 'InvalidRequest';
}

/** Finds a network failure anywhere in the cause chain (SDKs wrap them differently). */
export function isNetworkError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 6; depth++) {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    if ((typeof code === 'string' && NETWORK_CODES.has(code)) || (typeof name === 'string' && NETWORK_CODES.has(name))) {
      return true;
    }
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some(isNetworkError)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] || error.name;
  return String(error);
}

/**
 * Runs one store operation and maps whatever the provider throws onto a StoreError that names
 * the store, the object and the operation. Every store wraps its operations with this.
 */
export async function guard<T>(
  classify: (error: unknown) => StoreErrorKind,
  context: StoreErrorContext,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof StoreError) throw error;
    throw new StoreError(classify(error), context, describe(error), { cause: error });
  }
}
