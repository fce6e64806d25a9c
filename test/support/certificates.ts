/**
 * A small certificate authority for signing tests, made with the openssl command line at test
 * time (no key or certificate is kept in the repository): a root, an intermediate under it, and
 * signing certificates with whatever extensions a case needs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  key: string;
  certificate: string;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

function newKey(path: string, curve = 'P-256'): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`, '-out', path]);
  return path;
}

export class TestAuthority {
  readonly root: Issued;

  constructor(private readonly dir: string, name = 'Test Root') {
    mkdirSync(dir, { recursive: true });
    const slug = name.toLowerCase().replace(/\W+/g, '-');
    const key = newKey(join(dir, `${slug}.key`));
    const certificate = join(dir, `${slug}.crt`);
    openssl(['req', '-x509', '-new', '-key', key, '-subj', `/CN=${name}`, '-days', '3650', '-out', certificate,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    this.root = { key, certificate };
  }

  /** A certificate under `issuer` (the root unless given); `extensions` are openssl x509v3 lines. */
  issue(name: string, extensions: string[], issuer: Issued = this.root, days = 365): Issued {
    const slug = name.toLowerCase().replace(/\W+/g, '-');
    const key = newKey(join(this.dir, `${slug}.key`));
    const request = join(this.dir, `${slug}.csr`);
    const extfile = join(this.dir, `${slug}.ext`);
    const certificate = join(this.dir, `${slug}.crt`);
    writeFileSync(extfile, `${extensions.join('\n')}\n`);
    openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', request]);
    openssl(['x509', '-req', '-in', request, '-CA', issuer.certificate, '-CAkey', issuer.key, '-set_serial', String(Date.now()), '-days', String(days), '-extfile', extfile, '-out', certificate]);
    return { key, certificate };
  }

  intermediate(name = 'Test Intermediate'): Issued {
    return this.issue(name, ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']);
  }

  /** A certificate meant for signing models, for an email identity. */
  signer(email: string, issuer: Issued = this.root, extensions = ['keyUsage=critical,digitalSignature']): Issued {
    return this.issue(email, ['basicConstraints=CA:FALSE', ...extensions, `subjectAltName=email:${email}`], issuer);
  }
}
