/**
 * Signing and verifying a model artifact: round trips, and every kind of tampering refused with
 * the file or the key named. (Interop with the model-signing tool itself is in
 * test/integration/artifact-signing.test.ts.)
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyFolder, signFolder } from '../../src/artifacts/folder-signing.js';
import { byPath, keyHint, readBundle, signManifest, signedManifest, verifyBundle } from '../../src/artifacts/signature-bundle.js';
import { isIgnored } from '../../src/artifacts/artifact-files.js';
import { generateKeyPair, trustedKeys } from '../../src/artifacts/keys.js';

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
let dir: string;
let key: { privateKey: KeyObject; publicKey: KeyObject };
const trusted = () => ({ keys: [{ name: 'release', key: key.publicKey }] });
const bundlePath = () => join(dir, 'model.sig');
const bundle = () => JSON.parse(readFileSync(bundlePath(), 'utf8'));
const writeBundle = (b: unknown) => writeFileSync(bundlePath(), JSON.stringify(b));
const payloadOf = (b: { dsseEnvelope: { payload: string } }) => JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'artifact-'));
  mkdirSync(join(dir, 'tokenizer'));
  writeFileSync(join(dir, 'model.onnx'), Buffer.from([0, 1, 2, 3, 4, 5]));
  writeFileSync(join(dir, 'preprocess.json'), '{"scale":[1,2,3]}');
  writeFileSync(join(dir, 'tokenizer', 'vocab.txt'), 'a\nb\n');
  key = p256();
  await signFolder(dir, key.privateKey);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('a signed artifact folder', () => {
  it('verifies as signed, listing every file (the bundle inside the folder is not one of them)', async () => {
    const verified = await verifyFolder(dir, trusted());
    expect(verified.signer).toBe('release');
    expect(verified.keyHint).toBe(keyHint(key.publicKey));
    expect(verified.files.map((f) => f.name)).toEqual(['model.onnx', 'preprocess.json', 'tokenizer/vocab.txt']);
    const b = bundle();
    expect(b.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(payloadOf(b).predicate.serialization.ignore_paths).toContain('model.sig');
  });

  it('refuses one byte of one file changed, naming the file', async () => {
    writeFileSync(join(dir, 'preprocess.json'), '{"scale":[1,2,4]}');
    await expect(verifyFolder(dir, trusted())).rejects.toMatchObject({ type: 'ArtifactDigestMismatch', message: expect.stringMatching(/changed: preprocess\.json \(SHA-256 [0-9a-f]{64}, signed [0-9a-f]{64}\)/), context: { file: 'preprocess.json' } });
  });

  it('refuses a missing file and an added one, naming them', async () => {
    rmSync(join(dir, 'tokenizer', 'vocab.txt'));
    await expect(verifyFolder(dir, trusted())).rejects.toMatchObject({ type: 'ArtifactDigestMismatch', message: expect.stringContaining('missing: tokenizer/vocab.txt') });
    writeFileSync(join(dir, 'tokenizer', 'vocab.txt'), 'a\nb\n');
    writeFileSync(join(dir, 'custom_op.so'), 'evil');
    await expect(verifyFolder(dir, trusted())).rejects.toMatchObject({ type: 'ArtifactDigestMismatch', message: expect.stringContaining('not signed: custom_op.so') });
  });

  it('ignores what signing ignored (a .git folder) but nothing else', async () => {
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref');
    await expect(verifyFolder(dir, trusted())).resolves.toMatchObject({ signer: 'release' });
    writeFileSync(join(dir, '.gitkeep'), '');
    await expect(verifyFolder(dir, trusted())).rejects.toMatchObject({ message: expect.stringContaining('not signed: .gitkeep') });
  });

  it('refuses a wrong key, naming the key the bundle claims', async () => {
    await expect(verifyFolder(dir, { keys: [{ name: 'other', key: p256().publicKey }] })).rejects.toMatchObject({
      type: 'ArtifactSignatureInvalid',
      message: expect.stringContaining(`signed by the key ${keyHint(key.publicKey)}, which is not among the keys the policy trusts (other)`),
    });
  });

  it('refuses a bundle without a hint when no trusted key verifies it', async () => {
    const b = bundle();
    delete b.verificationMaterial.publicKey.hint;
    writeBundle(b);
    await expect(verifyFolder(dir, trusted())).resolves.toMatchObject({ signer: 'release' });
    await expect(verifyFolder(dir, { keys: [{ name: 'other', key: p256().publicKey }] })).rejects.toMatchObject({ message: expect.stringContaining('does not verify with any trusted key (other)') });
  });

  it('refuses a statement changed after signing (a digest swapped in for a tampered file)', async () => {
    writeFileSync(join(dir, 'preprocess.json'), '{"scale":[9,9,9]}');
    const b = bundle();
    const statement = payloadOf(b);
    const tampered = (await signFolder(dir, p256().privateKey, join(tmpdir(), `scratch-${process.pid}.sig`))).find((f) => f.name === 'preprocess.json')!;
    statement.predicate.resources.find((r: { name: string }) => r.name === 'preprocess.json').digest = tampered.sha256;
    b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    writeBundle(b);
    await expect(verifyFolder(dir, trusted())).rejects.toMatchObject({ type: 'ArtifactSignatureInvalid', message: expect.stringContaining('does not verify with the key release') });
  });

  it('refuses a signature re-made by another key under the trusted key\'s hint', async () => {
    const b = bundle();
    const forged = signManifest(signedManifest('m', [{ name: 'model.onnx', sha256: '0'.repeat(64) }]), p256().privateKey);
    b.dsseEnvelope.signatures = forged.dsseEnvelope.signatures;
    writeBundle(b);
    await expect(verifyFolder(dir, trusted())).rejects.toMatchObject({ type: 'ArtifactSignatureInvalid' });
  });

  it('refuses what is not a bundle, saying what is wrong', async () => {
    for (const [text, why] of [
      ['not json', /is not JSON/],
      ['{}', /is not a model-signing bundle: mediaType/],
      [JSON.stringify({ ...bundle(), mediaType: 'application/x' }), /has media type application\/x/],
      [JSON.stringify({ ...bundle(), dsseEnvelope: { ...bundle().dsseEnvelope, signatures: [] } }), /signatures/],
      [JSON.stringify({ ...bundle(), dsseEnvelope: { ...bundle().dsseEnvelope, payloadType: 'text/plain' } }), /carries a text\/plain payload/],
    ] as const) {
      writeFileSync(bundlePath(), text);
      await expect(verifyFolder(dir, trusted()), text.slice(0, 20)).rejects.toMatchObject({ type: 'ArtifactSignatureInvalid', message: expect.stringMatching(why) });
    }
  });

  it('refuses a statement whose subject does not match its files, a shard serialization and the pre-1.0 predicate', () => {
    const signWith = (mutate: (s: Record<string, any>) => void) => {
      const b = signManifest(signedManifest('m', [{ name: 'a', sha256: 'a'.repeat(64) }]), key.privateKey);
      const statement = payloadOf(b);
      mutate(statement);
      // Re-signed honestly: only the statement's own consistency is under test.
      const payload = Buffer.from(JSON.stringify(statement));
      const pae = Buffer.concat([Buffer.from(`DSSEv1 28 application/vnd.in-toto+json ${payload.length} `), payload]);
      b.dsseEnvelope.payload = payload.toString('base64');
      b.dsseEnvelope.signatures = [{ sig: sign('sha256', pae, key.privateKey).toString('base64'), keyid: '' }];
      return () => verifyBundle(readBundle(JSON.stringify(b), 'b.sig'), trusted(), 'b.sig');
    };
    expect(signWith(() => {})()).toMatchObject({ signer: 'release' });
    expect(signWith((s) => (s.subject[0].digest.sha256 = 'f'.repeat(64)))).toThrow(/is inconsistent/);
    expect(signWith((s) => (s.predicate.serialization.method = 'shards'))).toThrow(/serializes the model as shards/);
    expect(signWith((s) => (s.predicateType = 'https://model_signing/Digests/v0.1'))).toThrow(/before 1.0/);
    expect(signWith((s) => (s.predicate.resources[0].name = '../etc/passwd'))).toThrow(/expected a relative path/);
  });

  it('refuses keys model-signing does not accept', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => signManifest(signedManifest('m', [{ name: 'a', sha256: 'a'.repeat(64) }]), rsa.privateKey)).toThrow(/a rsa key; model signatures use ECDSA/);
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    expect(() => signManifest(signedManifest('m', [{ name: 'a', sha256: 'a'.repeat(64) }]), k1.privateKey)).toThrow(/an EC key on secp256k1/);
  });
});

describe('the format\'s details', () => {
  it('orders files as Python orders paths: part by part, by code point', () => {
    expect(['a.b', 'a/b', 'B', 'a', 'é', 'z'].sort(byPath)).toEqual(['B', 'a', 'a/b', 'a.b', 'z', 'é']);
  });

  it('ignores a path and what lies under it, not a name that only begins the same', () => {
    expect(isIgnored('.git/HEAD', ['.git'])).toBe(true);
    expect(isIgnored('.git', ['.git'])).toBe(true);
    expect(isIgnored('.gitkeep', ['.git'])).toBe(false);
  });
});

describe('keys by reference', () => {
  it('resolves a name in the keys folder, refuses an unknown one naming the file, and never overwrites a key', () => {
    const keys = mkdtempSync(join(tmpdir(), 'keys-'));
    const files = generateKeyPair(keys, 'release-2026');
    expect(trustedKeys(keys, ['release-2026'])[0]!.name).toBe('release-2026');
    expect(() => trustedKeys(keys, ['missing'])).toThrow(`no file ${join(keys, 'missing.pub')}`);
    expect(() => trustedKeys(keys, ['../etc/passwd'])).toThrow(/is not a name/);
    expect(() => generateKeyPair(keys, 'release-2026')).toThrow(/already in/);
    expect(readFileSync(files.privateKey, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    rmSync(keys, { recursive: true, force: true });
  });
});
