import type { File, Storage } from '@google-cloud/storage';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { perClient } from './per-client.js';

export type GcsMetadata = File['metadata'];

/** The object resource that goes up with the bytes of a single-request upload. */
export interface GcsObjectResource {
  name: string;
  contentType?: string;
  /** Base64, as the JSON API carries it; GCS refuses bytes that do not hash to it. */
  md5Hash?: string;
  metadata?: Record<string, string>;
}

/** An error as the SDK's would read: `code` is the HTTP status, so one classifier serves both. */
function apiError(operation: string, status: number, text: string): Error {
  let message = text.slice(0, 300);
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
  } catch {
    // Not JSON (a proxy's page, an emulator's plain text): the text itself says most.
  }
  return Object.assign(new Error(`${operation} answered ${status}: ${message}`), { code: status });
}

/** The stored object's resource, or the error the answer describes. */
function resourceFrom(operation: string, status: number, text: string): GcsMetadata {
  if (status < 200 || status >= 300) throw apiError(operation, status, text);
  return JSON.parse(text) as GcsMetadata;
}

/**
 * The two GCS uploads cloudshift makes, sent with undici instead of through the SDK's request
 * layers (teeny-request, node-fetch, duplex streams): on 4 KiB objects those cost 2.2–2.5 ms of
 * CPU an upload against 0.7–1.1 ms here, and a copy of small objects is CPU-bound. Everything else
 * (listing, metadata, sessions, deletes) stays with the SDK.
 */
export class GcsJsonApi {
  private readonly dispatcher = new Agent({ keepAliveTimeout: 10_000 });

  constructor(private readonly storage: Storage) {}

  /** The credentials the SDK itself would send to this endpoint. */
  private async authorization(url: string): Promise<Record<string, string>> {
    // As the SDK decides: a custom endpoint (an emulator) gets none unless the profile asks for them.
    if (this.storage.customEndpoint && !this.storage.useAuthWithCustomEndpoint) return {};
    const headers = await this.storage.authClient.getRequestHeaders(url);
    return Object.fromEntries(new Headers(headers as ConstructorParameters<typeof Headers>[0]));
  }

  /** One request carrying the object resource and all its bytes (uploadType=multipart). */
  async insert(bucket: string, resource: GcsObjectResource, bytes: Buffer): Promise<GcsMetadata> {
    const url = `${this.storage.apiEndpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=multipart`;
    // Random per request, so no object's bytes can contain it.
    const boundary = `cloudshift-${randomBytes(12).toString('hex')}`;
    const body = [
      Buffer.from(`--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(resource)}\r\n--${boundary}\r\ncontent-type: ${resource.contentType ?? 'application/octet-stream'}\r\n\r\n`),
      bytes,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ];
    const answer = await request(url, {
      method: 'POST',
      dispatcher: this.dispatcher,
      headers: { ...(await this.authorization(url)), 'content-type': `multipart/related; boundary=${boundary}` },
      body: Buffer.concat(body),
    });
    return resourceFrom('the upload', answer.statusCode, await answer.body.text());
  }

  /**
   * Sends all the bytes of a resumable session in one streamed request. The session URI itself
   * authorises it. The request names the content type again: GCS takes it from the session,
   * fake-gcs-server only from this request (and would otherwise need a PATCH, which it answers by
   * rewriting the whole object).
   */
  async uploadToSession(session: string, body: AsyncIterable<Buffer>, contentType: string | undefined): Promise<GcsMetadata> {
    const answer = await request(session, {
      method: 'PUT',
      dispatcher: this.dispatcher,
      // `0-*/*`: from the first byte, total unknown until the body ends.
      headers: { 'content-range': 'bytes 0-*/*', ...(contentType ? { 'content-type': contentType } : {}) },
      body: Readable.from(body),
    });
    return resourceFrom('the upload session', answer.statusCode, await answer.body.text());
  }

}

export const gcsJsonApi = perClient((storage: Storage) => new GcsJsonApi(storage));
