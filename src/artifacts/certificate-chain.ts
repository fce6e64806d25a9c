/**
 * Certificate mode of model signing: the bundle carries the signing certificate and the chain
 * above it, and a verifier trusts roots (its own CA, say) rather than each signer's key. Checked
 * as model-signing checks it — the chain must lead to a trusted root, valid at the time the
 * signing certificate was issued, and the certificate must be meant for signing — plus, where the
 * policy names them, the signer's identity (a subject alternative name or the common name).
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { ArtifactSignatureInvalid } from './signature-errors.js';

export interface TrustedRoot {
  /** The reference the policy names (`<keys folder>/<name>.crt`). */
  name: string;
  certificate: X509Certificate;
}

export interface CertificateTrust {
  roots: TrustedRoot[];
  /** Accepted signer identities; empty accepts any certificate the roots issued. */
  identities: string[];
}

export interface VerifiedCertificate {
  key: KeyObject;
  /** The identity that matched the policy, or the certificate's first identity when none is asked for. */
  identity: string;
  root: string;
  fingerprint: string;
}

const MAX_CHAIN = 8;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text (a bundle of roots, or a signing certificate and its chain). */
export function readCertificates(pem: string, where: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new ArtifactSignatureInvalid(`${where} holds no PEM certificate`, { file: where });
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new ArtifactSignatureInvalid(`certificate ${i + 1} in ${where} does not parse: ${(error as Error).message}`, { file: where });
    }
  });
}

/** The identities a certificate names: its subject alternative names' values, then its common name. */
export function certificateIdentities(certificate: X509Certificate): string[] {
  const names: string[] = [];
  for (const match of (certificate.subjectAltName ?? '').matchAll(/(?:DNS|email|URI|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const value = match[1]!;
    names.push(value.startsWith('"') ? (JSON.parse(value) as string) : value);
  }
  const commonName = /^CN=(.*)$/m.exec(certificate.subject)?.[1];
  if (commonName) names.push(commonName);
  return names;
}

interface Der {
  tag: number;
  start: number;
  end: number;
}

function derAt(bytes: Buffer, offset: number, limit: number): Der {
  if (offset + 2 > limit) throw new Error('truncated');
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets < 1 || octets > 4) throw new Error('bad length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + bytes[start++]!;
  }
  if (start + length > limit) throw new Error('truncated');
  return { tag: bytes[offset]!, start, end: start + length };
}

function derChildren(bytes: Buffer, parent: Der): Der[] {
  const out: Der[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = derAt(bytes, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

const KEY_USAGE_OID = Buffer.from([0x55, 0x1d, 0x0f]);
const CODE_SIGNING_OID = '1.3.6.1.5.5.7.3.3';

/**
 * The KeyUsage extension's digitalSignature bit, read from the DER (Node reports only the extended
 * key usage). undefined when the certificate has no KeyUsage.
 */
function digitalSignatureBit(certificate: X509Certificate): boolean | undefined {
  const der = certificate.raw;
  const tbs = derChildren(der, derAt(der, 0, der.length))[0]!;
  const extensions = derChildren(der, tbs).find((field) => field.tag === 0xa3);
  if (!extensions) return undefined;
  for (const extension of derChildren(der, derChildren(der, extensions)[0]!)) {
    const [oid, ...rest] = derChildren(der, extension);
    if (!oid || !der.subarray(oid.start, oid.end).equals(KEY_USAGE_OID)) continue;
    const value = rest.at(-1)!;
    const bits = derAt(der, value.start, value.end);
    return bits.end - bits.start >= 2 && (der[bits.start + 1]! & 0x80) !== 0;
  }
  return undefined;
}

function canSign(certificate: X509Certificate): boolean {
  if (digitalSignatureBit(certificate)) return true;
  return (certificate.keyUsage ?? []).includes(CODE_SIGNING_OID);
}

const validAt = (certificate: X509Certificate, time: Date) => new Date(certificate.validFrom) <= time && time <= new Date(certificate.validTo);
const issuedBy = (child: X509Certificate, issuer: X509Certificate) => child.checkIssued(issuer) && child.verify(issuer.publicKey);

function subjectOf(certificate: X509Certificate): string {
  return certificateIdentities(certificate)[0] ?? certificate.subject.replace(/\n/g, ', ');
}

/**
 * Checks a bundle's certificate chain (DER, signing certificate first) against the trusted roots
 * and identities; returns the signing certificate's key. Refusals name the certificate and why.
 */
export function verifyCertificateChain(chainDer: Buffer[], trust: CertificateTrust, where: string): VerifiedCertificate {
  const refuse = (message: string, signer?: string): never => {
    throw new ArtifactSignatureInvalid(`${where}: ${message}`, { bundle: where, ...(signer ? { key: signer } : {}) });
  };
  if (chainDer.length === 0 || chainDer.length > MAX_CHAIN) refuse(`carries ${chainDer.length} certificates; expected the signing certificate and at most ${MAX_CHAIN - 1} above it`);
  const chain = chainDer.map((der, i) => {
    try {
      return new X509Certificate(der);
    } catch (error) {
      return refuse(`certificate ${i + 1} of its chain does not parse (${(error as Error).message})`);
    }
  });
  const leaf = chain[0]!;
  const signer = subjectOf(leaf);
  // As model-signing: the chain is judged at the time the signing certificate was issued.
  const signedAt = new Date(leaf.validFrom);
  const roots = trust.roots.map((r) => r.name).join(', ') || 'none';

  let root: TrustedRoot | undefined;
  let current = leaf;
  const intermediates = chain.slice(1);
  for (let depth = 0; depth < MAX_CHAIN && !root; depth++) {
    if (!validAt(current, signedAt)) refuse(`the certificate ${subjectOf(current)} was not valid at ${signedAt.toISOString()} (valid ${current.validFrom} to ${current.validTo})`, signer);
    root = trust.roots.find((r) => r.certificate.fingerprint256 === current.fingerprint256 || (issuedBy(current, r.certificate) && validAt(r.certificate, signedAt)));
    if (root) break;
    const next = intermediates.find((c) => c.ca && c !== current && issuedBy(current, c));
    if (!next) refuse(`the signing certificate ${signer} does not chain to a trusted root (${roots}): ${subjectOf(current)} was issued by ${current.issuer.replace(/\n/g, ', ')}, which is neither in the bundle's chain nor trusted`, signer);
    current = next!;
  }
  if (!root) return refuse(`the certificate chain of ${signer} is longer than ${MAX_CHAIN}`, signer);
  if (!canSign(leaf)) refuse(`the certificate ${signer} is not meant for signing (neither KeyUsage digitalSignature nor ExtendedKeyUsage codeSigning)`, signer);

  const identities = certificateIdentities(leaf);
  const identity = trust.identities.length === 0 ? signer : identities.find((id) => trust.identities.includes(id));
  if (!identity) {
    refuse(`the certificate of ${identities.join(', ') || leaf.subject} was issued under ${root.name}, but names none of the identities the policy accepts (${trust.identities.join(', ')})`, signer);
  }
  return { key: leaf.publicKey, identity: identity!, root: root.name, fingerprint: leaf.fingerprint256 };
}
