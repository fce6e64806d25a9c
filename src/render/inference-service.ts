/**
 * The target as KServe would serve it: an InferenceService (serving.kserve.io/v1beta1) speaking
 * the Open Inference Protocol, its storageUri at what the migration writes into the target bucket.
 * With `endpoints.target.server: triton`, that is the Triton model repository the migration writes
 * (config.pbtxt and the model, `.cloudshift/<migration>/triton/target/`) served by KServe's Triton
 * runtime; otherwise the copied ONNX model itself, served by whichever ONNX runtime the cluster
 * has. kubernetes-models has no KServe types: test/integration/serve-and-render.test.ts checks
 * the object against KServe's own Python SDK models.
 */
import { migrationFolder } from '../migration-paths.js';
import { keyIn, type MigrationSpec, type StorageLocation } from '../spec.js';

/** Where KServe's storage initializer fetches a key from, or undefined where no cluster can. */
export type StorageUriOf = (location: StorageLocation, key: string) => string | undefined;

/** S3 and GCS by their own schemes; Azure needs its account's blob URL, which only a profile knows. */
export const defaultStorageUri: StorageUriOf = (location, key) => {
  if (location.cloud === 'aws') return `s3://${location.bucket}/${key}`;
  if (location.cloud === 'gcp') return `gs://${location.bucket}/${key}`;
  return undefined;
};

/** Azure's: `https://<account>.blob.core.windows.net/<container>/<key>` from the service URL the profile reaches. */
export const azureStorageUri = (serviceUrl: string, location: StorageLocation, key: string): string =>
  `${serviceUrl.replace(/\/+$/, '')}/${location.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;

export interface InferenceServiceOptions {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
  storageUri: StorageUriOf;
}

export class NotRenderable extends Error {}

export function inferenceServiceOf(spec: MigrationSpec, options: InferenceServiceOptions): Record<string, unknown> {
  const workload = spec.workload!;
  const serving = workload.deployment;
  const triton = workload.endpoints.target.server === 'triton';
  const key = triton ? migrationFolder(spec.target, spec.name, 'triton/target') : keyIn(spec.target, workload.model.targetPath ?? workload.model.path);
  const storageUri = options.storageUri(spec.target, key);
  if (!storageUri) {
    throw new NotRenderable(`KServe cannot fetch the target's model from ${spec.target.cloud} storage without its service URL (an on-prem folder has none): render with --skip-inference-service, or serve it from the Deployment`);
  }
  const { resources } = serving;
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: { name: options.name, labels: options.labels, ...(options.namespace ? { namespace: options.namespace } : {}) },
    spec: {
      predictor: {
        minReplicas: serving.autoscaling?.minReplicas ?? serving.replicas,
        maxReplicas: serving.autoscaling?.maxReplicas ?? serving.replicas,
        ...(serving.autoscaling ? { scaleMetric: 'cpu', scaleTarget: serving.autoscaling.targetCpuPercent } : {}),
        model: {
          // Triton's repository names the model by the served name (endpoints.modelName) and holds its config.
          modelFormat: { name: triton ? 'triton' : 'onnx' },
          protocolVersion: 'v2',
          ...(triton ? { runtime: 'kserve-tritonserver' } : {}),
          storageUri,
          resources: {
            requests: { cpu: resources.cpu, memory: resources.memory },
            limits: { cpu: resources.cpu, memory: resources.memory, ...(resources.gpu > 0 ? { 'nvidia.com/gpu': String(resources.gpu) } : {}) },
          },
        },
      },
    },
  };
}
