/**
 * What a location really is, proven from the worker's side rather than read off its profile's
 * name: the host an endpoint resolves to, the Azure account a credential reaches (whatever form
 * the profile takes), the real directory of an on-prem root (symlinks resolved, and the device and
 * inode of every folder above it, so a bind mount or a second spelling is found too).
 *
 * Two locations that are one place lost source data twice: an Azure development profile and a
 * connection string for the same account, and an on-prem root reached through a symlink, were
 * taken for two stores; the copy rewrote the source in place and the clean-up deleted it.
 */
import { lookup } from 'node:dns/promises';
import { realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath, sep } from 'node:path';

export interface ServiceIdentity {
  cloud: string;
  /** The endpoint's host as spelt (lowercase; localhost is the loopback) and port, or the cloud itself. */
  host: string;
  /** The addresses the host resolves to; a loopback address as `loopback`. Empty where it did not resolve. */
  addresses: string[];
  /** Azure's account name (account names are the store there); '' elsewhere. */
  account: string;
  /** Whether the host is the cloud's own public service, where names are global. */
  publicService: boolean;
}

export interface StoreIdentity {
  service: ServiceIdentity;
  /** `bucket/prefix-folder/`, or the real directory on-prem (ends with '/'). */
  path: string;
  /** On-prem only: `dev:ino` of the location's own folder, where it exists yet. */
  folder?: string;
  /** On-prem only: `dev:ino` of every existing folder above the location. */
  above?: string[];
}

const isLoopback = (address: string) => address === '::1' || address.startsWith('127.') || address === '0.0.0.0' || address === '::' || address.startsWith('::ffff:127.');

/** An endpoint's host and port, resolved; undefined URL means the cloud's own service. */
export async function serviceOf(cloud: string, url: string | undefined, defaultHost: string, account = ''): Promise<ServiceIdentity> {
  if (!url) return { cloud, host: defaultHost, addresses: [], account, publicService: true };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { cloud, host: url.toLowerCase(), addresses: [], account, publicService: false };
  }
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  let addresses: string[] = [];
  try {
    addresses = (await lookup(hostname, { all: true })).map((a) => (isLoopback(a.address) ? 'loopback' : a.address));
  } catch {
    // Unresolvable here: compared by name alone.
  }
  const host = `${hostname === 'localhost' || isLoopback(hostname) ? 'loopback' : hostname}:${port}`;
  return { cloud, host, addresses: [...new Set(addresses)].map((a) => `${a}:${port}`).sort(), account, publicService: isPublicHost(cloud, hostname) };
}

const PUBLIC_SUFFIXES: Record<string, readonly string[]> = {
  aws: ['amazonaws.com', 'amazonaws.com.cn'],
  gcp: ['googleapis.com'],
  azure: ['.core.windows.net', '.core.chinacloudapi.cn', '.core.usgovcloudapi.net'],
};
const isPublicHost = (cloud: string, hostname: string) => (PUBLIC_SUFFIXES[cloud] ?? []).some((suffix) => hostname === suffix || hostname.endsWith(suffix.startsWith('.') ? suffix : `.${suffix}`));

/**
 * Whether two services are one. Same cloud, and: Azure, the same account on the public service or
 * on one host; elsewhere the same host, or hosts sharing an address and port. Where in doubt it
 * answers yes: a false "same" refuses a migration, a false "apart" can delete its source.
 */
export function sameService(a: ServiceIdentity, b: ServiceIdentity): boolean {
  if (a.cloud !== b.cloud) return false;
  const sameHost = a.host === b.host || a.addresses.some((x) => b.addresses.includes(x));
  if (a.cloud === 'azure') return a.account.toLowerCase() === b.account.toLowerCase() && (sameHost || (a.publicService && b.publicService));
  return sameHost || (a.publicService && b.publicService);
}

const asFolder = (p: string) => (p === '' || p.endsWith('/') ? p : `${p}/`);

/**
 * An on-prem location's real folder: symlinks resolved as far as the path exists (the rest, not
 * created yet, appended as spelt), and the device and inode of that folder and each above it.
 */
export async function directoryIdentity(root: string, bucket: string, prefix: string): Promise<Pick<StoreIdentity, 'path' | 'folder' | 'above'>> {
  const wanted = resolvePath(root, bucket, asFolder(prefix).replace(/\/+$/, '') || '.');
  let existing = wanted;
  const rest: string[] = [];
  for (;;) {
    try {
      existing = await realpath(existing);
      break;
    } catch {
      const parent = dirname(existing);
      if (parent === existing) break;
      rest.unshift(existing.slice(parent.length).replace(/^[/\\]+/, ''));
      existing = parent;
    }
  }
  const folders: string[] = [];
  for (let dir = existing; ; dir = dirname(dir)) {
    try {
      const s = await stat(dir);
      folders.push(`${s.dev}:${s.ino}`);
    } catch {
      // A folder we cannot stat is compared by its path alone.
    }
    if (dirname(dir) === dir) break;
  }
  const path = rest.length ? join(existing, ...rest) : existing;
  const [own, ...above] = folders;
  // A folder not created yet has no inode; the nearest one that exists is above it.
  return { path: `${path.split(sep).join('/').replace(/\/+$/, '')}/`, ...(rest.length ? { above: folders } : { folder: own, above }) };
}

/**
 * How the target stands to the source, or undefined when they are apart: one place, inside it, or
 * holding it. On-prem, a folder whose device and inode appear above the other's is holding it,
 * whatever either path says (a bind mount, a second mount of one file system).
 */
export function identityOverlap(source: StoreIdentity, target: StoreIdentity): 'same' | 'inside' | 'holds' | undefined {
  if (!sameService(source.service, target.service)) return undefined;
  if (source.path === target.path) return 'same';
  if (target.path.startsWith(source.path)) return 'inside';
  if (source.path.startsWith(target.path)) return 'holds';
  if (source.folder !== undefined && source.folder === target.folder) return 'same';
  if (source.folder !== undefined && target.above?.includes(source.folder)) return 'inside';
  if (target.folder !== undefined && source.above?.includes(target.folder)) return 'holds';
  return undefined;
}
