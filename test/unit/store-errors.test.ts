import { describe, expect, it } from 'vitest';
import { classifyAzureError } from '../../src/clouds/azure-store.js';
import { isNetworkError, kindForHttpStatus, StoreError } from '../../src/clouds/errors.js';
import { classifyGcsError } from '../../src/clouds/gcs-store.js';
import { classifyFsError } from '../../src/clouds/local-store.js';
import { classifyS3Error } from '../../src/clouds/s3-store.js';

// Error shapes as each SDK raises them (name/code/status fields only; no SDK is mocked).
describe('provider error classification', () => {
  it.each([
    [{ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, 'NotFound'],
    [{ name: 'NotFound', $metadata: { httpStatusCode: 404 } }, 'NotFound'],
    [{ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } }, 'AccessDenied'],
    [{ name: 'SlowDown', $metadata: { httpStatusCode: 503 } }, 'Throttled'],
    [{ name: 'Unknown', $metadata: { httpStatusCode: 500 } }, 'Unavailable'],
    [{ name: 'BadDigest', $metadata: { httpStatusCode: 400 } }, 'ChecksumMismatch'],
    [{ name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } }, 'InvalidRequest'],
    [Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 'Unavailable'],
  ])('S3 %o → %s', (error, kind) => expect(classifyS3Error(error)).toBe(kind));

  it.each([
    [{ code: 404 }, 'NotFound'],
    [{ code: 403 }, 'AccessDenied'],
    [{ code: 429 }, 'Throttled'],
    [{ code: 502 }, 'Unavailable'],
    [{ code: 400 }, 'InvalidRequest'],
    [{ code: 'ECONNRESET' }, 'Unavailable'],
    [new Error('The uploaded data did not match the data from the server (FILE_NO_UPLOAD)'), 'ChecksumMismatch'],
    [Object.assign(new Error('Provided MD5 hash "x" doesn\'t match calculated MD5 hash "y".'), { code: 400 }), 'ChecksumMismatch'],
  ])('GCS %o → %s', (error, kind) => expect(classifyGcsError(error)).toBe(kind));

  it.each([
    [{ code: 'BlobNotFound', statusCode: 404 }, 'NotFound'],
    [{ code: 'AuthenticationFailed', statusCode: 403 }, 'AccessDenied'],
    [{ code: 'ServerBusy', statusCode: 503 }, 'Throttled'],
    [{ code: 'Md5Mismatch', statusCode: 400 }, 'ChecksumMismatch'],
    [{ code: 'REQUEST_SEND_ERROR' }, 'Unavailable'],
    [{ code: 'InvalidHeaderValue', statusCode: 400 }, 'InvalidRequest'],
  ])('Azure %o → %s', (error, kind) => expect(classifyAzureError(error)).toBe(kind));

  it.each([
    ['ENOENT', 'NotFound'],
    ['EACCES', 'AccessDenied'],
    ['ENOSPC', 'Unavailable'],
    ['EISDIR', 'InvalidRequest'],
  ])('filesystem %s → %s', (code, kind) => expect(classifyFsError({ code })).toBe(kind));

  it('maps HTTP statuses the same way for every provider', () => {
    expect([404, 401, 403, 429, 503, 500, 408, 400, 412].map(kindForHttpStatus)).toEqual([
      'NotFound', 'AccessDenied', 'AccessDenied', 'Throttled', 'Throttled', 'Unavailable', 'Unavailable', 'InvalidRequest', 'InvalidRequest',
    ]);
  });

  it('finds network failures wrapped deep in causes and aggregates', () => {
    const inner = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    expect(isNetworkError(new Error('outer', { cause: new Error('middle', { cause: inner }) }))).toBe(true);
    expect(isNetworkError(new AggregateError([new Error('x'), inner]))).toBe(true);
    expect(isNetworkError(new Error('plain'))).toBe(false);
  });
});

describe('StoreError', () => {
  it('says which object, which operation, what happened and whether it is retried', () => {
    const e = new StoreError('AccessDenied', { store: 's3://models', operation: 'read', key: 'a/b.onnx' }, 'Access Denied');
    expect(e.message).toBe(
      "read s3://models/a/b.onnx: AccessDenied (Access Denied); not retried: check the credentials the worker resolves for this profile and the principal's permissions",
    );
    expect(e).toMatchObject({ kind: 'AccessDenied', store: 's3://models', key: 'a/b.onnx', operation: 'read', retryable: false });
    expect(new StoreError('Throttled', { store: 'gs://x', operation: 'list' }, '429').message).toMatch(/^list gs:\/\/x: Throttled \(429\); retryable under the step’s retry policy: the store is limiting requests/);
  });
});
