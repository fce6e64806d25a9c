/**
 * The model's artifact: checked at the source for the audit (a problem becomes a finding), listed
 * for its early copy, and verified at the target before anything loads it (a problem fails the
 * activity non-retryably, and the workflow rolls back).
 */
import type { StoreResolver } from '../clouds/profiles.js';
import type { ObjectStore } from '../clouds/object-store.js';
import { ChecksumRecords } from '../copy/checksum-records.js';
import { ArtifactDigestMismatch, checkAgainstManifest, hashArtifact, type HashedFile, listStoreFolder, storeFolder } from '../artifacts/artifact-files.js';
import { describeTrust, trustFor } from '../artifacts/keys.js';
import { ArtifactProvenanceInvalid, MAX_PROVENANCE_BYTES, readProvenance } from '../artifacts/provenance.js';
import { ArtifactSignatureInvalid, readBundle, verifyBundle } from '../artifacts/signature-bundle.js';
import { type NonRetryableError } from '../errors.js';
import type { ArtifactCheck } from '../artifacts/check.js';
import { type ArtifactSpec, artifactSignatureKey, keyIn, type StorageLocation } from '../spec.js';
import type { CopyObjectRef } from './copy-data.js';
import { asActivity } from './failures.js';

export type { ArtifactCheck } from '../artifacts/check.js';
import { headIfExists, versionOf, withLocation } from './object-access.js';

export interface ArtifactDeps {
  stores: StoreResolver;
  /** Where the worker finds the public keys a policy names. */
  keysDir: string;
}

/** A signature bundle is a few KiB; more is not one. */
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;


interface ArtifactInput {
  location: StorageLocation;
  artifact: ArtifactSpec;
}

async function readSmallObject(store: ObjectStore, key: string, maxBytes: number, tooLarge: (message: string) => Error): Promise<string | undefined> {
  const info = await headIfExists(store, key);
  if (!info) return undefined;
  if (info.size > maxBytes) throw tooLarge(`${store.uri}/${key} is ${info.size} bytes; at most ${maxBytes} are read`);
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const totals = (files: HashedFile[]) => ({ files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) });

/**
 * The artifact checked where it lies. A signature, when the policy names keys, must verify and
 * every file must be as signed (else this throws); without one the files are only hashed.
 */
async function inspect(deps: ArtifactDeps, input: ArtifactInput): Promise<{ check: ArtifactCheck; files: HashedFile[]; store: ObjectStore }> {
  const found = await inspectFiles(deps, input);
  const { location, artifact } = input;
  if (!artifact.provenance) return found;
  const key = keyIn(location, artifact.provenance);
  const where = `${found.store.uri}/${key}`;
  const text = await readSmallObject(found.store, key, MAX_PROVENANCE_BYTES, (m) => new ArtifactProvenanceInvalid(m, { file: where }));
  if (text === undefined) throw new ArtifactProvenanceInvalid(`the spec names the provenance ${where}, and there is none`, { file: where });
  const provenance = readProvenance(text, where, new Map(found.files.map((f) => [f.name, f.sha256])));
  return { ...found, check: { ...found.check, provenance } };
}

async function inspectFiles(deps: ArtifactDeps, { location, artifact }: ArtifactInput): Promise<{ check: ArtifactCheck; files: HashedFile[]; store: ObjectStore }> {
  const store = deps.stores.store(location);
  const folderKey = keyIn(location, artifact.folder);
  const bundleKey = keyIn(location, artifactSignatureKey(artifact));
  const folder = storeFolder(store, folderKey);
  const where = { folder: folder.where, signature: `${store.uri}/${bundleKey}` };
  // A bundle inside the folder is not a file of the model (model_signing leaves it out the same way).
  const bundleInFolder = bundleKey.startsWith(folderKey) ? [bundleKey.slice(folderKey.length)] : [];
  const text = await readSmallObject(store, bundleKey, MAX_BUNDLE_BYTES, (m) => new ArtifactSignatureInvalid(m, { bundle: bundleKey }));
  const policy = artifact.policy;
  if (text === undefined) {
    if (policy?.requireSignature) {
      throw new ArtifactSignatureInvalid(`no signature bundle at ${where.signature}, and the policy requires one (${describeTrust(policy)}): sign the artifact (cloudshift sign) or set policy.requireSignature to false`, { bundle: where.signature });
    }
    const files = await hashArtifact(folder, bundleInFolder);
    const severity = policy?.unsigned ?? 'manual';
    return { store, files, check: { ...where, state: 'unsigned', ...totals(files), problem: `the artifact is not signed: no bundle at ${where.signature}; only cloudshift's copy checksums vouch for it`, severity } };
  }
  if (!policy) {
    const files = await hashArtifact(folder, bundleInFolder);
    return { store, files, check: { ...where, state: 'unverified', ...totals(files), problem: 'the artifact carries a signature, but the spec names no trusted key or root to check it with (artifact.policy)', severity: 'manual' } };
  }
  const signature = verifyBundle(readBundle(text, where.signature), trustFor(deps.keysDir, policy), where.signature);
  const files = await checkAgainstManifest(folder, signature.manifest, bundleInFolder);
  return { store, files, check: { ...where, state: 'verified', signer: signature.signer, keyHint: signature.keyHint, ...totals(files) } };
}

const isArtifactProblem = (error: unknown): error is NonRetryableError =>
  error instanceof ArtifactSignatureInvalid || error instanceof ArtifactDigestMismatch || error instanceof ArtifactProvenanceInvalid;

export function createArtifactActivities(deps: ArtifactDeps) {
  return {
    /** The audit's look at the source's artifact: a bad or missing signature is a finding, not a failure. */
    async checkSourceArtifact(input: ArtifactInput): Promise<ArtifactCheck> {
      return asActivity(
        withLocation(input.location, async () => {
          try {
            return (await inspect(deps, input)).check;
          } catch (error) {
            if (!isArtifactProblem(error)) throw error;
            const store = deps.stores.store(input.location);
            return {
              folder: `${store.uri}/${keyIn(input.location, input.artifact.folder)}`,
              signature: `${store.uri}/${keyIn(input.location, artifactSignatureKey(input.artifact))}`,
              state: 'invalid',
              files: 0,
              bytes: 0,
              problem: error.message,
              severity: 'blocking',
            };
          }
        }),
      );
    },

    /** Every object of the artifact at the source (its files and its bundle), for the copy ahead of the data. */
    async listArtifactObjects(input: ArtifactInput): Promise<CopyObjectRef[]> {
      return asActivity(
        withLocation(input.location, async () => {
          const store = deps.stores.store(input.location);
          const folderKey = keyIn(input.location, input.artifact.folder);
          const objects: CopyObjectRef[] = (await listStoreFolder(store, folderKey)).map((o) => ({ key: o.key, size: o.size, version: versionOf(o) }));
          const bundleKey = keyIn(input.location, artifactSignatureKey(input.artifact));
          if (!bundleKey.startsWith(folderKey)) {
            const bundle = await headIfExists(store, bundleKey);
            if (bundle) objects.push({ key: bundle.key, size: bundle.size, version: versionOf(bundle) });
          }
          return objects;
        }),
      );
    },

    /**
     * The artifact as the target holds it, before anything loads it. Signed: the signature by a
     * trusted key and every file's digest, none missing or added. Unsigned (where the policy
     * allows it): every file must be one this migration's copy wrote and recorded, unchanged since.
     */
    async verifyTargetArtifact(input: ArtifactInput & { migration: string }): Promise<ArtifactCheck> {
      return asActivity(
        withLocation(input.location, async () => {
          const { check, files, store } = await inspect(deps, input);
          if (check.state === 'verified') return check;
          const records = new ChecksumRecords(store, input.location, input.migration);
          const folderKey = keyIn(input.location, input.artifact.folder);
          for (const file of files) {
            const recorded = (await records.resolve(await store.head(folderKey + file.name))).checksums.sha256;
            if (recorded !== file.sha256) {
              throw new ArtifactDigestMismatch(
                recorded
                  ? `${check.folder}${file.name} hashes to SHA-256 ${file.sha256}, but this migration's copy recorded ${recorded}: it changed after the copy`
                  : `${check.folder}${file.name} was not written by this migration's copy (no SHA-256 recorded for it): an unsigned artifact is trusted only as copied`,
                { artifact: check.folder, file: file.name },
              );
            }
          }
          return check;
        }),
      );
    },
  };
}
