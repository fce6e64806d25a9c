/**
 * Interop with the OpenSSF model-signing tool (PyPI model-signing, installed by scripts/install.sh):
 * it verifies what cloudshift signs, cloudshift verifies what it signs, and both refuse the same
 * tampering. Through the `cloudshift` CLI, as a user runs it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { STATE_DIR } from '../../src/paths.js';
import { cloudshiftWith } from '../support/cli.js';
import { type Issued, TestAuthority } from '../support/certificates.js';

const MODEL_SIGNING = join(STATE_DIR, 'model-signing', 'bin', 'model_signing');
let work: string;
let keys: string;
let model: string;
const cli = (...args: string[]) => cloudshiftWith({ CLOUDSHIFT_KEYS_DIR: keys }, ...args);

async function modelSigning(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(MODEL_SIGNING, args, { cwd: work });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

beforeAll(async () => {
  expect(existsSync(MODEL_SIGNING), `${MODEL_SIGNING}: run bash scripts/install.sh`).toBe(true);
  work = mkdtempSync(join(tmpdir(), 'signing-interop-'));
  keys = join(work, 'keys');
  expect((await cli('keygen', 'release')).code).toBe(0);
  expect((await cli('keygen', 'intruder')).code).toBe(0);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeEach(() => {
  model = join(work, `model-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(join(model, 'tokenizer'), { recursive: true });
  writeFileSync(join(model, 'model.onnx'), readFileSync(new URL('../../assets/breast-cancer.onnx', import.meta.url)));
  writeFileSync(join(model, 'preprocess.json'), JSON.stringify({ mean: [0.1, 0.2], scale: [1, 2] }));
  writeFileSync(join(model, 'tokenizer', 'config.json'), '{"lower": true}');
});

/** Each kind of tampering, done to a signed folder. */
const TAMPERING: [string, (dir: string) => void][] = [
  ['one byte of one file changed', (dir) => {
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[bytes.length >> 1]! ^= 1;
    writeFileSync(join(dir, 'model.onnx'), bytes);
  }],
  ['a file missing', (dir) => rmSync(join(dir, 'tokenizer', 'config.json'))],
  ['a file added', (dir) => writeFileSync(join(dir, 'tokenizer', 'extra.py'), 'import os')],
];

describe('cloudshift signs, model-signing verifies', () => {
  it('verifies a bundle cloudshift wrote, inside the folder and beside it', async () => {
    expect(await cli('sign', model, '--key', 'release')).toMatchObject({ code: 0, stdout: expect.stringContaining('signed 3 files') });
    expect(await modelSigning('verify', 'key', model, '--signature', join(model, 'model.sig'), '--public_key', join(keys, 'release.pub'))).toMatchObject({ code: 0, output: expect.stringContaining('Verification succeeded') });
    const beside = `${model}.sig`;
    expect((await cli('sign', model, '--private-key', join(keys, 'release.pem'), '--signature', beside)).code).toBe(0);
    expect((await modelSigning('verify', 'key', model, '--signature', beside, '--public_key', join(keys, 'release.pub'))).code).toBe(0);
  });

  it.each(TAMPERING)('both refuse %s after cloudshift signed', async (_label, tamper) => {
    expect((await cli('sign', model, '--key', 'release')).code).toBe(0);
    tamper(model);
    expect((await modelSigning('verify', 'key', model, '--signature', join(model, 'model.sig'), '--public_key', join(keys, 'release.pub'))).code).not.toBe(0);
    expect(await cli('verify', model, '--key', 'release')).toMatchObject({ code: 1, stderr: expect.stringContaining('refused (ArtifactDigestMismatch)') });
  });
});

describe('model-signing signs, cloudshift verifies', () => {
  const sign = async (signature: string) => {
    const signed = await modelSigning('sign', 'key', model, '--private_key', join(keys, 'release.pem'), '--signature', signature);
    expect(signed, signed.output).toMatchObject({ code: 0 });
  };

  it('verifies its bundle, beside the folder and inside it', async () => {
    await sign(`${model}.sig`);
    expect(await cli('verify', model, '--key', 'release', '--signature', `${model}.sig`, '--json')).toMatchObject({ code: 0, stdout: expect.stringContaining('"verified":true') });
    await sign(join(model, 'model.sig'));
    expect(await cli('verify', model, '--public-key', join(keys, 'release.pub'))).toMatchObject({ code: 0, stdout: expect.stringContaining('verified: 3 files') });
  });

  it.each(TAMPERING)('refuses %s, naming the file', async (_label, tamper) => {
    await sign(`${model}.sig`);
    tamper(model);
    const refused = await cli('verify', model, '--key', 'release', '--signature', `${model}.sig`);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/refused \(ArtifactDigestMismatch\).*(model\.onnx|tokenizer\/config\.json|tokenizer\/extra\.py)/) });
  });

  it('refuses a wrong key, naming the key it was signed with', async () => {
    await sign(`${model}.sig`);
    const refused = await cli('verify', model, '--key', 'intruder', '--signature', `${model}.sig`);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/refused \(ArtifactSignatureInvalid\): .*signed by the key [0-9a-f]{64}, which is not among the keys the policy trusts \(intruder\)/) });
  });

  it('answers usage errors with exit 2', async () => {
    expect((await cli('verify', model)).code).toBe(2);
    expect((await cli('verify', join(work, 'nowhere'), '--key', 'release')).code).toBe(2);
    expect((await cli('sign', model, '--key', 'nobody')).stderr).toContain('nobody.pem');
    expect((await cli('sign', model)).code).toBe(2);
  });
});

describe('certificate mode, both ways', () => {
  let ca: TestAuthority;
  let intermediate: Issued;
  let release: Issued;
  beforeAll(() => {
    ca = new TestAuthority(join(work, 'ca'), 'Corp Root');
    intermediate = ca.intermediate('Corp Signing CA');
    release = ca.signer('ml-release@example.com', intermediate);
    writeFileSync(join(keys, 'corp-ca.crt'), readFileSync(ca.root.certificate));
  });
  const modelSigningVerifies = (signature: string) =>
    modelSigning('verify', 'certificate', model, '--signature', signature, '--certificate_chain', ca.root.certificate);

  it('model-signing verifies what cloudshift signed with a certificate, and both refuse a changed file', async () => {
    const signed = await cli('sign', model, '--private-key', release.key, '--certificate', release.certificate, '--chain', intermediate.certificate);
    expect(signed).toMatchObject({ code: 0, stdout: expect.stringContaining('certificate CN=ml-release@example.com') });
    const verified = await modelSigningVerifies(join(model, 'model.sig'));
    expect(verified, verified.output).toMatchObject({ code: 0, output: expect.stringContaining('Verification succeeded') });
    expect(await cli('verify', model, '--root', 'corp-ca', '--identity', 'ml-release@example.com')).toMatchObject({ code: 0, stdout: expect.stringContaining('signed by ml-release@example.com (certificate under corp-ca)') });
    writeFileSync(join(model, 'preprocess.json'), '{}');
    expect((await modelSigningVerifies(join(model, 'model.sig'))).code).not.toBe(0);
    expect(await cli('verify', model, '--root', 'corp-ca')).toMatchObject({ code: 1, stderr: expect.stringContaining('changed: preprocess.json') });
  });

  it('cloudshift verifies what model-signing signed with a certificate, and refuses another identity or root', async () => {
    const signed = await modelSigning('sign', 'certificate', model, '--private_key', release.key, '--signing_certificate', release.certificate, '--certificate_chain', intermediate.certificate, '--signature', `${model}.sig`);
    expect(signed, signed.output).toMatchObject({ code: 0 });
    expect(await cli('verify', model, '--root-certificate', ca.root.certificate, '--identity', 'ml-release@example.com', '--signature', `${model}.sig`)).toMatchObject({ code: 0, stdout: expect.stringContaining('verified: 3 files') });
    expect(await cli('verify', model, '--root', 'corp-ca', '--identity', 'intruder@example.com', '--signature', `${model}.sig`)).toMatchObject({ code: 1, stderr: expect.stringContaining('names none of the identities the policy accepts (intruder@example.com)') });
    const other = new TestAuthority(join(work, 'other-ca'), 'Other Root');
    expect(await cli('verify', model, '--root-certificate', other.root.certificate, '--signature', `${model}.sig`)).toMatchObject({ code: 1, stderr: expect.stringContaining('does not chain to a trusted root') });
    expect(await cli('verify', model, '--key', 'release', '--signature', `${model}.sig`)).toMatchObject({ code: 1, stderr: expect.stringContaining('signed with a certificate, and the policy trusts only the keys release') });
    expect((await cli('verify', model, '--key', 'release', '--identity', 'x@example.com')).code).toBe(2);
    expect((await cli('sign', model, '--key', 'release', '--chain', intermediate.certificate)).code).toBe(2);
  });
});
