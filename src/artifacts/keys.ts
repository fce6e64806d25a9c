/**
 * Signing keys by reference. A spec names keys ("release-2026"); the worker resolves each name in
 * its own keys folder (CLOUDSHIFT_KEYS_DIR), as it resolves connection profiles: no key, private
 * or public, is ever in a spec, an input or a history.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NonRetryableError } from '../errors.js';
import { readCertificates, type TrustedRoot } from './certificate-chain.js';
import type { Trust, TrustedKey } from './signature-bundle.js';

export const KEY_REFERENCE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const publicKeyFile = (dir: string, name: string) => join(dir, `${name}.pub`);
export const privateKeyFile = (dir: string, name: string) => join(dir, `${name}.pem`);

interface PemFile {
  /** What a missing file should be. */
  expected: string;
  /** Why the text is not one, from the parser's error. */
  notParsed: (error: Error) => string;
}

/** Reads a PEM file the worker or a user named; a missing or unreadable one is an UnknownKey naming it. */
function readPem<T>(path: string, what: string, parse: (pem: string) => T, file: PemFile): T {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch {
    throw new NonRetryableError('UnknownKey', `${what}: no file ${path}; put ${file.expected} there (the worker's keys folder is CLOUDSHIFT_KEYS_DIR)`, { file: path });
  }
  try {
    return parse(pem);
  } catch (error) {
    throw new NonRetryableError('UnknownKey', `${what}: ${file.notParsed(error as Error)}`, { file: path });
  }
}

const readKey = (path: string, what: string, parse: (pem: string) => KeyObject): KeyObject =>
  readPem(path, what, parse, { expected: 'the PEM', notParsed: (error) => `${path} is not a PEM key (${error.message})` });

export const rootCertificateFile = (dir: string, name: string) => join(dir, `${name}.crt`);

function checkReference(name: string): string {
  if (!KEY_REFERENCE.test(name)) throw new NonRetryableError('UnknownKey', `the key reference "${name.slice(0, 80)}" is not a name (expected 1-63 lowercase letters, digits, dots, hyphens or underscores)`);
  return name;
}

/** The public keys a policy trusts, from the worker's keys folder. */
export function trustedKeys(dir: string, names: readonly string[]): TrustedKey[] {
  return names.map((name) => ({ name, key: readKey(publicKeyFile(dir, checkReference(name)), `the trusted key "${name}"`, (pem) => createPublicKey(pem)) }));
}

/** The root certificates a policy trusts (a file may hold several), from the worker's keys folder. */
export function trustedRoots(dir: string, names: readonly string[]): TrustedRoot[] {
  return names.flatMap((name) => rootsAt(rootCertificateFile(dir, checkReference(name)), name));
}

/** Root certificates from a PEM file given on the command line, or one the keys folder holds. */
export function rootsAt(path: string, name = path): TrustedRoot[] {
  return readPem(path, `the trusted root "${name}"`, (pem) => readCertificates(pem, path).map((certificate) => ({ name, certificate })), {
    expected: 'the PEM certificate',
    notParsed: (error) => error.message,
  });
}

export interface TrustPolicy {
  keys?: readonly string[] | undefined;
  certificates?: { roots: readonly string[]; identities?: readonly string[] | undefined } | undefined;
}

/** Everything a spec's policy trusts, resolved in the worker's keys folder. */
export function trustFor(dir: string, policy: TrustPolicy): Trust {
  const certificates = policy.certificates;
  return {
    keys: trustedKeys(dir, policy.keys ?? []),
    ...(certificates ? { certificates: { roots: trustedRoots(dir, certificates.roots), identities: [...(certificates.identities ?? [])] } } : {}),
  };
}

/** The policy in words, for a message: whose signature it accepts. */
export function describeTrust(policy: TrustPolicy): string {
  const parts = [];
  if (policy.keys?.length) parts.push(`keys ${policy.keys.join(', ')}`);
  if (policy.certificates) {
    const who = policy.certificates.identities?.length ? ` for ${policy.certificates.identities.join(', ')}` : '';
    parts.push(`certificates under ${policy.certificates.roots.join(', ')}${who}`);
  }
  return parts.join('; ');
}

/** A public or private key file given on the command line. */
export const publicKeyAt = (path: string): KeyObject => readKey(path, 'the public key', (pem) => createPublicKey(pem));
export const privateKeyAt = (path: string): KeyObject => readKey(path, 'the private key', (pem) => createPrivateKey(pem));

/**
 * A new P-256 key pair under `name` in the folder (the private key readable by its owner only).
 * Refuses to overwrite: a replaced key would orphan every signature made with the old one.
 */
export function generateKeyPair(dir: string, name: string): { privateKey: string; publicKey: string } {
  if (!KEY_REFERENCE.test(name)) throw new NonRetryableError('UnknownKey', `"${name.slice(0, 80)}" is not a key name (expected 1-63 lowercase letters, digits, dots, hyphens or underscores)`);
  const files = { privateKey: privateKeyFile(dir, name), publicKey: publicKeyFile(dir, name) };
  if (existsSync(files.privateKey) || existsSync(files.publicKey)) throw new NonRetryableError('UnknownKey', `a key named "${name}" is already in ${dir}; choose another name`);
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(files.privateKey, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(files.publicKey, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  return files;
}
