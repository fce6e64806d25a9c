/**
 * Connection profiles: how a worker reaches each cloud. A spec names a profile; the worker that
 * runs the activity resolves it here, with credentials from its own environment (the SDKs'
 * default chains, or a credentials file or variable the profile points to). No credential ever
 * appears in a profile file either: only where to find one.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';
import type { StorageLocation } from '../spec.js';
import { AzureBlobStore } from './azure-store.js';
import { GcsStore } from './gcs-store.js';
import { LocalFsStore } from './local-store.js';
import type { MultipartOptions, ObjectStore } from './object-store.js';
import { S3Store } from './s3-store.js';
import { directoryIdentity, serviceOf, type StoreIdentity } from './store-identity.js';

const awsProfile = z.strictObject({
  cloud: z.literal('aws'),
  region: z.string().default('us-east-1'),
  /** An S3-compatible endpoint (MinIO, a VPC endpoint); absent means AWS itself. */
  endpoint: z.url().optional(),
  forcePathStyle: z.boolean().default(false),
  /** A JSON file of {accessKeyId, secretAccessKey}; absent means the SDK's default chain. */
  credentialsFile: z.string().optional(),
});
const gcpProfile = z.strictObject({
  cloud: z.literal('gcp'),
  projectId: z.string().optional(),
  /** An emulator's endpoint; absent means Google Cloud with Application Default Credentials. */
  apiEndpoint: z.url().optional(),
});
const azureProfile = z
  .strictObject({
    cloud: z.literal('azure'),
    /** Name of the environment variable that holds the storage connection string. */
    connectionStringEnv: z.string().optional(),
    /** Azurite with its published development account. */
    development: z.boolean().default(false),
    /** With development: where Azurite's blob service answers. @default http://127.0.0.1:10000/devstoreaccount1 */
    developmentEndpoint: z.url().optional(),
  })
  .refine((p) => p.development || p.connectionStringEnv, {
    error: 'an azure profile needs connectionStringEnv (the variable holding the connection string) or development: true',
  });
const onpremProfile = z.strictObject({
  cloud: z.literal('onprem'),
  /** Directory holding one sub-directory per bucket. */
  root: z.string().min(1),
});

export type AwsProfile = z.output<typeof awsProfile>;
export const profileSchema = z.discriminatedUnion('cloud', [awsProfile, gcpProfile, azureProfile, onpremProfile]);
export type Profile = z.output<typeof profileSchema>;
export const profilesFileSchema = z.strictObject({ profiles: z.record(z.string(), profileSchema) });

/** Profiles for the local stack that scripts/stack.sh starts. */
export function localStackProfiles(stateDir: string): Record<string, Profile> {
  return {
    'local-s3': {
      cloud: 'aws',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentialsFile: join(stateDir, 'minio-credentials.json'),
    },
    'local-gcs': { cloud: 'gcp', projectId: 'cloudshift-local', apiEndpoint: 'http://127.0.0.1:4443' },
    'local-azure': { cloud: 'azure', development: true },
    'local-fs': { cloud: 'onprem', root: join(stateDir, 'data', 'onprem') },
    // moto's server standing in for Route 53; it takes any credentials, these are not secrets.
    'local-route53': { cloud: 'aws', region: 'us-east-1', endpoint: 'http://127.0.0.1:5055', forcePathStyle: false, credentialsFile: join(stateDir, 'moto-credentials.json') },
  };
}

export function loadProfilesFile(path: string): Record<string, Profile> {
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch {
    // Not the parser's message: it quotes the text near the error.
    throw new Error(`Invalid profiles file ${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}`);
  }
  const parsed = profilesFileSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid profiles file ${path}:\n${problems}`);
  }
  return parsed.data.profiles;
}

export class UnknownProfileError extends NonRetryableError {
  constructor(message: string) {
    super('UnknownProfile', message);
  }
}

/** Builds stores for locations, reusing one SDK client per profile. */
export class StoreResolver {
  private readonly clients = new Map<string, unknown>();

  constructor(
    private readonly profiles: Readonly<Record<string, Profile>>,
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
  ) {}

  profileNames(): string[] {
    return Object.keys(this.profiles);
  }

  /** The profile a location names, where this worker knows it (no credential: only where to find one). */
  profileOf(location: Pick<StorageLocation, 'profile' | 'cloud'>): Profile | undefined {
    const profile = this.profiles[location.profile];
    return profile?.cloud === location.cloud ? profile : undefined;
  }

  /** An aws profile by name, for a service other than S3 (Route 53). */
  awsProfile(name: string): AwsProfile {
    const profile = this.profiles[name];
    if (!profile) throw new UnknownProfileError(`profile "${name}" is not known to this worker (known: ${this.profileNames().join(', ') || 'none'}); add it to the file CLOUDSHIFT_PROFILES names`);
    if (profile.cloud !== 'aws') throw new UnknownProfileError(`profile "${name}" is for ${profile.cloud}; Route 53 needs an aws profile`);
    return profile;
  }

  store(location: Pick<StorageLocation, 'cloud' | 'profile' | 'bucket'>, multipart?: MultipartOptions): ObjectStore {
    const profile = this.profiles[location.profile];
    if (!profile) {
      throw new UnknownProfileError(
        `profile "${location.profile}" is not known to this worker (known: ${this.profileNames().join(', ') || 'none'}); add it to the file CLOUDSHIFT_PROFILES names`,
      );
    }
    if (profile.cloud !== location.cloud) {
      throw new UnknownProfileError(`profile "${location.profile}" is for ${profile.cloud}, but the spec says ${location.cloud}`);
    }
    switch (profile.cloud) {
      case 'aws':
        return new S3Store(this.client(location.profile, () => s3Client(profile)), location.bucket, multipart);
      case 'gcp':
        return new GcsStore(this.client(location.profile, () => gcsClient(profile)), location.bucket, multipart);
      case 'azure':
        return new AzureBlobStore(
          this.client(location.profile, () => azureClient(profile, this.env)).getContainerClient(location.bucket),
          multipart,
        );
      case 'onprem':
        return new LocalFsStore(profile.root, location.bucket);
    }
  }

  /** The blob service URL an Azure profile's credential reaches (the SDK's reading), or undefined for another cloud. */
  azureServiceUrl(profileName: string): string | undefined {
    const profile = this.profiles[profileName];
    if (profile?.cloud !== 'azure') return undefined;
    return this.client(profileName, () => azureClient(profile, this.env)).url.split('?')[0];
  }

  /**
   * Where a location really is, whatever the profile is called or how it is spelt: the service
   * (the host an endpoint resolves to, the Azure account the credential reaches) and the path in
   * it (on-prem, the real directory with its device and inode). `identityOverlap` compares two.
   */
  async identity(location: Pick<StorageLocation, 'cloud' | 'profile' | 'bucket' | 'prefix'>): Promise<StoreIdentity> {
    const profile = this.profiles[location.profile];
    const folder = location.prefix === '' || location.prefix.endsWith('/') ? location.prefix : `${location.prefix}/`;
    const path = `${location.bucket}/${folder}`;
    if (!profile || profile.cloud !== location.cloud) {
      return { service: { cloud: location.cloud, host: `profile:${location.profile}`, addresses: [], account: '', publicService: false }, path };
    }
    switch (profile.cloud) {
      case 'aws':
        return { service: await serviceOf('aws', profile.endpoint, 'amazonaws.com'), path };
      case 'gcp':
        return { service: await serviceOf('gcp', profile.apiEndpoint, 'storage.googleapis.com'), path };
      case 'azure': {
        // The SDK's own reading of the credential: the account and endpoint it really reaches,
        // whether the profile is the development one, a connection string with an account key,
        // or a SAS form that names only the endpoint.
        const client = this.client(location.profile, () => azureClient(profile, this.env));
        return { service: await serviceOf('azure', client.url, '', client.accountName), path };
      }
      case 'onprem':
        return { service: { cloud: 'onprem', host: 'this machine', addresses: [], account: '', publicService: false }, ...(await directoryIdentity(profile.root, location.bucket, location.prefix)) };
    }
  }

  private client<T>(name: string, create: () => T): T {
    if (!this.clients.has(name)) this.clients.set(name, create());
    return this.clients.get(name) as T;
  }
}

const credentialsFileSchema = z.object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().min(1).optional() });

/**
 * The credentials a profile's file holds. Every failure names the file and what is wrong with it,
 * never its content: JSON.parse's own message quotes the text near the error, which put the
 * start of a secret into activity failures and logs.
 */
export function readCredentialsFile(path: string): z.output<typeof credentialsFileSchema> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UnknownProfileError(`the credentials file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); fix the path the profile names`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UnknownProfileError(`the credentials file ${path} is not valid JSON; it must hold {"accessKeyId": …, "secretAccessKey": …}`);
  }
  const parsed = credentialsFileSchema.safeParse(value);
  if (!parsed.success) {
    throw new UnknownProfileError(`the credentials file ${path} lacks ${parsed.error.issues.map((i) => i.path.join('.') || 'an object').join(', ')}; it must hold {"accessKeyId": …, "secretAccessKey": …}`);
  }
  return parsed.data;
}

export function s3Client(profile: z.output<typeof awsProfile>): S3Client {
  const credentials = profile.credentialsFile ? readCredentialsFile(profile.credentialsFile) : undefined;
  return new S3Client({
    region: profile.region,
    endpoint: profile.endpoint,
    forcePathStyle: profile.forcePathStyle,
    credentials,
    // We compute and verify MD5s ourselves (Content-MD5 per request, ETag after); the SDK's
    // default extra CRC32 on every request would hash every byte a second time.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Temporal retries the activity with its own policy; a short SDK retry absorbs blips.
    maxAttempts: 3,
  });
}

function gcsClient(profile: z.output<typeof gcpProfile>): Storage {
  // Temporal owns retries (with the activity's backoff and visibility); the SDK's own would
  // stack minutes of hidden waiting under each attempt.
  return new Storage({
    projectId: profile.projectId,
    apiEndpoint: profile.apiEndpoint,
    retryOptions: { maxRetries: 2, totalTimeout: 60 },
  });
}

function azureClient(profile: z.output<typeof azureProfile>, env: Readonly<Record<string, string | undefined>>): BlobServiceClient {
  // As for GCS: a short SDK retry for blips, Temporal for the rest.
  const options = { retryOptions: { maxTries: 2, retryDelayInMs: 500 } };
  if (profile.development) {
    // The SDK knows Azurite's published account; reuse its credential at another address
    // (another container, in docker-compose) rather than writing the account key down here.
    const local = BlobServiceClient.fromConnectionString('UseDevelopmentStorage=true', options);
    return profile.developmentEndpoint ? new BlobServiceClient(profile.developmentEndpoint, local.credential, options) : local;
  }
  const connectionString = env[profile.connectionStringEnv!];
  if (!connectionString) {
    throw new UnknownProfileError(`the environment variable ${profile.connectionStringEnv} that the azure profile names is not set on this worker`);
  }
  try {
    return BlobServiceClient.fromConnectionString(connectionString, options);
  } catch {
    // The SDK's message may quote the string, account key and all: say which variable, not what it holds.
    throw new UnknownProfileError(`the environment variable ${profile.connectionStringEnv} does not hold a valid Azure Storage connection string (expected DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…, or a SAS form)`);
  }
}
