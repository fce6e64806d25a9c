/**
 * The OpenSSF model-signing format (predicate v1.0), key mode: a Sigstore bundle (v0.3) whose DSSE
 * envelope carries an in-toto statement listing every file of the model with its SHA-256. Written
 * from the format as the `model-signing` 1.x tool produces and checks it, so a bundle either side
 * signs the other verifies (test/integration/artifact-signing.test.ts proves it both ways).
 */
import { createHash, createPublicKey, sign, verify, type KeyObject, type X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { type CertificateTrust, verifyCertificateChain } from './certificate-chain.js';
import { ArtifactSignatureInvalid } from './signature-errors.js';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
const PREDICATE_TYPE = 'https://model_signing/signature/v1.0';
const PREDICATE_TYPE_BEFORE_1_0 = 'https://model_signing/Digests/v0.1';
/** What `model_signing sign` leaves out of a model folder unless told otherwise. */
export const DEFAULT_IGNORE_PATHS = ['.github', '.gitignore', '.gitattributes', '.git'];

export interface SignedFile {
  /** POSIX path relative to the artifact's folder. */
  name: string;
  sha256: string;
}

/** What a signature vouches for: the files and their digests, and the paths signing left out. */
export interface SignedManifest {
  modelName: string;
  files: SignedFile[];
  ignorePaths: string[];
}

export { ArtifactSignatureInvalid };

/** model-signing orders files as Python orders PurePosixPath: part by part, by code point. */
export function byPath(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const order = Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
    if (order !== 0) return order;
  }
  return pa.length - pb.length;
}

/** The statement's subject digest: SHA-256 over the files' raw digests, in path order. */
function rootDigest(files: SignedFile[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(Buffer.from(file.sha256, 'hex'));
  return hash.digest('hex');
}

/** DSSE's pre-authentication encoding: what the signature is over. */
function pae(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${IN_TOTO_PAYLOAD_TYPE.length} ${IN_TOTO_PAYLOAD_TYPE} ${payload.length} `), payload]);
}

/** The key's identifier in the bundle: SHA-256 of its PEM SubjectPublicKeyInfo, as model-signing computes it. */
export function keyHint(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'pem' })).digest('hex');
}

/** The curves model-signing accepts, and the hash each one signs with. */
const CURVE_HASH: Record<string, string> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };

function curveHash(key: KeyObject, what: string): string {
  const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const hash = curve ? CURVE_HASH[curve] : undefined;
  if (!hash) {
    throw new ArtifactSignatureInvalid(`${what} is ${key.asymmetricKeyType === 'ec' ? `an EC key on ${curve}` : `a ${key.asymmetricKeyType} key`}; model signatures use ECDSA on P-256, P-384 or P-521`);
  }
  return hash;
}

/** The files sorted as the format requires, each name checked to stay inside the folder. */
export function signedManifest(modelName: string, files: SignedFile[], ignorePaths: string[] = DEFAULT_IGNORE_PATHS): SignedManifest {
  for (const file of files) {
    if (!isArtifactName(file.name)) throw new ArtifactSignatureInvalid(`the file name "${file.name}" is not a relative path inside the artifact's folder`);
    if (!/^[0-9a-f]{64}$/.test(file.sha256)) throw new ArtifactSignatureInvalid(`the digest of ${file.name} is not a SHA-256 in hex`);
  }
  return { modelName, files: [...files].sort((a, b) => byPath(a.name, b.name)), ignorePaths };
}

export const isArtifactName = (name: string): boolean =>
  name.length > 0 && name.length <= 1024 && !name.startsWith('/') && name.split('/').every((part) => part !== '' && part !== '.' && part !== '..');

/**
 * Signs a manifest with an EC private key; returns the bundle as model-signing writes it. With a
 * certificate chain (the signing certificate first, for this key), the bundle carries the chain
 * instead of the key's hint, for verifiers that trust a root rather than each key.
 */
export function signManifest(manifest: SignedManifest, privateKey: KeyObject, certificates: X509Certificate[] = []): SignatureBundle {
  const hash = curveHash(privateKey, 'the signing key');
  if (certificates.length > 0 && keyHint(certificates[0]!.publicKey) !== keyHint(privateKey)) {
    throw new ArtifactSignatureInvalid(`the signing certificate ${certificates[0]!.subject.replace(/\n/g, ', ')} is for another key than the private key given`);
  }
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: manifest.modelName, digest: { sha256: rootDigest(manifest.files) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: manifest.ignorePaths },
      resources: manifest.files.map((f) => ({ name: f.name, algorithm: 'sha256', digest: f.sha256 })),
    },
  };
  const payload = Buffer.from(JSON.stringify(statement, null, 2));
  const signer =
    certificates.length > 0
      ? { x509CertificateChain: { certificates: certificates.map((c) => ({ rawBytes: c.raw.toString('base64') })) } }
      : { publicKey: { hint: keyHint(privateKey) } };
  return {
    mediaType: BUNDLE_MEDIA_TYPE,
    verificationMaterial: { ...signer, tlogEntries: [] },
    dsseEnvelope: {
      payload: payload.toString('base64'),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: sign(hash, pae(payload), privateKey).toString('base64'), keyid: '' }],
    },
  };
}

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'expected base64' });

const bundleSchema = z.object({
  mediaType: z.string(),
  verificationMaterial: z.object({
    publicKey: z.object({ hint: z.string().nullish() }).optional(),
    certificate: z.unknown().optional(),
    x509CertificateChain: z.object({ certificates: z.array(z.object({ rawBytes: base64 })).min(1).max(8) }).optional(),
    tlogEntries: z.array(z.unknown()).optional(),
  }),
  dsseEnvelope: z.object({
    payload: base64,
    payloadType: z.string(),
    signatures: z.array(z.object({ sig: base64, keyid: z.string().nullish() })).min(1),
  }),
});
export type SignatureBundle = z.output<typeof bundleSchema>;

const statementSchema = z.object({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string(), digest: z.object({ sha256: z.string() }) })).length(1),
  predicateType: z.string(),
  predicate: z.object({
    serialization: z.object({
      method: z.string(),
      hash_type: z.string(),
      allow_symlinks: z.unknown().optional(),
      ignore_paths: z.array(z.string()).default([]),
    }),
    resources: z.array(z.object({ name: z.string(), algorithm: z.string(), digest: z.string() })).max(100_000),
  }),
});

/** Parses a bundle's text; anything that is not one is refused, saying what it lacks. */
export function readBundle(text: string, where: string): SignatureBundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ArtifactSignatureInvalid(`${where} is not JSON, so not a model-signing bundle`, { bundle: where });
  }
  const parsed = bundleSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ArtifactSignatureInvalid(`${where} is not a model-signing bundle: ${issue.path.join('.') || '(top)'}: ${issue.message}`, { bundle: where });
  }
  if (parsed.data.mediaType !== BUNDLE_MEDIA_TYPE) {
    throw new ArtifactSignatureInvalid(`${where} has media type ${parsed.data.mediaType}; expected ${BUNDLE_MEDIA_TYPE}`, { bundle: where });
  }
  return parsed.data;
}

export interface TrustedKey {
  /** The key reference the policy names (never the key itself). */
  name: string;
  key: KeyObject;
}

/** Whose signature counts: public keys, and roots that issue signing certificates. */
export interface Trust {
  keys: TrustedKey[];
  certificates?: CertificateTrust;
}

export interface VerifiedSignature {
  manifest: SignedManifest;
  /** The trusted key's reference, or the signing certificate's identity and the root it chains to. */
  signer: string;
  keyHint: string;
}

function checkEnvelope(bundle: SignatureBundle, where: string) {
  const envelope = bundle.dsseEnvelope;
  if (bundle.verificationMaterial.certificate) {
    throw new ArtifactSignatureInvalid(`${where} is a keyless Sigstore bundle (a Fulcio certificate and a transparency-log entry); this worker verifies keys and certificate chains, not the public Sigstore services`, { bundle: where });
  }
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new ArtifactSignatureInvalid(`${where} carries a ${envelope.payloadType} payload; expected ${IN_TOTO_PAYLOAD_TYPE}`, { bundle: where });
  }
  if (envelope.signatures.length !== 1) {
    throw new ArtifactSignatureInvalid(`${where} carries ${envelope.signatures.length} signatures; a model signature has exactly one`, { bundle: where });
  }
  return { payload: Buffer.from(envelope.payload, 'base64'), signature: Buffer.from(envelope.signatures[0]!.sig, 'base64') };
}

function verifyWithCertificate(bundle: SignatureBundle, trust: Trust, where: string): Omit<VerifiedSignature, 'manifest'> & { payload: Buffer } {
  const { payload, signature } = checkEnvelope(bundle, where);
  if (!trust.certificates) {
    const names = trust.keys.map((t) => t.name).join(', ');
    throw new ArtifactSignatureInvalid(`${where} is signed with a certificate, and the policy trusts only the keys ${names}: name the roots that issue your signing certificates (artifact.policy.certificates.roots)`, { bundle: where });
  }
  const chain = bundle.verificationMaterial.x509CertificateChain!.certificates.map((c) => Buffer.from(c.rawBytes, 'base64'));
  const certificate = verifyCertificateChain(chain, trust.certificates, where);
  const signer = `${certificate.identity} (certificate under ${certificate.root})`;
  if (!verify(curveHash(certificate.key, `the key of the certificate ${certificate.identity}`), pae(payload), certificate.key, signature)) {
    throw new ArtifactSignatureInvalid(`the signature in ${where} does not verify with the certificate of ${certificate.identity}: the statement or the signature was changed after signing`, { bundle: where, key: certificate.identity });
  }
  return { payload, signer, keyHint: keyHint(certificate.key) };
}

function verifyWithKey(bundle: SignatureBundle, trust: Trust, where: string): Omit<VerifiedSignature, 'manifest'> & { payload: Buffer } {
  const { payload, signature } = checkEnvelope(bundle, where);
  const trusted = trust.keys;
  const hint = bundle.verificationMaterial.publicKey?.hint ?? undefined;
  if (trusted.length === 0) {
    throw new ArtifactSignatureInvalid(`${where} is signed with a bare key${hint ? ` (${hint})` : ''}, and the policy trusts only certificates issued under ${trust.certificates?.roots.map((r) => r.name).join(', ')}`, { bundle: where, ...(hint ? { key: hint } : {}) });
  }
  const candidates = hint ? trusted.filter((t) => keyHint(t.key) === hint) : trusted;
  const names = trusted.map((t) => t.name).join(', ');
  if (candidates.length === 0) {
    throw new ArtifactSignatureInvalid(`${where} was signed by the key ${hint}, which is not among the keys the policy trusts (${names})`, { bundle: where, key: hint });
  }
  const signer = candidates.find((t) => verify(curveHash(t.key, `the key ${t.name}`), pae(payload), t.key, signature));
  if (!signer) {
    throw new ArtifactSignatureInvalid(
      `the signature in ${where} does not verify with ${hint ? `the key ${candidates[0]!.name}, whose hint it names` : `any trusted key (${names})`}: the statement or the signature was changed after signing`,
      { bundle: where, key: hint ? candidates[0]!.name : names },
    );
  }
  return { payload, signer: signer.name, keyHint: keyHint(signer.key) };
}

/**
 * Checks the bundle's signature against what the policy trusts and returns the manifest it
 * vouches for. A bundle naming a key, or carrying a certificate, that the policy does not trust,
 * or whose signature does not verify, is refused naming the signer it claims.
 */
export function verifyBundle(bundle: SignatureBundle, trust: Trust, where: string): VerifiedSignature {
  const { payload, ...signer } = bundle.verificationMaterial.x509CertificateChain ? verifyWithCertificate(bundle, trust, where) : verifyWithKey(bundle, trust, where);
  return { manifest: manifestOf(payload, where), ...signer };
}

function manifestOf(payload: Buffer, where: string): SignedManifest {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ArtifactSignatureInvalid(`the statement signed in ${where} is not JSON`, { bundle: where });
  }
  const parsed = statementSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ArtifactSignatureInvalid(`the statement signed in ${where} is not an in-toto model signature: ${issue.path.join('.')}: ${issue.message}`, { bundle: where });
  }
  const statement = parsed.data;
  if (statement.predicateType !== PREDICATE_TYPE) {
    const why = statement.predicateType === PREDICATE_TYPE_BEFORE_1_0 ? 'the format of model-signing before 1.0, which does not list every file; re-sign with 1.x' : `expected ${PREDICATE_TYPE}`;
    throw new ArtifactSignatureInvalid(`the statement signed in ${where} has predicate ${statement.predicateType}: ${why}`, { bundle: where });
  }
  const { method, hash_type: hashType, ignore_paths: ignorePaths } = statement.predicate.serialization;
  if (method !== 'files' || hashType !== 'sha256') {
    throw new ArtifactSignatureInvalid(`${where} serializes the model as ${method} with ${hashType}; cloudshift verifies whole files with sha256 (sign with model_signing's defaults)`, { bundle: where });
  }
  const files = statement.predicate.resources.map((r) => {
    if (r.algorithm !== 'sha256' || !/^[0-9a-f]{64}$/.test(r.digest) || !isArtifactName(r.name)) {
      throw new ArtifactSignatureInvalid(`${where} lists "${r.name}" with ${r.algorithm} digest ${r.digest.slice(0, 80)}; expected a relative path and a sha256 digest`, { bundle: where });
    }
    return { name: r.name, sha256: r.digest };
  });
  const subject = statement.subject[0]!;
  if (rootDigest(files) !== subject.digest.sha256) {
    throw new ArtifactSignatureInvalid(`the statement signed in ${where} is inconsistent: its files hash to ${rootDigest(files)}, its subject says ${subject.digest.sha256}`, { bundle: where });
  }
  if (new Set(files.map((f) => f.name)).size !== files.length) {
    throw new ArtifactSignatureInvalid(`the statement signed in ${where} lists a file twice`, { bundle: where });
  }
  return { modelName: subject.name, files, ignorePaths };
}
