/**
 * The migration spec: one JSON document that describes one migration. Parsed with zod inside the
 * workflow (so a bad spec fails the execution at once, naming every bad field) and at every other
 * boundary (client, CLI). A spec names connection profiles; credentials never appear in it.
 */
import { z } from 'zod';

export const CLOUDS = ['aws', 'gcp', 'azure', 'onprem'] as const;
export type Cloud = (typeof CLOUDS)[number];

export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'cuda'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export const MODEL_TASKS = ['binary', 'multiclass', 'regression'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MIGRATION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

const relativeKey = z
  .string()
  .min(1, { error: 'expected a non-empty object key, relative to the location prefix' })
  .refine((key) => !key.startsWith('/') && !key.split('/').includes('..'), {
    error: "expected a key relative to the prefix, without a leading '/' or '..' segments",
  });

export const storageLocationSchema = z.strictObject({
  cloud: z.enum(CLOUDS),
  profile: z.string().regex(PROFILE_NAME, {
    error: 'expected the name of a connection profile the worker knows (letters, digits, . _ -), e.g. "local-s3"',
  }),
  bucket: z.string().regex(BUCKET_NAME, {
    error: 'expected a bucket or container name: 3-63 lowercase letters, digits, dots or hyphens',
  }),
  prefix: z
    .string()
    .refine((prefix) => !prefix.startsWith('/'), { error: "expected a prefix without a leading '/'" })
    .default(''),
});
export type StorageLocation = z.output<typeof storageLocationSchema>;

const probability = z.number().min(0).max(1);

const copySchema = z.strictObject({
  /** Objects copied at once. */
  concurrency: z.int().min(1).max(256).default(16),
  /** Keys per copy activity: hundreds, so history stays small and heartbeats stay cheap. */
  batchSize: z.int().min(1).max(1000).default(256),
  include: z.array(z.string().min(1)).default([]),
  exclude: z.array(z.string().min(1)).default([]),
  dryRun: z.boolean().default(false),
  /** Catch-up sync removes from the target what was deleted at the source (under the prefix). */
  deleteExtraneous: z.boolean().default(false),
  bandwidthMiBps: z.number().positive().optional(),
  /**
   * The verify pass: `metadata` checks every object's size, source version and recorded SHA-256
   * (each write was already checked by the provider against the streamed MD5); `full` also
   * re-reads every target object and recomputes its SHA-256.
   */
  verify: z.enum(['metadata', 'full']).default('metadata'),
  /** Objects larger than one part go up as multipart (S3) or block (Azure) uploads. */
  partSizeMiB: z.int().min(5).max(512).default(16),
});

const shadowSchema = z.strictObject({
  executionProvider: z.enum(EXECUTION_PROVIDERS).default('auto'),
  batchSize: z.int().min(1).max(65_536).default(1024),
  tolerances: z
    .strictObject({
      maxMetricDelta: z.number().nonnegative().default(0.001),
      maxMeanRelativeDiff: z.number().nonnegative().default(0.001),
      minLabelAgreement: probability.default(0.999),
      /** Mean over rows of the largest per-class probability difference (classifiers). */
      maxProbabilityDelta: probability.default(0.001),
    })
    .prefault({}),
  /** `upperBound`: accuracy and agreement pass only when their 95 % interval lies within the tolerance. */
  gateOn: z.enum(['estimate', 'upperBound']).default('estimate'),
  /**
   * A holdout too small to resolve the tolerance (one row is more than it) gives "inconclusive":
   * `approve` waits for an operator, `fail` rolls back, `pass` goes on.
   */
  onInconclusive: z.enum(['approve', 'fail', 'pass']).default('approve'),
  /** Distribution-level statistics are drift monitors; each becomes a gate when given here. */
  driftGates: z
    .strictObject({
      maxKsStatistic: probability.optional(),
      maxPsi: z.number().nonnegative().optional(),
      maxWasserstein: z.number().nonnegative().optional(),
    })
    .prefault({}),
});

const canarySchema = z.strictObject({
  steps: z
    .array(z.int().min(1).max(100))
    .min(1)
    .refine((steps) => steps.every((w, i) => i === 0 || w > steps[i - 1]!), {
      error: 'expected strictly increasing percentages',
    })
    .refine((steps) => steps.at(-1) === 100, { error: 'expected the last step to be 100 (all traffic on the target)' })
    .default([1, 5, 25, 50, 100]),
  intervalSeconds: z.number().positive().max(86_400).default(60),
  thresholds: z
    .strictObject({
      maxErrorRateDelta: probability.default(0.01),
      maxP50LatencyRatio: z.number().positive().default(1.5),
      maxP99LatencyRatio: z.number().positive().default(2),
      minAgreement: probability.default(0.999),
      /** Requests the target must see in an interval for the analysis to say anything. */
      minRequests: z.int().min(1).default(20),
    })
    .prefault({}),
  /** Mirror source-bound requests to the target during the canary, for agreement and load. */
  mirror: z.boolean().default(true),
});

const gate = z.enum(['auto', 'manual']);
const approvalSchema = z.strictObject({
  /** Blocking audit findings either wait for an `approve` that acknowledges them, or fail. */
  onBlockingFindings: z.enum(['approve', 'fail']).default('approve'),
  afterShadow: gate.default('auto'),
  betweenCanarySteps: gate.default('auto'),
  beforeTeardown: gate.default('manual'),
  /** How long a gate waits; absent means forever. */
  timeoutSeconds: z.number().positive().optional(),
  onTimeout: z.enum(['rollback', 'wait']).default('rollback'),
});

const teardownSchema = z.strictObject({
  stopSourceEndpoint: z.boolean().default(true),
  /** Deletes source objects only after the copy manifest verifies. */
  deleteSourceData: z.boolean().default(false),
  /** On rollback, remove what the migration wrote to the target. */
  deleteTargetDataOnRollback: z.boolean().default(false),
});

export const DEPENDENCY_KINDS = [
  'mlService',
  'objectStorage',
  'containerRegistry',
  'queue',
  'database',
  'secrets',
  'monitoring',
  'network',
  'dns',
  'compute',
] as const;
export type DependencyKind = (typeof DEPENDENCY_KINDS)[number];

/** One piece of the source deployment, as its cloud names it (e.g. kind queue, service sqs). */
const dependencySchema = z.strictObject({
  kind: z.enum(DEPENDENCY_KINDS),
  /** The cloud's service name, e.g. sagemaker-endpoint, s3, sqs, secrets-manager, cloudwatch. */
  service: z.string().min(1),
  name: z.string().min(1),
  /** Non-secret settings that matter to the move, e.g. instanceType, engine, sizeGiB, exportable. */
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
});
export type Dependency = z.output<typeof dependencySchema>;

const deploymentSchema = z.strictObject({
  dependencies: z.array(dependencySchema).max(200).default([]),
});

const auditSchema = z.strictObject({
  /** Copy throughput for the time estimate; absent means measured from the source. */
  throughputMiBps: z.number().positive().optional(),
  /** Bytes the throughput measurement reads at most. @default 64 MiB */
  sampleMiB: z.int().min(1).max(4096).default(64),
});

const workloadSchema = z
  .strictObject({
    model: z.strictObject({
      path: relativeKey,
      /**
       * The model the target serves, when it is not the source's (e.g. re-exported for the
       * target's runtime). It is copied with the rest; the shadow gate is what proves it equivalent.
       */
      targetPath: relativeKey.optional(),
    }),
    holdout: z.strictObject({
      path: relativeKey,
      /** `npy`: a 2-D float32 or float64 array (numpy.save), columns the features in order, then the label. */
      format: z.enum(['csv', 'jsonl', 'npy']),
      features: z.array(z.string().min(1)).min(1, { error: 'expected at least one feature column' }),
      label: z.string().min(1),
      task: z.enum(MODEL_TASKS),
    }),
  })
  .refine((w) => !w.holdout.features.includes(w.holdout.label), {
    error: 'the label column must not also be a feature',
    path: ['holdout', 'label'],
  });

export const migrationSpecSchema = z
  .strictObject({
    name: z.string().regex(MIGRATION_NAME, {
      error: 'expected 1-63 lowercase letters, digits or hyphens, starting with a letter or digit (it becomes the workflow id)',
    }),
    source: storageLocationSchema,
    target: storageLocationSchema,
    workload: workloadSchema.optional(),
    deployment: deploymentSchema.prefault({}),
    audit: auditSchema.prefault({}),
    copy: copySchema.prefault({}),
    shadow: shadowSchema.prefault({}),
    canary: canarySchema.prefault({}),
    approval: approvalSchema.prefault({}),
    teardown: teardownSchema.prefault({}),
  })
  .refine((s) => !sameLocation(s.source, s.target), {
    error: 'expected a target other than the source (cloud, profile, bucket and prefix are all the same)',
    path: ['target'],
  });

function sameLocation(a: StorageLocation, b: StorageLocation): boolean {
  return a.cloud === b.cloud && a.profile === b.profile && a.bucket === b.bucket && a.prefix === b.prefix;
}

/** A spec after defaults are applied. */
export type MigrationSpec = z.output<typeof migrationSpecSchema>;
/** A spec as a person writes it: every field with a default may be left out. */
export type MigrationSpecInput = z.input<typeof migrationSpecSchema>;

export interface SpecIssue {
  /** Dotted path of the bad field, e.g. `source.bucket` or `canary.steps.2`. */
  field: string;
  message: string;
}

export type ParseSpecResult = { ok: true; spec: MigrationSpec } | { ok: false; issues: SpecIssue[] };

export function parseSpec(input: unknown): ParseSpecResult {
  const result = migrationSpecSchema.safeParse(input);
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, issues: result.error.issues.flatMap(toSpecIssues) };
}

const CREDENTIAL_LIKE = /secret|password|passwd|token|credential|access.?key|account.?key|connection.?string|sas/i;

function toSpecIssues(issue: z.core.$ZodIssue): SpecIssue[] {
  const field = issue.path.map(String).join('.') || '(spec)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      field: field === '(spec)' ? key : `${field}.${key}`,
      message: CREDENTIAL_LIKE.test(key)
        ? 'not allowed: a spec never holds credentials; name a connection profile and let the worker resolve them'
        : 'unknown field; check its spelling against the spec reference in README.md',
    }));
  }
  return [{ field, message: issue.message }];
}

export function formatSpecIssues(issues: readonly SpecIssue[]): string {
  const lines = issues.map((i) => `  - ${i.field}: ${i.message}`);
  return `Invalid migration spec (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** The key of an object named relative to a location's prefix. */
export function keyIn(location: StorageLocation, relative: string): string {
  if (!location.prefix) return relative;
  return location.prefix.endsWith('/') ? `${location.prefix}${relative}` : `${location.prefix}/${relative}`;
}
