/**
 * A model artifact's files — a folder in a store or on disk — hashed for signing, and checked
 * against what a signature vouches for: every signed file present with its digest, none missing,
 * none added.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { ObjectInfo, ObjectStore } from '../clouds/object-store.js';
import { NonRetryableError } from '../errors.js';
import { byPath, type SignedFile, type SignedManifest } from './signature-bundle.js';

/** More files than this is not a model folder but a mistake (a prefix one level too high). */
export const MAX_ARTIFACT_FILES = 10_000;
const HASHES_AT_ONCE = 4;

export class ArtifactDigestMismatch extends NonRetryableError {
  constructor(message: string, context: NonRetryableError['context'] = {}) {
    super('ArtifactDigestMismatch', message, context);
  }
}

/** One artifact folder, wherever it lies. */
export interface ArtifactFolder {
  /** For messages, e.g. s3://models/fraud/model/ */
  readonly where: string;
  /** Every file under the folder, by POSIX name relative to it. */
  list(): Promise<{ name: string; size: number }[]>;
  read(name: string): Promise<Readable>;
}

export const isIgnored = (name: string, ignorePaths: readonly string[]): boolean =>
  ignorePaths.some((p) => {
    const path = p.replace(/\/+$/, '');
    return path !== '' && (name === path || name.startsWith(`${path}/`));
  });

async function sha256Of(body: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function inTurns<T, R>(items: T[], limit: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await each(items[i]!);
      }
    }),
  );
  return results;
}

export interface HashedFile extends SignedFile {
  size: number;
}

/** Every file of the folder not ignored, hashed, in the format's order. */
export async function hashArtifact(folder: ArtifactFolder, ignorePaths: readonly string[]): Promise<HashedFile[]> {
  const files = (await folder.list()).filter((f) => !isIgnored(f.name, ignorePaths));
  if (files.length === 0) throw new ArtifactDigestMismatch(`${folder.where} holds no file to sign or verify`, { artifact: folder.where });
  const hashed = await inTurns(files, HASHES_AT_ONCE, async (f) => ({ name: f.name, size: f.size, sha256: await sha256Of(await folder.read(f.name)) }));
  return hashed.sort((a, b) => byPath(a.name, b.name));
}

const listNames = (names: string[], max = 5) => `${names.slice(0, max).join(', ')}${names.length > max ? ` and ${names.length - max} more` : ''}`;

/**
 * Hashes the folder as it is now and compares it with the signed manifest. Refuses, naming the
 * files, any that changed, went missing or were added (an added file could be loaded beside the
 * model: a config, a tokenizer, a custom op).
 */
export async function checkAgainstManifest(folder: ArtifactFolder, manifest: SignedManifest, alsoIgnored: readonly string[] = []): Promise<HashedFile[]> {
  const actual = await hashArtifact(folder, [...manifest.ignorePaths, ...alsoIgnored]);
  const signed = new Map(manifest.files.map((f) => [f.name, f.sha256]));
  const changed = actual.filter((f) => signed.has(f.name) && signed.get(f.name) !== f.sha256);
  const extra = actual.filter((f) => !signed.has(f.name)).map((f) => f.name);
  const present = new Set(actual.map((f) => f.name));
  const missing = manifest.files.filter((f) => !present.has(f.name)).map((f) => f.name);
  if (changed.length || extra.length || missing.length) {
    const problems = [
      ...(changed.length ? [`changed: ${changed.slice(0, 5).map((f) => `${f.name} (SHA-256 ${f.sha256}, signed ${signed.get(f.name)})`).join(', ')}${changed.length > 5 ? ` and ${changed.length - 5} more` : ''}`] : []),
      ...(missing.length ? [`missing: ${listNames(missing)}`] : []),
      ...(extra.length ? [`not signed: ${listNames(extra)}`] : []),
    ];
    throw new ArtifactDigestMismatch(`the artifact at ${folder.where} is not what was signed — ${problems.join('; ')}. Restore the signed files (or sign the artifact anew) before it is served`, {
      artifact: folder.where,
      file: changed[0]?.name ?? missing[0] ?? extra[0],
    });
  }
  return actual;
}

/** Every object under `folderKey`, refusing a folder too large to be one model's. */
export async function listStoreFolder(store: ObjectStore, folderKey: string): Promise<ObjectInfo[]> {
  const objects: ObjectInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(folderKey, { cursor });
    objects.push(...page.objects);
    if (objects.length > MAX_ARTIFACT_FILES) {
      throw new ArtifactDigestMismatch(`${store.uri}/${folderKey} holds more than ${MAX_ARTIFACT_FILES} objects: name the model's own folder as the artifact`, { artifact: folderKey });
    }
    cursor = page.cursor;
  } while (cursor);
  return objects;
}

/** An artifact folder in a bucket: every object under `folderKey` (which ends with '/'). */
export function storeFolder(store: ObjectStore, folderKey: string): ArtifactFolder {
  return {
    where: `${store.uri}/${folderKey}`,
    list: async () => (await listStoreFolder(store, folderKey)).map((o) => ({ name: o.key.slice(folderKey.length), size: o.size })),
    read: (name) => store.read(folderKey + name),
  };
}

/** An artifact folder on disk (the CLI's sign and verify). Symbolic links are refused, as model-signing does by default. */
export function directoryFolder(dir: string): ArtifactFolder {
  return {
    where: dir,
    async list() {
      const files: { name: string; size: number }[] = [];
      const walk = async (path: string): Promise<void> => {
        for (const entry of await readdir(path, { withFileTypes: true })) {
          const full = join(path, entry.name);
          const name = relative(dir, full).split(sep).join('/');
          if (entry.isSymbolicLink()) throw new ArtifactDigestMismatch(`${full} is a symbolic link; sign the files themselves`, { file: name });
          if (entry.isDirectory()) await walk(full);
          else if (entry.isFile()) files.push({ name, size: (await lstat(full)).size });
          if (files.length > MAX_ARTIFACT_FILES) throw new ArtifactDigestMismatch(`${dir} holds more than ${MAX_ARTIFACT_FILES} files: name the model's own folder`, { artifact: dir });
        }
      };
      await walk(dir);
      return files;
    },
    read: async (name) => createReadStream(join(dir, name)),
  };
}

export const readSmallFile = async (path: string, maxBytes: number): Promise<string> => {
  const size = (await lstat(path)).size;
  if (size > maxBytes) throw new ArtifactDigestMismatch(`${path} is ${size} bytes; a signature bundle is at most ${maxBytes}`, { file: path });
  return readFile(path, 'utf8');
};
