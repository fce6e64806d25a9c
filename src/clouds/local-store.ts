import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, readlink, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { LOCAL_META_FOLDER } from '../spec.js';
import { guard, StoreError, type StoreErrorKind, type StoreOperation } from './errors.js';
import type { ListOptions, ListPage, ObjectInfo, ObjectStore, OpenedObject, WriteOptions, WriteResult } from './object-store.js';
import { hashingTap } from './streaming.js';
import { statedBySource } from './verify.js';

/**
 * Sidecars keep what a filesystem does not: content type, user metadata and the MD5 taken at
 * write time. They live apart from the data so listings never see them.
 */
const META_DIR = LOCAL_META_FOLDER;
const TMP_PREFIX = '.cloudshift-tmp-';

interface Sidecar {
  md5: string;
  sha256: string;
  size: number;
  mtimeMs: number;
  contentType?: string;
  metadata?: Record<string, string>;
}

const FS_CODES: Record<string, StoreErrorKind> = {
  ENOENT: 'NotFound',
  ENOTDIR: 'NotFound',
  EACCES: 'AccessDenied',
  EPERM: 'AccessDenied',
  EROFS: 'AccessDenied',
  ENOSPC: 'Unavailable',
  EMFILE: 'Unavailable',
  ENFILE: 'Unavailable',
  EBUSY: 'Unavailable',
  EIO: 'Unavailable',
  EAGAIN: 'Throttled',
};

export function classifyFsError(error: unknown): StoreErrorKind {
  const code = (error as { code?: string }).code;
  return (code && FS_CODES[code]) || 'InvalidRequest';
}

const fileVersion = (s: { size: number; mtimeMs: number }): string => `${s.size}-${Math.trunc(s.mtimeMs * 1000)}`;

/** Byte order of UTF-8, which is the order S3, GCS and Azure list keys in. */
const compareKeys = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** An on-prem store: one directory per bucket under a root the profile names. */
export class LocalFsStore implements ObjectStore {
  readonly uri: string;
  private readonly base: string;

  constructor(root: string, bucket: string) {
    this.base = join(root, bucket);
    this.uri = pathToFileURL(this.base).href;
  }

  private call<T>(operation: StoreOperation, key: string | undefined, run: () => Promise<T>): Promise<T> {
    return guard(classifyFsError, { store: this.uri, operation, key }, run);
  }

  private pathOf(key: string, operation: StoreOperation): string {
    const segments = key.split('/');
    if (!key || key.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..') || segments[0] === META_DIR) {
      throw new StoreError('InvalidRequest', { store: this.uri, operation, key }, 'a filesystem key needs non-empty segments without . or ..');
    }
    return join(this.base, ...segments);
  }

  /**
   * A symbolic link in the bucket: a file it leads to inside the bucket is listed and copied as
   * that file's bytes under the link's key; a link that leads outside the bucket, nowhere, or to a
   * folder (which could repeat the tree) is refused, naming it. Never skipped without a word: a
   * skipped link was absent at the target, and its file gone after the source was retired.
   */
  private async linkIsFolder(key: string): Promise<false> {
    const path = join(this.base, key);
    let real: string;
    let base: string;
    try {
      [real, base] = await Promise.all([realpath(path), realpath(this.base)]);
    } catch {
      throw new StoreError('InvalidRequest', { store: this.uri, operation: 'list', key }, `the symbolic link ${key} leads nowhere (${await readlink(path).catch(() => '?')}); replace it with the file it stood for, or remove it`);
    }
    if (real !== base && !real.startsWith(`${base}${sep}`)) {
      throw new StoreError('InvalidRequest', { store: this.uri, operation: 'list', key }, `the symbolic link ${key} leads outside the bucket, to ${real}; cloudshift copies only what the bucket holds: replace the link with the file, or move its target inside`);
    }
    if ((await stat(real)).isDirectory()) {
      throw new StoreError('InvalidRequest', { store: this.uri, operation: 'list', key }, `the symbolic link ${key} leads to a folder (${real}); cloudshift does not follow folder links (they can repeat the tree): copy the folder in its place, or list its own prefix`);
    }
    return false;
  }

  private sidecarOf(key: string): string {
    return join(this.base, META_DIR, `${key}.json`);
  }

  async ensureContainer(): Promise<void> {
    await this.call('ensureContainer', undefined, () => mkdir(this.base, { recursive: true }));
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    return this.call('list', prefix, async () => {
      const pageSize = options.pageSize ?? 1000;
      const cursor = options.cursor;
      const found: ObjectInfo[] = [];
      // Walk in key order, entering only directories that can hold keys under the prefix and
      // after the cursor; stop one past the page to know whether another page follows.
      const walk = async (dir: string): Promise<boolean> => {
        let entries;
        try {
          entries = await readdir(join(this.base, dir), { withFileTypes: true });
        } catch (error) {
          if ((error as { code?: string }).code === 'ENOENT') return false;
          throw error;
        }
        const kept = entries.filter((e) => (e.isFile() || e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith(TMP_PREFIX) && !(dir === '' && e.name === META_DIR));
        const items = (await Promise.all(kept.map(async (e) => ({ key: dir + e.name, isDir: e.isSymbolicLink() ? await this.linkIsFolder(dir + e.name) : e.isDirectory() }))))
          .sort((a, b) => compareKeys(a.isDir ? `${a.key}/` : a.key, b.isDir ? `${b.key}/` : b.key));
        for (const item of items) {
          if (item.isDir) {
            const sub = `${item.key}/`;
            if (!sub.startsWith(prefix) && !prefix.startsWith(sub)) continue;
            if (cursor && compareKeys(sub, cursor) < 0 && !cursor.startsWith(sub)) continue;
            if (await walk(sub)) return true;
            continue;
          }
          if (!item.key.startsWith(prefix) || (cursor && compareKeys(item.key, cursor) <= 0)) continue;
          const s = await stat(join(this.base, item.key));
          found.push({ key: item.key, size: s.size, checksums: {}, version: fileVersion(s), lastModified: s.mtime.toISOString(), storageClass: 'local' });
          if (found.length > pageSize) return true;
        }
        return false;
      };
      const more = await walk('');
      const objects = found.slice(0, pageSize);
      return { objects, cursor: more ? objects.at(-1)!.key : undefined };
    });
  }

  async head(key: string): Promise<ObjectInfo> {
    return this.describe(key, true);
  }

  /** Without `hashUnknown`, a file that cloudshift did not write reports no MD5 (no extra read). */
  private async describe(key: string, hashUnknown: boolean): Promise<ObjectInfo> {
    return this.call('head', key, async () => {
      const path = this.pathOf(key, 'head');
      const s = await stat(path);
      if (!s.isFile()) throw Object.assign(new Error(`${key} is a directory`), { code: 'ENOENT' });
      const sidecar = await this.readSidecar(key);
      const fresh = sidecar && sidecar.size === s.size && sidecar.mtimeMs === s.mtimeMs;
      return {
        key,
        size: s.size,
        // A file changed behind our back has no trustworthy recorded MD5: compute it afresh.
        checksums: fresh ? { md5: sidecar.md5, sha256: sidecar.sha256 } : hashUnknown ? { md5: await md5OfFile(path) } : {},
        version: fileVersion(s),
        lastModified: s.mtime.toISOString(),
        storageClass: 'local',
        contentType: fresh ? sidecar.contentType : undefined,
        metadata: (fresh ? sidecar.metadata : undefined) ?? {},
      };
    });
  }

  private async readSidecar(key: string): Promise<Sidecar | undefined> {
    try {
      return JSON.parse(await readFile(this.sidecarOf(key), 'utf8')) as Sidecar;
    } catch {
      return undefined;
    }
  }

  async read(key: string): Promise<Readable> {
    return this.call('read', key, async () => {
      const path = this.pathOf(key, 'read');
      await stat(path);
      return createReadStream(path);
    });
  }

  async open(key: string): Promise<OpenedObject> {
    const info = await this.describe(key, false);
    return { body: await this.read(key), info };
  }

  async write(key: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    return this.call('write', key, async () => {
      const path = this.pathOf(key, 'write');
      await mkdir(dirname(path), { recursive: true });
      // Write beside the destination and rename: readers never see half a file.
      const tmp = join(dirname(path), `${TMP_PREFIX}${randomBytes(6).toString('hex')}`);
      const { tap, result } = hashingTap();
      try {
        await pipeline(body, tap, createWriteStream(tmp, { flush: true }));
        await rename(tmp, path);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
      const { size, md5: streamed, sha256 } = await result();
      // Read the bytes back: the filesystem reports no checksum of its own to compare with.
      const onDisk = await md5OfFile(path);
      if (onDisk !== streamed || (options.sourceMd5 !== undefined && streamed !== options.sourceMd5)) {
        await rm(path, { force: true });
        const sourceDigest = onDisk === streamed && options.sourceMd5 !== undefined ? { stated: options.sourceMd5, found: streamed } : undefined;
        throw new StoreError('ChecksumMismatch', { store: this.uri, operation: 'write', key }, `streamed MD5 ${streamed}${statedBySource(options.sourceMd5)}, file holds ${onDisk}`, { sourceDigest });
      }
      const s = await stat(path);
      const sidecar: Sidecar = { md5: streamed, sha256, size, mtimeMs: s.mtimeMs, contentType: options.contentType, metadata: options.metadata };
      await mkdir(dirname(this.sidecarOf(key)), { recursive: true });
      await writeFile(this.sidecarOf(key), JSON.stringify(sidecar));
      const stored: ObjectInfo = {
        key,
        size,
        checksums: { md5: streamed, sha256 },
        version: fileVersion(s),
        lastModified: s.mtime.toISOString(),
        storageClass: 'local',
        contentType: options.contentType,
        metadata: options.metadata ?? {},
      };
      return { key, size, md5: streamed, sha256, stored };
    });
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', key, async () => {
      await rm(this.pathOf(key, 'delete'), { force: true });
      await rm(this.sidecarOf(key), { force: true });
    });
  }
}
