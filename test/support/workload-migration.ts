/**
 * The spec of a migration with the shipped workload, S3 → GCS on the local stack: what the tests
 * that run whole migrations share. Each adds its canary and approvals.
 */
import { WORKLOAD_TOLERANCES, workloadSpec } from '../../src/dev/workload.js';

export function workloadMigration(name: string, bucket: string) {
  return {
    name,
    source: { cloud: 'aws', profile: 'local-s3', bucket, prefix: 'fraud/' },
    target: { cloud: 'gcp', profile: 'local-gcs', bucket: `${bucket}-t`, prefix: `${name}/` },
    workload: workloadSpec(),
    shadow: { tolerances: WORKLOAD_TOLERANCES },
    audit: { throughputMiBps: 50 },
  };
}
