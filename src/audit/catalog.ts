/**
 * What each cloud's services become elsewhere. Keyed by the service names a deployment manifest
 * uses; `equivalents` names the counterpart on each other cloud. Classification:
 * - portable: runs anywhere as it is (Kubernetes, Prometheus, OCI images on a cluster);
 * - mapped: a managed counterpart exists and cloudshift or a routine re-deploy moves it;
 * - manual: a counterpart exists but a person must move it (data model, code, secrets, network).
 * Blocking is decided per dependency from its settings (see dependencies.ts).
 */
import type { Cloud, DependencyKind } from '../spec.js';

export type Classification = 'portable' | 'mapped' | 'manual' | 'blocking';

export interface CatalogEntry {
  cloud: Cloud;
  service: string;
  kind: DependencyKind;
  label: string;
  classification: Exclude<Classification, 'blocking'>;
  equivalents: Partial<Record<Cloud, string>>;
  note?: string;
}

const entry = (
  cloud: Cloud,
  service: string,
  kind: DependencyKind,
  label: string,
  classification: CatalogEntry['classification'],
  equivalents: CatalogEntry['equivalents'],
  note?: string,
): CatalogEntry => ({ cloud, service, kind, label, classification, equivalents, note });

const SECRETS_NOTE = 'secret values are re-created in the target by an operator; cloudshift never reads them';
const NOSQL_NOTE = 'different data model and API: needs an export/import and application changes';
const NETWORK_NOTE = 'address ranges, peering, private endpoints and firewall rules are designed anew on the target';

export const CATALOG: readonly CatalogEntry[] = [
  // AWS
  entry('aws', 'sagemaker-endpoint', 'mlService', 'SageMaker real-time endpoint', 'mapped', {
    gcp: 'Vertex AI endpoint (or a container on GKE)', azure: 'Azure ML managed online endpoint (or a container on AKS)', onprem: 'cloudshift inference server on Kubernetes',
  }),
  entry('aws', 's3', 'objectStorage', 'Amazon S3', 'mapped', { gcp: 'Cloud Storage', azure: 'Azure Blob Storage', onprem: 'filesystem or MinIO' }, 'data moved and verified by cloudshift copyData'),
  entry('aws', 'ecr', 'containerRegistry', 'Amazon ECR', 'mapped', { gcp: 'Artifact Registry', azure: 'Azure Container Registry', onprem: 'Harbor or any OCI registry' }, 'images re-pushed by digest'),
  entry('aws', 'sqs', 'queue', 'Amazon SQS', 'mapped', { gcp: 'Pub/Sub (pull subscription)', azure: 'Service Bus queue', onprem: 'RabbitMQ' }),
  entry('aws', 'sns', 'queue', 'Amazon SNS', 'mapped', { gcp: 'Pub/Sub topic', azure: 'Service Bus topic or Event Grid', onprem: 'Kafka or RabbitMQ exchange' }),
  entry('aws', 'rds-postgres', 'database', 'RDS for PostgreSQL', 'mapped', { gcp: 'Cloud SQL for PostgreSQL', azure: 'Azure Database for PostgreSQL flexible server', onprem: 'PostgreSQL' }),
  entry('aws', 'dynamodb', 'database', 'DynamoDB', 'manual', { gcp: 'Firestore or Bigtable', azure: 'Cosmos DB', onprem: 'ScyllaDB or Cassandra' }, NOSQL_NOTE),
  entry('aws', 'secrets-manager', 'secrets', 'Secrets Manager', 'manual', { gcp: 'Secret Manager', azure: 'Key Vault secrets', onprem: 'HashiCorp Vault' }, SECRETS_NOTE),
  entry('aws', 'kms', 'secrets', 'AWS KMS key', 'manual', { gcp: 'Cloud KMS', azure: 'Key Vault keys', onprem: 'Vault transit or an HSM' }, 'data encrypted under the key must be re-encrypted under a target key'),
  entry('aws', 'cloudwatch', 'monitoring', 'CloudWatch', 'mapped', { gcp: 'Cloud Monitoring or Prometheus', azure: 'Azure Monitor or Prometheus', onprem: 'Prometheus' }, 'dashboards and alarms are re-created'),
  entry('aws', 'vpc', 'network', 'Amazon VPC', 'manual', { gcp: 'VPC network', azure: 'Virtual Network', onprem: 'data-centre network' }, NETWORK_NOTE),
  entry('aws', 'route53', 'dns', 'Route 53', 'mapped', { gcp: 'Cloud DNS', azure: 'Azure DNS', onprem: 'your DNS servers' }),
  entry('aws', 'eks', 'compute', 'Amazon EKS', 'portable', { gcp: 'GKE', azure: 'AKS', onprem: 'Kubernetes' }),
  entry('aws', 'lambda', 'compute', 'AWS Lambda', 'manual', { gcp: 'Cloud Run functions', azure: 'Azure Functions', onprem: 'Knative or OpenFaaS' }, 'handler signatures and triggers differ'),
  // Google Cloud
  entry('gcp', 'vertex-ai-endpoint', 'mlService', 'Vertex AI endpoint', 'mapped', {
    aws: 'SageMaker real-time endpoint (or a container on EKS)', azure: 'Azure ML managed online endpoint (or a container on AKS)', onprem: 'cloudshift inference server on Kubernetes',
  }),
  entry('gcp', 'gcs', 'objectStorage', 'Cloud Storage', 'mapped', { aws: 'Amazon S3', azure: 'Azure Blob Storage', onprem: 'filesystem or MinIO' }, 'data moved and verified by cloudshift copyData'),
  entry('gcp', 'artifact-registry', 'containerRegistry', 'Artifact Registry', 'mapped', { aws: 'Amazon ECR', azure: 'Azure Container Registry', onprem: 'Harbor or any OCI registry' }, 'images re-pushed by digest'),
  entry('gcp', 'pubsub', 'queue', 'Pub/Sub', 'mapped', { aws: 'SNS + SQS', azure: 'Service Bus topics and subscriptions', onprem: 'Kafka' }),
  entry('gcp', 'cloud-sql-postgres', 'database', 'Cloud SQL for PostgreSQL', 'mapped', { aws: 'RDS for PostgreSQL', azure: 'Azure Database for PostgreSQL flexible server', onprem: 'PostgreSQL' }),
  entry('gcp', 'bigtable', 'database', 'Bigtable', 'manual', { aws: 'DynamoDB or Keyspaces', azure: 'Cosmos DB for Apache Cassandra', onprem: 'HBase or Cassandra' }, NOSQL_NOTE),
  entry('gcp', 'secret-manager', 'secrets', 'Secret Manager', 'manual', { aws: 'Secrets Manager', azure: 'Key Vault secrets', onprem: 'HashiCorp Vault' }, SECRETS_NOTE),
  entry('gcp', 'cloud-kms', 'secrets', 'Cloud KMS key', 'manual', { aws: 'AWS KMS', azure: 'Key Vault keys', onprem: 'Vault transit or an HSM' }, 'data encrypted under the key must be re-encrypted under a target key'),
  entry('gcp', 'cloud-monitoring', 'monitoring', 'Cloud Monitoring', 'mapped', { aws: 'CloudWatch or Prometheus', azure: 'Azure Monitor or Prometheus', onprem: 'Prometheus' }, 'dashboards and alerts are re-created'),
  entry('gcp', 'vpc', 'network', 'VPC network', 'manual', { aws: 'Amazon VPC', azure: 'Virtual Network', onprem: 'data-centre network' }, NETWORK_NOTE),
  entry('gcp', 'cloud-dns', 'dns', 'Cloud DNS', 'mapped', { aws: 'Route 53', azure: 'Azure DNS', onprem: 'your DNS servers' }),
  entry('gcp', 'gke', 'compute', 'GKE', 'portable', { aws: 'EKS', azure: 'AKS', onprem: 'Kubernetes' }),
  // Azure
  entry('azure', 'azureml-endpoint', 'mlService', 'Azure ML managed online endpoint', 'mapped', {
    aws: 'SageMaker real-time endpoint (or a container on EKS)', gcp: 'Vertex AI endpoint (or a container on GKE)', onprem: 'cloudshift inference server on Kubernetes',
  }),
  entry('azure', 'blob-storage', 'objectStorage', 'Azure Blob Storage', 'mapped', { aws: 'Amazon S3', gcp: 'Cloud Storage', onprem: 'filesystem or MinIO' }, 'data moved and verified by cloudshift copyData'),
  entry('azure', 'acr', 'containerRegistry', 'Azure Container Registry', 'mapped', { aws: 'Amazon ECR', gcp: 'Artifact Registry', onprem: 'Harbor or any OCI registry' }, 'images re-pushed by digest'),
  entry('azure', 'service-bus', 'queue', 'Service Bus', 'mapped', { aws: 'SQS (queues) and SNS (topics)', gcp: 'Pub/Sub', onprem: 'RabbitMQ' }),
  entry('azure', 'postgres-flexible', 'database', 'Azure Database for PostgreSQL', 'mapped', { aws: 'RDS for PostgreSQL', gcp: 'Cloud SQL for PostgreSQL', onprem: 'PostgreSQL' }),
  entry('azure', 'cosmos-db', 'database', 'Cosmos DB', 'manual', { aws: 'DynamoDB', gcp: 'Firestore', onprem: 'MongoDB or Cassandra' }, NOSQL_NOTE),
  entry('azure', 'key-vault', 'secrets', 'Key Vault', 'manual', { aws: 'Secrets Manager and KMS', gcp: 'Secret Manager and Cloud KMS', onprem: 'HashiCorp Vault' }, SECRETS_NOTE),
  entry('azure', 'azure-monitor', 'monitoring', 'Azure Monitor', 'mapped', { aws: 'CloudWatch or Prometheus', gcp: 'Cloud Monitoring or Prometheus', onprem: 'Prometheus' }, 'dashboards and alerts are re-created'),
  entry('azure', 'vnet', 'network', 'Virtual Network', 'manual', { aws: 'Amazon VPC', gcp: 'VPC network', onprem: 'data-centre network' }, NETWORK_NOTE),
  entry('azure', 'azure-dns', 'dns', 'Azure DNS', 'mapped', { aws: 'Route 53', gcp: 'Cloud DNS', onprem: 'your DNS servers' }),
  entry('azure', 'aks', 'compute', 'AKS', 'portable', { aws: 'EKS', gcp: 'GKE', onprem: 'Kubernetes' }),
  // On-prem
  entry('onprem', 'kubernetes', 'compute', 'Kubernetes', 'portable', { aws: 'EKS', gcp: 'GKE', azure: 'AKS' }),
  entry('onprem', 'triton', 'mlService', 'NVIDIA Triton on Kubernetes', 'portable', { aws: 'the same container on EKS', gcp: 'the same container on GKE', azure: 'the same container on AKS' }),
  entry('onprem', 'filesystem', 'objectStorage', 'NFS or local filesystem', 'mapped', { aws: 'Amazon S3', gcp: 'Cloud Storage', azure: 'Azure Blob Storage' }, 'data moved and verified by cloudshift copyData'),
  entry('onprem', 'minio', 'objectStorage', 'MinIO', 'mapped', { aws: 'Amazon S3', gcp: 'Cloud Storage', azure: 'Azure Blob Storage' }, 'data moved and verified by cloudshift copyData'),
  entry('onprem', 'harbor', 'containerRegistry', 'Harbor', 'mapped', { aws: 'Amazon ECR', gcp: 'Artifact Registry', azure: 'Azure Container Registry' }, 'images re-pushed by digest'),
  entry('onprem', 'kafka', 'queue', 'Apache Kafka', 'mapped', { aws: 'Amazon MSK', gcp: 'Managed Service for Apache Kafka', azure: 'Event Hubs (Kafka endpoint)' }),
  entry('onprem', 'postgres', 'database', 'PostgreSQL', 'mapped', { aws: 'RDS for PostgreSQL', gcp: 'Cloud SQL for PostgreSQL', azure: 'Azure Database for PostgreSQL flexible server' }),
  entry('onprem', 'vault', 'secrets', 'HashiCorp Vault', 'manual', { aws: 'Secrets Manager', gcp: 'Secret Manager', azure: 'Key Vault' }, SECRETS_NOTE),
  entry('onprem', 'prometheus', 'monitoring', 'Prometheus', 'portable', { aws: 'Prometheus (or Amazon Managed Prometheus)', gcp: 'Prometheus (or Managed Service for Prometheus)', azure: 'Prometheus (or Azure Monitor managed Prometheus)' }),
];

export function catalogEntry(cloud: Cloud, service: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.cloud === cloud && e.service === service);
}
