/**
 * The workload's deployment description as Kubernetes manifests: per side a Deployment running
 * `cloudshift serve` on the model as stored in that side's cloud, a Service and (when the spec
 * autoscales) a HorizontalPodAutoscaler; and one Gateway API HTTPRoute that splits traffic
 * between the two Services by the canary's weight; and the target as a KServe InferenceService
 * (inference-service.ts). Each Kubernetes object is checked against the Kubernetes
 * API schemas (kubernetes-models) before it is written, so what kubectl or Argo CD receives applies.
 */
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Service } from 'kubernetes-models/v1';
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { keyIn, type MigrationSpec, type ServingSpec, type StorageLocation } from '../spec.js';
import { defaultStorageUri, inferenceServiceOf, type StorageUriOf } from './inference-service.js';

export interface RenderOptions {
  /** The cloudshift image the endpoints run. */
  image: string;
  namespace?: string;
  /** The Gateway the route attaches to. */
  gateway: string;
  /** The share of traffic on the target, 0–100. */
  targetPercent: number;
  /** The ConfigMap holding the connection profiles file (profiles.yaml). @default cloudshift-profiles */
  profilesConfigMap: string;
  /** Where KServe fetches the target's model from; absent, S3 and GCS by their schemes. */
  storageUri?: StorageUriOf;
  /** Leave the KServe InferenceService out (a cluster without KServe, a target KServe cannot read). */
  skipInferenceService?: boolean;
}

interface Validated {
  validate(): void;
  toJSON(): unknown;
}

type Side = 'source' | 'target';

const SERVING_PORT_NAME = 'http';
const MAX_NAME = 63;

/**
 * An object's name: `<migration>-<side>`, which a Service needs as a DNS label (at most 63
 * characters). A migration name near that length is cut and given a digest of itself, so two long
 * names that share a beginning stay apart.
 */
export function objectName(migration: string, side?: Side): string {
  const name = side ? `${migration}-${side}` : migration;
  if (name.length <= MAX_NAME) return name;
  const digest = createHash('sha256').update(migration).digest('hex').slice(0, 8);
  const suffix = side ? `-${digest}-${side}` : `-${digest}`;
  return `${migration.slice(0, MAX_NAME - suffix.length).replace(/-+$/, '')}${suffix}`;
}

function labelsOf(migration: string, side: Side) {
  return { 'app.kubernetes.io/name': 'cloudshift-endpoint', 'app.kubernetes.io/instance': objectName(migration, side), 'cloudshift.dev/migration': objectName(migration), 'cloudshift.dev/side': side };
}

function deploymentOf(spec: MigrationSpec, side: Side, options: RenderOptions): Deployment {
  const workload = spec.workload!;
  const serving: ServingSpec = workload.deployment;
  const location: StorageLocation = spec[side];
  const modelPath = side === 'target' ? (workload.model.targetPath ?? workload.model.path) : workload.model.path;
  const labels = labelsOf(spec.name, side);
  const { healthCheck: health, resources, exposure } = serving;
  const probe = (path: string) => ({
    httpGet: { path, port: SERVING_PORT_NAME },
    initialDelaySeconds: health.initialDelaySeconds,
    periodSeconds: health.periodSeconds,
    timeoutSeconds: health.timeoutSeconds,
    failureThreshold: health.failureThreshold,
  });
  return new Deployment({
    metadata: { name: objectName(spec.name, side), labels, ...(options.namespace ? { namespace: options.namespace } : {}) },
    spec: {
      replicas: serving.autoscaling?.minReplicas ?? serving.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: {
          labels,
          annotations: serving.telemetry.prometheusScrape ? { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(exposure.port), 'prometheus.io/path': '/metrics' } : {},
        },
        spec: {
          containers: [
            {
              name: 'endpoint',
              image: options.image,
              command: ['node_modules/.bin/tsx', 'src/cli.ts', 'serve'],
              args: ['--cloud', location.cloud, '--profile', location.profile, '--bucket', location.bucket, '--key', keyIn(location, modelPath), '--port', String(exposure.port), '--provider', resources.gpu > 0 ? 'cuda' : 'cpu'],
              // Connection profiles say where credentials come from (workload identity, a mounted
              // file) and hold none, so a ConfigMap carries them.
              env: [{ name: 'CLOUDSHIFT_PROFILES', value: '/etc/cloudshift/profiles.yaml' }],
              volumeMounts: [
                { name: 'profiles', mountPath: '/etc/cloudshift', readOnly: true },
                // tsx keeps its compile cache in the temporary folder; the root filesystem is read-only.
                { name: 'tmp', mountPath: '/tmp' },
              ],
              ports: [{ name: SERVING_PORT_NAME, containerPort: exposure.port }],
              resources: {
                requests: { cpu: resources.cpu, memory: resources.memory },
                limits: { cpu: resources.cpu, memory: resources.memory, ...(resources.gpu > 0 ? { 'nvidia.com/gpu': resources.gpu } : {}) },
              },
              readinessProbe: probe(health.path),
              // Liveness waits out the longest readiness may take (the model's load), then acts on three misses.
              livenessProbe: { ...probe('/healthz'), initialDelaySeconds: health.initialDelaySeconds + health.periodSeconds * health.failureThreshold, failureThreshold: 3 },
              securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
            },
          ],
          volumes: [
            { name: 'profiles', configMap: { name: options.profilesConfigMap } },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  });
}

function serviceOf(spec: MigrationSpec, side: Side, options: RenderOptions): Service {
  const labels = labelsOf(spec.name, side);
  return new Service({
    metadata: { name: objectName(spec.name, side), labels, ...(options.namespace ? { namespace: options.namespace } : {}) },
    spec: { type: 'ClusterIP', selector: labels, ports: [{ name: SERVING_PORT_NAME, port: spec.workload!.deployment.exposure.port, targetPort: SERVING_PORT_NAME }] },
  });
}

function autoscalerOf(spec: MigrationSpec, side: Side, options: RenderOptions): HorizontalPodAutoscaler | undefined {
  const autoscaling = spec.workload!.deployment.autoscaling;
  if (!autoscaling) return undefined;
  return new HorizontalPodAutoscaler({
    metadata: { name: objectName(spec.name, side), labels: labelsOf(spec.name, side), ...(options.namespace ? { namespace: options.namespace } : {}) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: objectName(spec.name, side) },
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: autoscaling.targetCpuPercent } } }],
    },
  });
}

function routeOf(spec: MigrationSpec, options: RenderOptions): HTTPRoute {
  const { exposure } = spec.workload!.deployment;
  return new HTTPRoute({
    metadata: {
      name: objectName(spec.name),
      labels: { 'cloudshift.dev/migration': objectName(spec.name) },
      annotations: { 'cloudshift.dev/canary-steps': spec.canary.steps.join(','), 'cloudshift.dev/visibility': exposure.visibility },
      ...(options.namespace ? { namespace: options.namespace } : {}),
    },
    spec: {
      parentRefs: [{ name: options.gateway }],
      ...(exposure.hostname ? { hostnames: [exposure.hostname] } : {}),
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: (['source', 'target'] as const).map((side) => ({
            name: objectName(spec.name, side),
            port: exposure.port,
            weight: side === 'target' ? options.targetPercent : 100 - options.targetPercent,
          })),
        },
      ],
    },
  });
}

export class InvalidManifest extends Error {}

/** Every object, validated; a schema violation names the object and the field. */
export function renderKubernetes(spec: MigrationSpec, options: RenderOptions): unknown[] {
  if (!spec.workload) throw new InvalidManifest(`the spec "${spec.name}" has no workload: nothing serves, so there is nothing to render`);
  if (!Number.isInteger(options.targetPercent) || options.targetPercent < 0 || options.targetPercent > 100) throw new InvalidManifest(`the target's share must be a whole percentage 0-100, not ${options.targetPercent}`);
  const objects: Validated[] = [];
  for (const side of ['source', 'target'] as const) {
    objects.push(deploymentOf(spec, side, options), serviceOf(spec, side, options));
    const autoscaler = autoscalerOf(spec, side, options);
    if (autoscaler) objects.push(autoscaler);
  }
  objects.push(routeOf(spec, options));
  const rendered = objects.map((object) => {
    try {
      object.validate();
    } catch (error) {
      const json = object.toJSON() as { kind?: string; metadata?: { name?: string } };
      throw new InvalidManifest(`the ${json.kind} ${json.metadata?.name} does not validate against the Kubernetes API schema: ${(error as Error).message}`);
    }
    return object.toJSON();
  });
  if (options.skipInferenceService) return rendered;
  const name = `${objectName(spec.name, 'target')}`;
  return [...rendered, inferenceServiceOf(spec, { name, labels: labelsOf(spec.name, 'target'), ...(options.namespace ? { namespace: options.namespace } : {}), storageUri: options.storageUri ?? defaultStorageUri })];
}

export const toYaml = (objects: unknown[]): string => objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
