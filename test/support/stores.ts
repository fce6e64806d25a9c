import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutBucketEncryptionCommand } from '@aws-sdk/client-s3';
import { localStackProfiles, type Profile, s3Client, StoreResolver } from '../../src/clouds/profiles.js';
import { LOCAL_S3_KMS_KEY_ID } from '../../src/dev/local-stack.js';
import { STATE_DIR } from '../../src/paths.js';
import type { Cloud } from '../../src/spec.js';

export const LOCAL_PROFILE: Record<Cloud, string> = {
  aws: 'local-s3',
  gcp: 'local-gcs',
  azure: 'local-azure',
  onprem: 'local-fs',
};

/** Profiles that point at the stack, plus broken ones for the error-mapping tests. */
export function testResolver(): StoreResolver {
  const badCredentialsFile = join(STATE_DIR, `wrong-credentials-${process.pid}.json`);
  // Made up per run: a key the emulator has never seen, so it must refuse it.
  writeFileSync(badCredentialsFile, JSON.stringify({ accessKeyId: 'nobody', secretAccessKey: randomBytes(18).toString('base64url') }));
  const wrongAzureKey = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${randomBytes(64).toString('base64')};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;
  const profiles: Record<string, Profile> = {
    ...localStackProfiles(STATE_DIR),
    'closed-s3': { cloud: 'aws', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, credentialsFile: badCredentialsFile },
    'closed-gcs': { cloud: 'gcp', projectId: 'p', apiEndpoint: 'http://127.0.0.1:1' },
    'closed-azure': { cloud: 'azure', connectionStringEnv: 'CLOSED_AZURE', development: false },
    'denied-s3': { ...(localStackProfiles(STATE_DIR)['local-s3'] as Profile & { cloud: 'aws' }), credentialsFile: badCredentialsFile },
    'denied-azure': { cloud: 'azure', connectionStringEnv: 'DENIED_AZURE', development: false },
  };
  return new StoreResolver(profiles, {
    CLOSED_AZURE: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=AAAA;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;',
    DENIED_AZURE: wrongAzureKey,
  });
}

/**
 * Makes a MinIO bucket encrypt every new object with SSE-KMS under the stack's own key, as many
 * AWS buckets do by default: its ETags are then no MD5s, single-part or multipart.
 */
export async function encryptByDefaultWithKms(bucket: string): Promise<void> {
  const client = s3Client(localStackProfiles(STATE_DIR)['local-s3'] as Profile & { cloud: 'aws' });
  await client
    .send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: LOCAL_S3_KMS_KEY_ID } }] },
      }),
    )
    .catch((error: unknown) => {
      throw new Error(`MinIO refused SSE-KMS for ${bucket} (${String(error)}): a MinIO started before the stack gave it a KMS key; restart it with bash scripts/stack.sh stop`);
    });
}
