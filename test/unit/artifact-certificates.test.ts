/**
 * Certificate mode: a bundle carrying the signing certificate and its chain, trusted through a
 * root rather than each key. Certificates are made by openssl at test time.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { certificateIdentities, readCertificates } from '../../src/artifacts/certificate-chain.js';
import { signFolder, verifyFolder } from '../../src/artifacts/folder-signing.js';
import { trustedRoots, trustFor } from '../../src/artifacts/keys.js';
import type { Trust } from '../../src/artifacts/signature-bundle.js';
import { type Issued, TestAuthority } from '../support/certificates.js';

let scratch: string;
let ca: TestAuthority;
let intermediate: Issued;
let release: Issued;
let model: string;

const certs = (...files: string[]) => files.map((f) => new X509Certificate(readFileSync(f)));
const keyOf = (issued: Issued) => createPrivateKey(readFileSync(issued.key));
const byRoot = (identities: string[] = [], authority = ca): Trust => ({
  keys: [],
  certificates: { roots: [{ name: 'corp-ca', certificate: certs(authority.root.certificate)[0]! }], identities },
});

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'certificates-'));
  ca = new TestAuthority(join(scratch, 'ca'));
  intermediate = ca.intermediate();
  release = ca.signer('ml-release@example.com', intermediate);
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeEach(() => {
  model = mkdtempSync(join(scratch, 'model-'));
  writeFileSync(join(model, 'model.onnx'), Buffer.from([1, 2, 3]));
  writeFileSync(join(model, 'preprocess.json'), '{"scale":[1]}');
});

describe('a bundle signed with a certificate', () => {
  it('verifies through the chain to a trusted root, naming the identity and the root', async () => {
    await signFolder(model, keyOf(release), undefined, certs(release.certificate, intermediate.certificate));
    const bundle = JSON.parse(readFileSync(join(model, 'model.sig'), 'utf8'));
    expect(bundle.verificationMaterial.publicKey).toBeUndefined();
    expect(bundle.verificationMaterial.x509CertificateChain.certificates).toHaveLength(2);
    const verified = await verifyFolder(model, byRoot(['ml-release@example.com']));
    expect(verified.signer).toBe('ml-release@example.com (certificate under corp-ca)');
    expect(verified.files.map((f) => f.name)).toEqual(['model.onnx', 'preprocess.json']);
    await expect(verifyFolder(model, byRoot())).resolves.toMatchObject({ signer: 'ml-release@example.com (certificate under corp-ca)' });
  });

  it('refuses another identity than the policy accepts, naming both', async () => {
    await signFolder(model, keyOf(release), undefined, certs(release.certificate, intermediate.certificate));
    await expect(verifyFolder(model, byRoot(['ops@example.com']))).rejects.toMatchObject({
      type: 'ArtifactSignatureInvalid',
      message: expect.stringMatching(/certificate of ml-release@example\.com, ml-release@example\.com was issued under corp-ca, but names none of the identities the policy accepts \(ops@example\.com\)/),
    });
  });

  it('refuses a certificate from another authority, and a chain missing its intermediate', async () => {
    const other = new TestAuthority(join(scratch, 'other'), 'Other Root');
    const stranger = other.signer('ml-release@example.com');
    await signFolder(model, keyOf(stranger), undefined, certs(stranger.certificate));
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ message: expect.stringMatching(/does not chain to a trusted root \(corp-ca\): .*issued by CN=Other Root/) });

    await signFolder(model, keyOf(release), undefined, certs(release.certificate));
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ message: expect.stringMatching(/issued by CN=Test Intermediate, which is neither in the bundle's chain nor trusted/) });
  });

  it('refuses a certificate not meant for signing, and accepts one for code signing', async () => {
    const encipher = ca.signer('enc@example.com', ca.root, ['keyUsage=critical,keyEncipherment']);
    await signFolder(model, keyOf(encipher), undefined, certs(encipher.certificate));
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ message: expect.stringContaining('is not meant for signing') });

    const codeSigning = ca.signer('ci@example.com', ca.root, ['extendedKeyUsage=codeSigning']);
    await signFolder(model, keyOf(codeSigning), undefined, certs(codeSigning.certificate));
    await expect(verifyFolder(model, byRoot(['ci@example.com']))).resolves.toMatchObject({ signer: 'ci@example.com (certificate under corp-ca)' });
  });

  it('refuses an intermediate that is not a CA as an issuer', async () => {
    const notCa = ca.signer('leaf-as-issuer@example.com');
    const underLeaf = ca.signer('child@example.com', notCa);
    await signFolder(model, keyOf(underLeaf), undefined, certs(underLeaf.certificate, notCa.certificate));
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ message: expect.stringContaining('does not chain to a trusted root') });
  });

  it('refuses a tampered file and a tampered statement as in key mode', async () => {
    await signFolder(model, keyOf(release), undefined, certs(release.certificate, intermediate.certificate));
    writeFileSync(join(model, 'preprocess.json'), '{"scale":[2]}');
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ type: 'ArtifactDigestMismatch', context: { file: 'preprocess.json' } });

    const bundlePath = join(model, 'model.sig');
    const bundle = JSON.parse(readFileSync(bundlePath, 'utf8'));
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    statement.subject[0].name = 'renamed';
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    writeFileSync(bundlePath, JSON.stringify(bundle));
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ message: expect.stringContaining('does not verify with the certificate of ml-release@example.com') });
  });

  it('refuses a certificate for another key than the one signing', async () => {
    const other = ca.signer('other@example.com');
    await expect(signFolder(model, keyOf(release), undefined, certs(other.certificate))).rejects.toThrow(/is for another key than the private key given/);
  });

  it('is refused by a policy that trusts keys only, and a key bundle by one that trusts roots only', async () => {
    await signFolder(model, keyOf(release), undefined, certs(release.certificate, intermediate.certificate));
    await expect(verifyFolder(model, { keys: [] })).rejects.toMatchObject({ message: expect.stringContaining('name the roots that issue your signing certificates') });
    await signFolder(model, keyOf(release));
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ message: expect.stringMatching(/signed with a bare key \([0-9a-f]{64}\), and the policy trusts only certificates issued under corp-ca/) });
  });

  it('refuses a keyless (Fulcio) bundle, saying what it would need', async () => {
    await signFolder(model, keyOf(release));
    const bundlePath = join(model, 'model.sig');
    const bundle = JSON.parse(readFileSync(bundlePath, 'utf8'));
    bundle.verificationMaterial = { certificate: { rawBytes: readCertificates(readFileSync(release.certificate, 'utf8'), 'x')[0]!.raw.toString('base64') }, tlogEntries: [{}] };
    writeFileSync(bundlePath, JSON.stringify(bundle));
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ message: expect.stringContaining('keyless Sigstore bundle') });
  });

  it('refuses a chain that does not parse or is too long', async () => {
    await signFolder(model, keyOf(release), undefined, certs(release.certificate, intermediate.certificate));
    const bundlePath = join(model, 'model.sig');
    const bundle = JSON.parse(readFileSync(bundlePath, 'utf8'));
    const chain = bundle.verificationMaterial.x509CertificateChain;
    writeFileSync(bundlePath, JSON.stringify({ ...bundle, verificationMaterial: { x509CertificateChain: { certificates: [{ rawBytes: 'AAEC' }] } } }));
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ message: expect.stringContaining('certificate 1 of its chain does not parse') });
    writeFileSync(bundlePath, JSON.stringify({ ...bundle, verificationMaterial: { x509CertificateChain: { certificates: Array(9).fill(chain.certificates[1]) } } }));
    await expect(verifyFolder(model, byRoot())).rejects.toMatchObject({ message: expect.stringContaining('is not a model-signing bundle') });
  });
});

describe('roots by reference', () => {
  it('reads every certificate of a .crt in the keys folder, and the policy in whole', () => {
    const keys = join(scratch, 'keys');
    mkdirSync(keys, { recursive: true });
    writeFileSync(join(keys, 'corp-ca.crt'), readFileSync(ca.root.certificate, 'utf8') + readFileSync(intermediate.certificate, 'utf8'));
    expect(trustedRoots(keys, ['corp-ca']).map((r) => r.name)).toEqual(['corp-ca', 'corp-ca']);
    expect(() => trustedRoots(keys, ['missing'])).toThrow(`no file ${join(keys, 'missing.crt')}`);
    writeFileSync(join(keys, 'junk.crt'), 'not a certificate');
    expect(() => trustedRoots(keys, ['junk'])).toThrow(/holds no PEM certificate/);
    const trust = trustFor(keys, { certificates: { roots: ['corp-ca'], identities: ['a@example.com'] } });
    expect(trust).toMatchObject({ keys: [], certificates: { identities: ['a@example.com'] } });
  });

  it('lists a certificate\'s identities: alternative names, then the common name', () => {
    expect(certificateIdentities(certs(release.certificate)[0]!)).toEqual(['ml-release@example.com', 'ml-release@example.com']);
    expect(certificateIdentities(certs(ca.root.certificate)[0]!)).toEqual(['Test Root']);
  });
});
