import type { BlobDownloadResponseParsed, BlobGetPropertiesResponse, BlobItem, ContainerClient } from '@azure/storage-blob';
import type { Readable } from 'node:stream';
import { guard, isNetworkError, kindForHttpStatus, type StoreErrorKind, type StoreOperation } from './errors.js';
import {
  DEFAULT_MULTIPART,
  type ListOptions,
  type ListPage,
  type MultipartOptions,
  type ObjectInfo,
  type ObjectStore,
  type OpenedObject,
  SHA256_METADATA_KEY,
  splitMetadata,
  type WriteOptions,
  type WriteResult,
} from './object-store.js';
import { firstPart, md5Hex, readParts, sha256Hex, uploadInParts } from './streaming.js';
import { verifyWrite } from './verify.js';

const AZURE_CODES: Record<string, StoreErrorKind> = {
  BlobNotFound: 'NotFound',
  ContainerNotFound: 'NotFound',
  AuthenticationFailed: 'AccessDenied',
  AuthorizationFailure: 'AccessDenied',
  AuthorizationPermissionMismatch: 'AccessDenied',
  ServerBusy: 'Throttled',
  OperationTimedOut: 'Unavailable',
  InternalError: 'Unavailable',
  Md5Mismatch: 'ChecksumMismatch',
  InvalidMd5: 'ChecksumMismatch',
};

export function classifyAzureError(error: unknown): StoreErrorKind {
  const { code, statusCode } = error as { code?: string; statusCode?: number };
  const known = code ? AZURE_CODES[code] : undefined;
  if (known) return known;
  if (statusCode) return kindForHttpStatus(statusCode);
  if (code === 'REQUEST_SEND_ERROR' || isNetworkError(error)) return 'Unavailable';
  return 'InvalidRequest';
}

/** Block ids must all have the same length within a blob. */
const blockId = (n: number): string => Buffer.from(`block-${String(n).padStart(6, '0')}`).toString('base64');

const hexOf = (md5: Uint8Array | undefined): string | undefined => (md5 ? Buffer.from(md5).toString('hex') : undefined);

/**
 * Azure metadata names must be C# identifiers; names from S3 or GCS (`x-origin`, `a.b`) are made
 * valid by replacing other characters with `_`.
 */
export function azureMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata ?? {}).map(([k, v]) => [k.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1'), v]));
}

function fromProperties(
  key: string,
  p: BlobGetPropertiesResponse | BlobDownloadResponseParsed | BlobItem['properties'],
  raw?: Record<string, string>,
): ObjectInfo {
  const { metadata, sha256 } = splitMetadata(raw);
  return {
    key,
    size: p.contentLength ?? 0,
    checksums: { md5: hexOf(p.contentMD5), etag: p.etag?.replace(/^"|"$/g, ''), sha256 },
    version: p.etag?.replace(/^"|"$/g, ''),
    lastModified: p.lastModified?.toISOString(),
    storageClass: ('accessTier' in p ? p.accessTier : undefined) ?? 'Hot',
    contentType: p.contentType,
    metadata,
  };
}

export class AzureBlobStore implements ObjectStore {
  readonly uri: string;
  private readonly multipart: Required<MultipartOptions>;

  constructor(
    private readonly container: ContainerClient,
    multipart: MultipartOptions = {},
  ) {
    this.uri = `azure://${container.accountName}/${container.containerName}`;
    this.multipart = { ...DEFAULT_MULTIPART, ...multipart };
  }

  private call<T>(operation: StoreOperation, key: string | undefined, run: () => Promise<T>): Promise<T> {
    return guard(classifyAzureError, { store: this.uri, operation, key }, run);
  }

  async ensureContainer(): Promise<void> {
    await this.call('ensureContainer', undefined, async () => {
      await this.container.createIfNotExists();
    });
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    return this.call('list', prefix, async () => {
      const pages = this.container
        .listBlobsFlat({ prefix: prefix || undefined, includeMetadata: true })
        .byPage({ continuationToken: options.cursor, maxPageSize: options.pageSize ?? 1000 });
      const { value: page } = await pages.next();
      if (!page) return { objects: [] };
      return {
        objects: page.segment.blobItems.map((b: BlobItem) => fromProperties(b.name, b.properties, b.metadata)),
        cursor: page.continuationToken || undefined,
      };
    });
  }

  async head(key: string): Promise<ObjectInfo> {
    return this.call('head', key, async () => {
      const p = await this.container.getBlobClient(key).getProperties();
      return fromProperties(key, p, p.metadata);
    });
  }

  async read(key: string): Promise<Readable> {
    return (await this.open(key)).body;
  }

  async open(key: string): Promise<OpenedObject> {
    return this.call('read', key, async () => {
      const response = await this.container.getBlobClient(key).download(0);
      return { body: response.readableStreamBody as Readable, info: fromProperties(key, response, response.metadata) };
    });
  }

  async write(key: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    return this.call('write', key, async () => {
      const blob = this.container.getBlockBlobClient(key);
      const headers = { blobContentType: options.contentType };
      const { first, rest } = await firstPart(readParts(body, this.multipart.partSizeBytes));
      if (!rest) {
        // No MD5 sent with a single Put Blob: Azure then computes Content-MD5 from the bytes that
        // arrived, and the head below compares it with ours. Sent, it would be stored unchecked.
        const streamed = { size: first.length, md5: md5Hex(first), sha256: sha256Hex(first) };
        const uploaded = await blob.upload(first, first.length, {
          blobHTTPHeaders: headers,
          metadata: { ...azureMetadata(options.metadata), [SHA256_METADATA_KEY]: streamed.sha256 },
        });
        // Azure answers with the Content-MD5 it computed from the bytes that arrived.
        const reported: ObjectInfo = {
          key,
          size: first.length,
          checksums: { md5: hexOf(uploaded.contentMD5), etag: uploaded.etag?.replace(/^"|"$/g, ''), sha256: streamed.sha256 },
          version: uploaded.etag?.replace(/^"|"$/g, ''),
          contentType: options.contentType,
          metadata: options.metadata ?? {},
        };
        return verifyWrite(this, key, streamed, (stored) => stored.checksums.md5 === streamed.md5, { reported, sourceMd5: options.sourceMd5 });
      }
      // Each block carries its MD5, which Azure checks on arrival; the whole-object MD5 is set on
      // commit so later readers have one (Azure keeps none for block lists by itself).
      const uploaded = await uploadInParts(rest, this.multipart.partConcurrency, async (part) => {
        const id = blockId(part.number);
        await blob.stageBlock(id, part.body, part.body.length, {
          transactionalContentMD5: Buffer.from(part.md5Base64, 'base64'),
        });
        return id;
      });
      await blob.commitBlockList(uploaded.results, {
        blobHTTPHeaders: { ...headers, blobContentMD5: Buffer.from(uploaded.md5, 'hex') },
        metadata: { ...azureMetadata(options.metadata), [SHA256_METADATA_KEY]: uploaded.sha256 },
      });
      return verifyWrite(this, key, uploaded, (stored) => stored.checksums.md5 === uploaded.md5, { sourceMd5: options.sourceMd5 });
    });
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', key, async () => {
      await this.container.getBlobClient(key).deleteIfExists();
    });
  }
}
