/**
 * Signing and verifying an artifact folder on disk, as `cloudshift sign` and `cloudshift verify`
 * do before a model is uploaded, or wherever a copy of it lands.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { basename, relative, resolve, sep } from 'node:path';
import { checkAgainstManifest, directoryFolder, hashArtifact, type HashedFile, readSmallFile } from './artifact-files.js';
import { DEFAULT_IGNORE_PATHS, readBundle, signedManifest, signManifest, type Trust, verifyBundle, type VerifiedSignature } from './signature-bundle.js';

const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

export const defaultSignaturePath = (dir: string) => resolve(dir, 'model.sig');

/** The bundle's name inside the folder, when it lies there (it is then not a file of the model). */
function insideFolder(dir: string, signaturePath: string): string[] {
  const rel = relative(resolve(dir), resolve(signaturePath));
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? [rel.split(sep).join('/')] : [];
}

export async function signFolder(dir: string, privateKey: KeyObject, signaturePath = defaultSignaturePath(dir), certificates: X509Certificate[] = []): Promise<HashedFile[]> {
  const ignorePaths = [...DEFAULT_IGNORE_PATHS, ...insideFolder(dir, signaturePath)];
  const files = await hashArtifact(directoryFolder(dir), ignorePaths);
  const bundle = signManifest(signedManifest(basename(resolve(dir)), files, ignorePaths), privateKey, certificates);
  writeFileSync(signaturePath, `${JSON.stringify(bundle, null, 2)}\n`);
  return files;
}

export async function verifyFolder(dir: string, trust: Trust, signaturePath = defaultSignaturePath(dir)): Promise<VerifiedSignature & { files: HashedFile[] }> {
  const signature = verifyBundle(readBundle(await readSmallFile(signaturePath, MAX_BUNDLE_BYTES), signaturePath), trust, signaturePath);
  const files = await checkAgainstManifest(directoryFolder(dir), signature.manifest, insideFolder(dir, signaturePath));
  return { ...signature, files };
}
