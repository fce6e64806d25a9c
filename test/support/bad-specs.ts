/**
 * A corpus of hostile and careless specs, each with the field it must be refused for. Used by the
 * unit tests (parseSpec), the CLI test (`cloudshift validate`) and the integration test (a
 * workflow start on the dev server must fail at once, non-retryably, creating nothing).
 */
import { randomBytes } from 'node:crypto';

export interface BadSpec {
  label: string;
  spec: Record<string, unknown>;
  /** The field, or the start of it. */
  field: string;
}

/** A valid spec between two on-prem buckets; every entry breaks one thing in it. */
export function baseSpec(tag = randomBytes(4).toString('hex')): Record<string, unknown> {
  return {
    name: `hostile-${tag}`,
    source: { cloud: 'onprem', profile: 'local-fs', bucket: `hostile-src-${tag}`, prefix: 'data/' },
    target: { cloud: 'onprem', profile: 'local-fs', bucket: `hostile-dst-${tag}`, prefix: 'copy/' },
    workload: {
      model: { path: 'model/m.onnx' },
      holdout: { path: 'holdout/h.csv', format: 'csv', features: ['a', 'b'], label: 'y', task: 'binary' },
    },
  };
}

type Mutation = [label: string, field: string, change: (s: Record<string, any>) => void];

const MUTATIONS: Mutation[] = [
  // Locations: the same place, nested, overlapping, spelt differently.
  ['target is the source', 'target', (s) => (s.target = { ...s.source })],
  ['prefixes differ by a trailing slash', 'target', (s) => (s.target = { ...s.source, prefix: 'data' })],
  ['one S3 bucket through two profiles', 'target', (s) => ((s.source = { cloud: 'aws', profile: 'local-s3', bucket: 'shared-bucket', prefix: 'data/' }), (s.target = { ...s.source, profile: 'other-s3' }))],
  ['one GCS bucket through two profiles, nested', 'target', (s) => ((s.source = { cloud: 'gcp', profile: 'local-gcs', bucket: 'shared-bucket', prefix: '' }), (s.target = { ...s.source, profile: 'other-gcs', prefix: 'x' }))],
  ['target inside the source', 'target', (s) => (s.target = { ...s.source, prefix: 'data/copy/' })],
  ['source inside the target', 'target', (s) => (s.target = { ...s.source, prefix: '' })],
  ['target is the whole source bucket', 'target', (s) => (s.source.prefix = '', s.target = { ...s.source, prefix: 'x/' })],
  ['both whole bucket', 'target', (s) => (s.source.prefix = '', s.target = { ...s.source, prefix: '' })],
  ['no prefix vs trailing-slash source', 'target', (s) => (s.target = { ...s.source, prefix: 'data/sub' })],
  // Prefixes and keys that are not safe paths.
  ['prefix with ..', 'source.prefix', (s) => (s.source.prefix = 'data/../etc/')],
  ['prefix with .', 'source.prefix', (s) => (s.source.prefix = './data/')],
  ['absolute prefix', 'target.prefix', (s) => (s.target.prefix = '/abs/')],
  ['prefix with NUL', 'source.prefix', (s) => (s.source.prefix = 'da\u0000ta/')],
  ['prefix with CR', 'source.prefix', (s) => (s.source.prefix = 'data\r/')],
  ['prefix with LF', 'target.prefix', (s) => (s.target.prefix = 'co\npy/')],
  ['prefix with tab', 'target.prefix', (s) => (s.target.prefix = 'co\tpy/')],
  ['prefix with empty segment', 'source.prefix', (s) => (s.source.prefix = 'data//x/')],
  ['prefix with backslash', 'source.prefix', (s) => (s.source.prefix = 'data\\x/')],
  ['prefix with lone surrogate', 'source.prefix', (s) => (s.source.prefix = 'data\ud800/')],
  ['prefix too long', 'source.prefix', (s) => (s.source.prefix = `${'a/'.repeat(300)}`)],
  ['prefix segment too long', 'target.prefix', (s) => (s.target.prefix = `${'é'.repeat(200)}/`)],
  ['prefix not a string', 'source.prefix', (s) => (s.source.prefix = 7)],
  ['model path with ..', 'workload.model.path', (s) => (s.workload.model.path = '../secrets/m.onnx')],
  ['model path absolute', 'workload.model.path', (s) => (s.workload.model.path = '/etc/passwd')],
  ['model path with NUL', 'workload.model.path', (s) => (s.workload.model.path = 'm\u0000.onnx')],
  ['model path with CRLF', 'workload.model.path', (s) => (s.workload.model.path = 'm\r\n.onnx')],
  ['model path empty', 'workload.model.path', (s) => (s.workload.model.path = '')],
  ['model path a folder', 'workload.model.path', (s) => (s.workload.model.path = 'model/')],
  ['model path empty segment', 'workload.model.path', (s) => (s.workload.model.path = 'model//m.onnx')],
  ['target model path with ..', 'workload.model.targetPath', (s) => (s.workload.model.targetPath = 'a/../../b.onnx')],
  ['holdout path with ..', 'workload.holdout.path', (s) => (s.workload.holdout.path = '../../h.csv')],
  ['holdout path absolute', 'workload.holdout.path', (s) => (s.workload.holdout.path = '/tmp/h.csv')],
  ['holdout path lone surrogate', 'workload.holdout.path', (s) => (s.workload.holdout.path = 'h\udc00.csv')],
  ['holdout format unknown', 'workload.holdout.format', (s) => (s.workload.holdout.format = 'parquet')],
  ['duplicated features', 'workload.holdout.features', (s) => (s.workload.holdout.features = ['a', 'b', 'a'])],
  ['no features', 'workload.holdout.features', (s) => (s.workload.holdout.features = [])],
  ['label is a feature', 'workload.holdout.label', (s) => (s.workload.holdout.label = 'a')],
  ['task unknown', 'workload.holdout.task', (s) => (s.workload.holdout.task = 'ranking')],
  // Buckets by each cloud's rules.
  ['uppercase bucket', 'source.bucket', (s) => (s.source.bucket = 'Upper-Case')],
  ['bucket too short', 'source.bucket', (s) => (s.source.bucket = 'ab')],
  ['bucket too long', 'target.bucket', (s) => (s.target.bucket = 'a'.repeat(64))],
  ['s3 bucket with underscore', 'source.bucket', (s) => (s.source = { cloud: 'aws', profile: 'local-s3', bucket: 'my_bucket', prefix: '' })],
  ['s3 bucket with ..', 'source.bucket', (s) => (s.source = { cloud: 'aws', profile: 'local-s3', bucket: 'my..bucket', prefix: '' })],
  ['s3 bucket dot next to hyphen', 'source.bucket', (s) => (s.source = { cloud: 'aws', profile: 'local-s3', bucket: 'my.-bucket', prefix: '' })],
  ['s3 bucket an IP', 'source.bucket', (s) => (s.source = { cloud: 'aws', profile: 'local-s3', bucket: '192.168.1.1', prefix: '' })],
  ['s3 bucket xn--', 'source.bucket', (s) => (s.source = { cloud: 'aws', profile: 'local-s3', bucket: 'xn--bucket', prefix: '' })],
  ['s3 bucket -s3alias', 'source.bucket', (s) => (s.source = { cloud: 'aws', profile: 'local-s3', bucket: 'bucket-s3alias', prefix: '' })],
  ['gcs bucket goog prefix', 'target.bucket', (s) => (s.target = { cloud: 'gcp', profile: 'local-gcs', bucket: 'goog-data', prefix: '' })],
  ['gcs bucket with google', 'target.bucket', (s) => (s.target = { cloud: 'gcp', profile: 'local-gcs', bucket: 'my-google-data', prefix: '' })],
  ['azure container with dot', 'target.bucket', (s) => (s.target = { cloud: 'azure', profile: 'local-azure', bucket: 'my.container', prefix: '' })],
  ['azure container double hyphen', 'target.bucket', (s) => (s.target = { cloud: 'azure', profile: 'local-azure', bucket: 'my--container', prefix: '' })],
  ['azure container underscore', 'target.bucket', (s) => (s.target = { cloud: 'azure', profile: 'local-azure', bucket: 'my_container', prefix: '' })],
  ['onprem bucket ..', 'source.bucket', (s) => (s.source.bucket = 'a..b')],
  ['bucket ends with hyphen', 'source.bucket', (s) => (s.source.bucket = 'bucket-')],
  ['bucket not a string', 'source.bucket', (s) => (s.source.bucket = ['a'])],
  ['unknown cloud', 'source.cloud', (s) => (s.source.cloud = 'ibm')],
  ['profile with space', 'source.profile', (s) => (s.source.profile = 'local fs')],
  ['profile empty', 'target.profile', (s) => (s.target.profile = '')],
  // Names.
  ['name uppercase', 'name', (s) => (s.name = 'Hostile')],
  ['name too long', 'name', (s) => (s.name = 'a'.repeat(64))],
  ['name with slash', 'name', (s) => (s.name = 'a/b')],
  ['name empty', 'name', (s) => (s.name = '')],
  ['name a number', 'name', (s) => (s.name = 12)],
  // Absurd numbers.
  ['gate timeout 1e15', 'approval.timeoutSeconds', (s) => (s.approval = { timeoutSeconds: 1e15 })],
  ['gate timeout 0', 'approval.timeoutSeconds', (s) => (s.approval = { timeoutSeconds: 0 })],
  ['gate timeout negative', 'approval.timeoutSeconds', (s) => (s.approval = { timeoutSeconds: -5 })],
  ['gate timeout sub-second', 'approval.timeoutSeconds', (s) => (s.approval = { timeoutSeconds: 0.001 })],
  ['bandwidth 1e-12', 'copy.bandwidthMiBps', (s) => (s.copy = { bandwidthMiBps: 1e-12 })],
  ['bandwidth 1e12', 'copy.bandwidthMiBps', (s) => (s.copy = { bandwidthMiBps: 1e12 })],
  ['interval 1e-9', 'canary.intervalSeconds', (s) => (s.canary = { intervalSeconds: 1e-9 })],
  ['interval a year', 'canary.intervalSeconds', (s) => (s.canary = { intervalSeconds: 3e7 })],
  ['concurrency 0', 'copy.concurrency', (s) => (s.copy = { concurrency: 0 })],
  ['concurrency 1e6', 'copy.concurrency', (s) => (s.copy = { concurrency: 1e6 })],
  ['concurrency fractional', 'copy.concurrency', (s) => (s.copy = { concurrency: 2.5 })],
  ['batch size 0', 'copy.batchSize', (s) => (s.copy = { batchSize: 0 })],
  ['part size 1', 'copy.partSizeMiB', (s) => (s.copy = { partSizeMiB: 1 })],
  ['part size 1e6', 'copy.partSizeMiB', (s) => (s.copy = { partSizeMiB: 1e6 })],
  ['shadow batch 0', 'shadow.batchSize', (s) => (s.shadow = { batchSize: 0 })],
  ['shadow batch huge', 'shadow.batchSize', (s) => (s.shadow = { batchSize: 1e9 })],
  ['metric delta 2', 'shadow.tolerances.maxMetricDelta', (s) => (s.shadow = { tolerances: { maxMetricDelta: 2 } })],
  ['agreement 1.5', 'shadow.tolerances.minLabelAgreement', (s) => (s.shadow = { tolerances: { minLabelAgreement: 1.5 } })],
  ['negative tolerance', 'shadow.tolerances.maxMeanRelativeDiff', (s) => (s.shadow = { tolerances: { maxMeanRelativeDiff: -0.1 } })],
  ['NaN-ish tolerance string', 'shadow.tolerances.maxMetricDelta', (s) => (s.shadow = { tolerances: { maxMetricDelta: 'NaN' } })],
  ['latency ratio 1e9', 'canary.thresholds.maxP99LatencyRatio', (s) => (s.canary = { thresholds: { maxP99LatencyRatio: 1e9 } })],
  ['latency ratio below 1', 'canary.thresholds.maxP50LatencyRatio', (s) => (s.canary = { thresholds: { maxP50LatencyRatio: 0.5 } })],
  ['min requests 1e12', 'canary.thresholds.minRequests', (s) => (s.canary = { thresholds: { minRequests: 1e12 } })],
  ['throughput 1e-9', 'audit.throughputMiBps', (s) => (s.audit = { throughputMiBps: 1e-9 })],
  ['sample 0', 'audit.sampleMiB', (s) => (s.audit = { sampleMiB: 0 })],
  ['steps not increasing', 'canary.steps', (s) => (s.canary = { steps: [50, 10, 100] })],
  ['steps not ending at 100', 'canary.steps', (s) => (s.canary = { steps: [10, 50] })],
  ['steps empty', 'canary.steps', (s) => (s.canary = { steps: [] })],
  ['step 0', 'canary.steps', (s) => (s.canary = { steps: [0, 100] })],
  ['mirror on a router that cannot', 'canary.mirror', (s) => (s.canary = { mirror: true, router: { kind: 'route53', profile: 'local-route53', hostedZoneId: 'Z1', recordName: 'predict.example.com' } })],
  ['router of no kind known', 'canary.router.kind', (s) => (s.canary = { router: { kind: 'envoy' } })],
  ['data-plane port below 1024', 'canary.router.port', (s) => (s.canary = { router: { kind: 'haproxy', port: 80 } })],
  ['hosted zone id with a path', 'canary.router.hostedZoneId', (s) => (s.canary = { router: { kind: 'route53', profile: 'local-route53', hostedZoneId: '/hostedzone/Z1', recordName: 'predict.example.com' } })],
  ['record name not a DNS name', 'canary.router.recordName', (s) => (s.canary = { router: { kind: 'route53', profile: 'local-route53', hostedZoneId: 'Z1', recordName: 'http://predict' } })],
  ['metric named twice', 'canary.metrics.1.name', (s) => (s.canary = { metrics: [1, 2].map(() => ({ name: 'm', query: 'up', condition: { op: '<', value: 1 } })) })],
  ['metric condition of no operator known', 'canary.metrics.0.condition.op', (s) => (s.canary = { metrics: [{ name: 'm', query: 'up', condition: { op: '=~', value: 1 } }] })],
  ['metric query of 8 KB', 'canary.metrics.0.query', (s) => (s.canary = { metrics: [{ name: 'm', query: 'x'.repeat(8192), condition: { op: '<', value: 1 } }] })],
  ['metric threshold NaN', 'canary.metrics.0.condition.value', (s) => (s.canary = { metrics: [{ name: 'm', query: 'up', condition: { op: '<', value: Number.NaN } }] })],
  ['synthetic load of a million requests per second', 'canary.load.requestsPerSecond', (s) => (s.canary = { load: { requestsPerSecond: 1e6 } })],
  ['traffic wait of a year', 'canary.traffic.maxWaitSeconds', (s) => (s.canary = { traffic: { maxWaitSeconds: 3e7 } })],
  ['on-timeout unknown', 'approval.onTimeout', (s) => (s.approval = { onTimeout: 'explode' })],
  ['on-inconclusive unknown', 'shadow.onInconclusive', (s) => (s.shadow = { onInconclusive: 'maybe' })],
  // Globs.
  ['glob too long', 'copy.include.0', (s) => (s.copy = { include: ['*'.repeat(300)] })],
  ['glob empty', 'copy.exclude.0', (s) => (s.copy = { exclude: [''] })],
  ['glob with NUL', 'copy.include.0', (s) => (s.copy = { include: ['a\u0000*'] })],
  ['too many globs', 'copy.include', (s) => (s.copy = { include: Array.from({ length: 101 }, (_, i) => `g${i}/**`) })],
  // Credentials, by name and by shape.
  ['secret key field', 'source.secretAccessKey', (s) => (s.source.secretAccessKey = 'x')],
  ['connection string field', 'connectionString', (s) => (s.connectionString = 'y')],
  ['password setting', 'deployment.dependencies.0.settings.password', (s) => (s.deployment = { dependencies: [{ kind: 'database', service: 'rds', name: 'db', settings: { password: 'hunter2' } }] })],
  ['db_token setting', 'deployment.dependencies.0.settings.db_token', (s) => (s.deployment = { dependencies: [{ kind: 'database', service: 'rds', name: 'db', settings: { db_token: 'abc' } }] })],
  ['URL with password', 'deployment.dependencies.0.settings.url', (s) => (s.deployment = { dependencies: [{ kind: 'database', service: 'rds', name: 'db', settings: { url: 'postgres://admin:hunter2@db:5432/x' } }] })],
  ['AWS key id in a name', 'deployment.dependencies.0.name', (s) => (s.deployment = { dependencies: [{ kind: 'queue', service: 'sqs', name: 'AKIAABCDEFGHIJKLMNOP', settings: {} }] })],
  ['AWS secret in a setting', 'deployment.dependencies.0.settings.note', (s) => (s.deployment = { dependencies: [{ kind: 'queue', service: 'sqs', name: 'q', settings: { note: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } }] })],
  ['Azure connection string in a setting', 'deployment.dependencies.0.settings.conn', (s) => (s.deployment = { dependencies: [{ kind: 'objectStorage', service: 'blob', name: 'b', settings: { conn: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc==' } }] })],
  ['SAS URL in a setting', 'deployment.dependencies.0.settings.link', (s) => (s.deployment = { dependencies: [{ kind: 'objectStorage', service: 'blob', name: 'b', settings: { link: 'https://a.blob.core.windows.net/c?sv=2020&sig=abcdefghijklmnopqrstuvwx%3D' } }] })],
  ['private key in a setting', 'deployment.dependencies.0.settings.pem', (s) => (s.deployment = { dependencies: [{ kind: 'secrets', service: 'kms', name: 'k', settings: { pem: '-----BEGIN RSA PRIVATE KEY-----\nMIIB' } }] })],
  ['GitHub token', 'deployment.dependencies.0.settings.ci', (s) => (s.deployment = { dependencies: [{ kind: 'compute', service: 'ci', name: 'c', settings: { ci: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' } }] })],
  ['JWT', 'deployment.dependencies.0.settings.auth', (s) => (s.deployment = { dependencies: [{ kind: 'compute', service: 'api', name: 'c', settings: { auth: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc' } }] })],
  // Shapes and sizes.
  ['unknown top-level field', 'coppy', (s) => (s.coppy = {})],
  ['unknown nested field', 'copy.concurency', (s) => (s.copy = { concurency: 4 })],
  ['too many dependencies', 'deployment.dependencies', (s) => (s.deployment = { dependencies: Array.from({ length: 201 }, (_, i) => ({ kind: 'queue', service: 'sqs', name: `q${i}` })) })],
  ['dependency kind unknown', 'deployment.dependencies.0.kind', (s) => (s.deployment = { dependencies: [{ kind: 'blockchain', service: 'x', name: 'y' }] })],
  ['setting value too long', 'deployment.dependencies.0.settings.notes', (s) => (s.deployment = { dependencies: [{ kind: 'queue', service: 'sqs', name: 'q', settings: { notes: 'x'.repeat(5000) } }] })],
  ['spec beyond Temporal input size', '(spec)', (s) => (s.workload.holdout.features = Array.from({ length: 90_000 }, (_, i) => `feature-${i}`))],
  ['source missing', 'source', (s) => delete s.source],
  ['target a string', 'target', (s) => (s.target = 's3://bucket/x')],
];

export function badSpecs(tag?: string): BadSpec[] {
  return MUTATIONS.map(([label, field, change]) => {
    const spec = baseSpec(tag);
    change(spec);
    return { label, spec, field };
  });
}
