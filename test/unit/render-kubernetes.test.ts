/**
 * The workload's deployment description rendered as Kubernetes manifests: every object valid
 * against the API schemas (kubernetes-models), the description carried over field by field, the
 * route's weights the canary's, names that stay DNS labels.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../src/paths.js';
import { azureStorageUri } from '../../src/render/inference-service.js';
import { objectName, renderKubernetes, toYaml } from '../../src/render/kubernetes.js';
import { parseSpec, type MigrationSpec } from '../../src/spec.js';
import { parseSpecText } from '../../src/spec-file.js';

const example = (): MigrationSpec => {
  const parsed = parseSpec(parseSpecText(readFileSync(join(PROJECT_ROOT, 'examples/aws-to-gcp.yaml')), 'aws-to-gcp.yaml'));
  if (!parsed.ok) throw new Error('the example does not parse');
  return parsed.spec;
};
const options = { image: 'registry.example.com/cloudshift:1.0.0', gateway: 'edge', profilesConfigMap: 'cloudshift-profiles', targetPercent: 25 };
type Json = Record<string, any>;
const MODELS: Record<string, new (data: never) => { validate(): void }> = { Deployment, Service, HorizontalPodAutoscaler, HTTPRoute } as never;

describe('render --target kubernetes', () => {
  it('renders each side\'s Deployment, Service and autoscaler and one weighted HTTPRoute, each valid as YAML read back', () => {
    const objects = renderKubernetes(example(), options) as Json[];
    expect(objects.map((o) => `${o.kind} ${o.metadata.name}`)).toEqual([
      'Deployment aws-to-gcp-fraud-source', 'Service aws-to-gcp-fraud-source', 'HorizontalPodAutoscaler aws-to-gcp-fraud-source',
      'Deployment aws-to-gcp-fraud-target', 'Service aws-to-gcp-fraud-target', 'HorizontalPodAutoscaler aws-to-gcp-fraud-target',
      'HTTPRoute aws-to-gcp-fraud',
      // KServe's, validated against KServe's own SDK models in test/integration/serve-and-render.test.ts.
      'InferenceService aws-to-gcp-fraud-target',
    ]);
    // What kubectl receives: the YAML, parsed back and validated again from scratch.
    const documents = parseAllDocuments(toYaml(objects)).map((d) => d.toJSON() as Json);
    expect(documents).toEqual(objects);
    for (const document of documents.filter((d) => d.kind !== 'InferenceService')) expect(() => new MODELS[document.kind]!(document as never).validate(), document.kind).not.toThrow();
  });

  it('carries the description over: replicas, resources, probes, scraping, the model each side serves from its own cloud', () => {
    const objects = renderKubernetes(example(), options) as Json[];
    const target = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-target'))!;
    const container = target.spec.template.spec.containers[0];
    expect(target.spec.replicas).toBe(2);
    expect(container.image).toBe(options.image);
    expect(container.args).toEqual(['--cloud', 'gcp', '--profile', 'local-gcs', '--bucket', 'cloudshift-demo-target', '--key', 'fraud-detector/model/breast-cancer.onnx', '--port', '8080', '--provider', 'cpu']);
    expect(container.resources).toEqual({ requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, failureThreshold: 24 });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/healthz' }, initialDelaySeconds: 120, failureThreshold: 3 });
    expect(target.spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' });
    const source = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-source'))!;
    expect(source.spec.template.spec.containers[0].args.slice(0, 8)).toEqual(['--cloud', 'aws', '--profile', 'local-s3', '--bucket', 'cloudshift-demo-source', '--key', 'fraud-detector/model/breast-cancer.onnx']);
    expect(objects.find((o) => o.kind === 'HorizontalPodAutoscaler')!.spec).toMatchObject({ minReplicas: 2, maxReplicas: 6, metrics: [{ resource: { target: { averageUtilization: 65 } } }] });
    const route = objects.find((o) => o.kind === 'HTTPRoute')!;
    expect(route.spec.parentRefs).toEqual([{ name: 'edge' }]);
    expect(route.spec.hostnames).toEqual(['fraud.example.com']);
    expect(route.spec.rules[0].backendRefs.map((b: Json) => `${b.name}=${b.weight}`)).toEqual(['aws-to-gcp-fraud-source=75', 'aws-to-gcp-fraud-target=25']);
    // No credential is rendered: the profiles come from a ConfigMap, and hold none.
    expect(JSON.stringify(objects)).not.toMatch(/secret|password|accesskey|token/i);
  });

  it('asks for GPUs where the description does, and serves on CUDA there', () => {
    const spec = example();
    spec.workload!.deployment.resources.gpu = 2;
    delete spec.workload!.deployment.autoscaling;
    const objects = renderKubernetes(spec, { ...options, targetPercent: 100 }) as Json[];
    const container = (objects[0] as Json).spec.template.spec.containers[0];
    expect(container.resources.limits['nvidia.com/gpu']).toBe(2);
    expect(container.args.at(-1)).toBe('cuda');
    expect(objects.map((o) => o.kind)).not.toContain('HorizontalPodAutoscaler');
    expect(objects.find((o) => o.kind === 'InferenceService')!.spec.predictor.model.resources.limits['nvidia.com/gpu']).toBe('2');
    expect(objects.find((o) => o.kind === 'HTTPRoute')!.spec.rules[0].backendRefs.map((b: Json) => b.weight)).toEqual([0, 100]);
  });

  it('keeps names DNS labels however long the migration\'s name, and apart', () => {
    const long = 'a'.repeat(40) + '-' + 'b'.repeat(22);
    const other = 'a'.repeat(40) + '-' + 'c'.repeat(22);
    for (const side of ['source', 'target'] as const) {
      expect(objectName(long, side).length).toBeLessThanOrEqual(63);
      expect(objectName(long, side)).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(objectName(long, side)).not.toBe(objectName(other, side));
    }
    expect(objectName('short', 'target')).toBe('short-target');
    const spec = example();
    spec.name = long;
    expect(() => renderKubernetes(spec, options)).not.toThrow();
  });

  it('refuses what it cannot render, saying why', () => {
    const spec = example();
    expect(() => renderKubernetes(spec, { ...options, targetPercent: 101 })).toThrow(/whole percentage 0-100/);
    expect(() => renderKubernetes({ ...spec, workload: undefined }, options)).toThrow(/has no workload/);
    // KServe cannot read a worker's folder; an Azure container needs the account's URL, which only a profile knows.
    const onprem = { ...spec, target: { ...spec.target, cloud: 'onprem' as const, profile: 'local-disk' } };
    expect(() => renderKubernetes(onprem, options)).toThrow(/KServe cannot fetch the target's model from onprem storage.*--skip-inference-service/);
    expect(renderKubernetes(onprem, { ...options, skipInferenceService: true }).length).toBe(7);
    const azure = { ...spec, target: { ...spec.target, cloud: 'azure' as const, profile: 'local-azure' } };
    const rendered = renderKubernetes(azure, { ...options, storageUri: (l, key) => azureStorageUri('https://acct.blob.core.windows.net/', l, key) }) as Json[];
    expect(rendered.at(-1)!.spec.predictor.model.storageUri).toBe('https://acct.blob.core.windows.net/cloudshift-demo-target/fraud-detector/model/breast-cancer.onnx');
    // A schema violation names the object and the field.
    expect(() => renderKubernetes({ ...spec, workload: { ...spec.workload!, deployment: { ...spec.workload!.deployment, resources: { cpu: 'lots', memory: '1Gi', gpu: 0 } } } }, options)).toThrow(
      /the Deployment aws-to-gcp-fraud-source does not validate against the Kubernetes API schema: .*resources\/limits\/cpu/,
    );
  });
});
