import { describe, expect, it } from 'vitest';
import { md5FromHeaders } from '../../src/clouds/s3-store.js';

const md5 = '5d41402abc4b2a76b9719d911017c592';

describe('which S3 ETags state the object\'s MD5', () => {
  it('a single-part ETag, unencrypted or under SSE-S3, quoted as S3 sends it', () => {
    expect(md5FromHeaders({ ETag: `"${md5}"` })).toBe(md5);
    expect(md5FromHeaders({ ETag: md5, ServerSideEncryption: 'AES256' })).toBe(md5);
  });

  it('not a multipart ETag, nor one under SSE-KMS, DSSE-KMS or a customer key, though they look alike', () => {
    expect(md5FromHeaders({ ETag: `"${md5}-4"` })).toBeUndefined();
    expect(md5FromHeaders({ ETag: `"${md5}"`, ServerSideEncryption: 'aws:kms' })).toBeUndefined();
    expect(md5FromHeaders({ ETag: `"${md5}"`, ServerSideEncryption: 'aws:kms:dsse' })).toBeUndefined();
    expect(md5FromHeaders({ ETag: `"${md5}"`, SSECustomerAlgorithm: 'AES256' })).toBeUndefined();
    expect(md5FromHeaders({})).toBeUndefined();
  });
});
