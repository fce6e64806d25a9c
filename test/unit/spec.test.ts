import { describe, expect, it } from 'vitest';
import { formatSpecIssues, keyIn, parseSpec, type SpecIssue } from '../../src/spec.js';

const minimal = {
  name: 'fraud-model',
  source: { cloud: 'aws', profile: 'prod-aws', bucket: 'ml-artifacts' },
  target: { cloud: 'gcp', profile: 'prod-gcp', bucket: 'ml-artifacts-gcp', prefix: 'fraud/' },
};

function issuesOf(input: unknown): SpecIssue[] {
  const result = parseSpec(input);
  if (result.ok) throw new Error('expected the spec to be rejected');
  return result.issues;
}

describe('migration spec', () => {
  it('accepts a minimal spec and fills in the defaults', () => {
    const result = parseSpec(minimal);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const spec = result.spec;
    expect(spec.source.prefix).toBe('');
    expect(spec.copy).toMatchObject({ concurrency: 16, batchSize: 256, dryRun: false, deleteExtraneous: false, partSizeMiB: 16 });
    expect(spec.shadow.tolerances).toEqual({ maxMetricDelta: 0.001, maxMeanRelativeDiff: 0.001, minLabelAgreement: 0.999, maxProbabilityDelta: 0.001 });
    expect(spec.shadow.executionProvider).toBe('auto');
    expect(spec.canary.steps).toEqual([1, 5, 25, 50, 100]);
    expect(spec.approval).toMatchObject({ onBlockingFindings: 'approve', afterShadow: 'auto', beforeTeardown: 'manual', onTimeout: 'rollback' });
    expect(spec.teardown).toEqual({ stopSourceEndpoint: true, deleteSourceData: false, deleteTargetDataOnRollback: false });
  });

  it('keeps values that are given over the defaults, deep inside nested sections', () => {
    const result = parseSpec({ ...minimal, shadow: { tolerances: { minLabelAgreement: 0.99 } }, canary: { steps: [10, 100] } });
    expect(result.ok && result.spec.shadow.tolerances).toEqual({ maxMetricDelta: 0.001, maxMeanRelativeDiff: 0.001, minLabelAgreement: 0.99, maxProbabilityDelta: 0.001 });
    expect(result.ok && result.spec.canary.steps).toEqual([10, 100]);
  });

  it('names every bad field with what was expected', () => {
    const issues = issuesOf({
      name: 'Fraud Model!',
      source: { cloud: 'ibm', profile: '', bucket: 'UPPER_case' },
      target: { cloud: 'gcp', profile: 'p', bucket: 'ok-bucket', prefix: '/abs' },
      copy: { concurrency: 0 },
      canary: { steps: [5, 1, 50] },
    });
    const fields = issues.map((i) => i.field);
    expect(fields).toEqual(
      expect.arrayContaining(['name', 'source.cloud', 'source.profile', 'source.bucket', 'target.prefix', 'copy.concurrency', 'canary.steps']),
    );
    const byField = Object.fromEntries(issues.map((i) => [i.field, i.message]));
    expect(byField['source.cloud']).toMatch(/aws.*gcp.*azure.*onprem/);
    expect(byField['source.bucket']).toMatch(/3-63 lowercase/);
    expect(byField['name']).toMatch(/lowercase letters, digits or hyphens/);
    expect(issues.filter((i) => i.field === 'canary.steps').map((i) => i.message).join(' ')).toMatch(/strictly increasing/);
  });

  it('reports a missing required field by its path', () => {
    const issues = issuesOf({ name: 'x', source: minimal.source });
    expect(issues).toEqual([expect.objectContaining({ field: 'target', message: expect.stringMatching(/expected object/) })]);
  });

  it('refuses credentials anywhere in a spec and says to use a profile', () => {
    const issues = issuesOf({ ...minimal, source: { ...minimal.source, secretAccessKey: 'x' }, connectionString: 'y' });
    expect(issues).toHaveLength(2);
    for (const issue of issues) expect(issue.message).toMatch(/never holds credentials.*connection profile/);
    expect(issues.map((i) => i.field).sort()).toEqual(['connectionString', 'source.secretAccessKey']);
  });

  it('rejects unknown fields as probable typos', () => {
    expect(issuesOf({ ...minimal, coppy: {} })).toEqual([{ field: 'coppy', message: expect.stringMatching(/unknown field/) }]);
  });

  it('rejects a target that is the source', () => {
    expect(issuesOf({ ...minimal, target: minimal.source }).map((i) => i.field)).toEqual(['target']);
  });

  it('checks the workload: relative keys, a label that is not a feature', () => {
    const issues = issuesOf({
      ...minimal,
      workload: {
        model: { path: '/abs/model.onnx' },
        holdout: { path: 'holdout.csv', format: 'csv', features: ['a', 'y'], label: 'y', task: 'binary' },
      },
    });
    expect(issues.map((i) => i.field).sort()).toEqual(['workload.holdout.label', 'workload.model.path']);
  });

  it('checks the artifact: a folder, the model inside it, provenance inside it, keys by name only', () => {
    const holdout = { path: 'holdout.csv', format: 'csv', features: ['a'], label: 'y', task: 'binary' };
    const withArtifact = (artifact: unknown, model: unknown = { path: 'model/m.onnx' }) => ({ ...minimal, workload: { model, holdout, artifact } });
    const ok = parseSpec(withArtifact({ folder: 'model/', policy: { keys: ['release-2026'] } }));
    expect(ok.ok && ok.spec.workload?.artifact).toEqual({ folder: 'model/', policy: { keys: ['release-2026'], requireSignature: true } });
    const fields = (artifact: unknown, model?: unknown) => issuesOf(withArtifact(artifact, model)).map((i) => `${i.field}: ${i.message}`);
    expect(fields({ folder: 'model' })).toEqual([expect.stringMatching(/^workload\.artifact\.folder: .*does not end with '\/'/)]);
    expect(fields({ folder: 'other/' })).toEqual([expect.stringMatching(/^workload\.model\.path: expected the model inside the artifact's folder other\//)]);
    expect(fields({ folder: 'model/' }, { path: 'model/m.onnx', targetPath: 'export/m.onnx' })).toEqual([expect.stringMatching(/^workload\.model\.targetPath: /)]);
    expect(fields({ folder: 'model/', provenance: 'prov.json' })).toEqual([expect.stringMatching(/^workload\.artifact\.provenance: expected the provenance inside/)]);
    expect(fields({ folder: 'model/', policy: { keys: [] } })).toEqual([expect.stringContaining('at least one trusted key')]);
    expect(fields({ folder: 'model/', policy: {} })).toEqual([expect.stringMatching(/^workload\.artifact\.policy: expected keys or certificates/)]);
    expect(fields({ folder: 'model/', policy: { certificates: { roots: [] } } })).toEqual([expect.stringContaining('at least one trusted root')]);
    expect(fields({ folder: 'model/', policy: { certificates: { roots: ['corp-ca'], identities: [''] } } })).toEqual([expect.stringMatching(/^workload\.artifact\.policy\.certificates\.identities\.0: /)]);
    expect(fields({ folder: 'model/', policy: { certificates: { roots: ['corp-ca.crt/../x'] } } })).toEqual([expect.stringMatching(/^workload\.artifact\.policy\.certificates\.roots\.0: /)]);
    const byRoot = parseSpec(withArtifact({ folder: 'model/', policy: { certificates: { roots: ['corp-ca'], identities: ['ml-release@example.com'] } } }));
    expect(byRoot.ok && byRoot.spec.workload?.artifact?.policy).toEqual({ certificates: { roots: ['corp-ca'], identities: ['ml-release@example.com'] }, requireSignature: true });
    // A key pasted into the spec is refused without being echoed back.
    const pasted = fields({ folder: 'model/', policy: { keys: ['-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----'] } });
    expect(pasted).toEqual([expect.stringContaining('never the key itself')]);
    expect(pasted.join()).not.toContain('MFkw');
    expect(fields({ folder: '../model/' })).toEqual([expect.stringContaining("'..'"), expect.anything()]);
  });

  it('checks the deployment description: quantities, bounds, replicas within the autoscaler\'s', () => {
    const holdout = { path: 'holdout.csv', format: 'csv', features: ['a'], label: 'y', task: 'binary' };
    const withServing = (deployment: unknown) => ({ ...minimal, workload: { model: { path: 'm.onnx' }, holdout, deployment } });
    const ok = parseSpec(withServing({}));
    expect(ok.ok && ok.spec.workload?.deployment).toEqual({
      replicas: 1,
      resources: { cpu: '1', memory: '1Gi', gpu: 0 },
      healthCheck: { path: '/readyz', initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 30 },
      telemetry: { prometheusScrape: true },
      exposure: { port: 8080, visibility: 'internal' },
    });
    const fields = (deployment: unknown) => issuesOf(withServing(deployment)).map((i) => i.field);
    expect(fields({ resources: { cpu: '2 cores', memory: '4GB', gpu: -1 } })).toEqual(['workload.deployment.resources.cpu', 'workload.deployment.resources.memory', 'workload.deployment.resources.gpu']);
    expect(fields({ replicas: 3, autoscaling: { minReplicas: 3, maxReplicas: 2 } })).toContain('workload.deployment.autoscaling.maxReplicas');
    expect(fields({ replicas: 9, autoscaling: { minReplicas: 2, maxReplicas: 4 } })).toEqual(['workload.deployment.replicas']);
    expect(fields({ healthCheck: { path: '/v1/predict' }, exposure: { port: 80, hostname: 'Not A Host!' } })).toEqual([
      'workload.deployment.healthCheck.path', 'workload.deployment.exposure.port', 'workload.deployment.exposure.hostname',
    ]);
    expect(fields({ replicas: 2, image: 'x' })).toEqual(['workload.deployment.image']);
  });

  it('formats issues as one readable message', () => {
    expect(formatSpecIssues([{ field: 'name', message: 'bad' }, { field: 'source.bucket', message: 'worse' }])).toBe(
      'Invalid migration spec (2 problems):\n  - name: bad\n  - source.bucket: worse',
    );
  });

  it('joins keys onto prefixes with exactly one slash', () => {
    const at = (prefix: string) => ({ cloud: 'aws' as const, profile: 'p', bucket: 'bbb', prefix });
    expect(keyIn(at(''), 'm.onnx')).toBe('m.onnx');
    expect(keyIn(at('models/'), 'm.onnx')).toBe('models/m.onnx');
    expect(keyIn(at('models'), 'm.onnx')).toBe('models/m.onnx');
  });
});
