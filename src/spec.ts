/**
 * The migration spec: one JSON document that describes one migration. Parsed with zod inside the
 * workflow (so a bad spec fails the execution at once, naming every bad field) and at every other
 * boundary (client, CLI). A spec names connection profiles; credentials never appear in it.
 */
import { z } from 'zod';
import { ROUTER_CAPABILITIES } from './traffic/route.js';

export const CLOUDS = ['aws', 'gcp', 'azure', 'onprem'] as const;
export type Cloud = (typeof CLOUDS)[number];

export const EXECUTION_PROVIDERS = ['auto', 'cpu', 'cuda'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export const MODEL_TASKS = ['binary', 'multiclass', 'regression'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MIGRATION_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Object keys longer than every provider accepts are refused up front: S3 and GCS take 1,024
 * bytes of UTF-8, Azure 1,024 characters, and a filesystem path segment 255 bytes. A prefix and a
 * relative path each get half, so the keys they make fit.
 */
const MAX_PATH_BYTES = 512;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** UTF-8 bytes of a well-formed string, counted without Node's Buffer (workflows parse specs too). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/**
 * Why a path (a prefix or a key relative to it) is unsafe, or undefined: it must name the same
 * object on every cloud and on a filesystem, so no '.' or '..' segment, no empty segment, no
 * leading '/', no control characters (NUL, CR, LF…), no backslash, and no invalid UTF-16
 * (which has no UTF-8 form).
 */
function unsafePath(path: string): string | undefined {
  if (path.startsWith('/')) return "starts with '/': give it relative to the bucket";
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'holds a control character (NUL, CR, LF, tab…)';
  if (path.includes('\\')) return "holds a backslash; use '/' between segments";
  if (LONE_SURROGATE.test(path)) return 'is not valid Unicode (a lone surrogate has no UTF-8 form)';
  if (utf8Length(path) > MAX_PATH_BYTES) return `is ${utf8Length(path)} bytes of UTF-8, more than ${MAX_PATH_BYTES}`;
  const segments = path.replace(/\/$/, '').split('/');
  if (path && segments.some((s) => s === '')) return "has an empty segment ('//')";
  if (segments.some((s) => s === '.' || s === '..')) return "has a '.' or '..' segment";
  if (segments.some((s) => utf8Length(s) > 255)) return 'has a segment longer than 255 bytes';
  return undefined;
}

const relativeKey = z
  .string()
  .min(1, { error: 'expected a non-empty object key, relative to the location prefix' })
  .superRefine((key, ctx) => {
    const why = unsafePath(key) ?? (key.endsWith('/') ? "ends with '/': name an object, not a folder" : undefined);
    if (why) ctx.addIssue({ code: 'custom', message: `expected an object key relative to the prefix; this one ${why}` });
  });

const relativeFolder = z
  .string()
  .min(1, { error: "expected a folder relative to the location prefix, ending with '/'" })
  .superRefine((folder, ctx) => {
    const why = unsafePath(folder) ?? (folder.endsWith('/') ? undefined : "does not end with '/': name the artifact's folder");
    if (why) ctx.addIssue({ code: 'custom', message: `expected a folder relative to the prefix; this one ${why}` });
  });

/** A key the worker resolves by name from its keys folder (CLOUDSHIFT_KEYS_DIR); never a key itself. */
const keyReference = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, {
  error: 'expected the name of a key in the worker\'s keys folder (1-63 lowercase letters, digits, dots, hyphens or underscores), never the key itself',
});

export const FINDING_SEVERITIES = ['blocking', 'manual', 'info'] as const;

/**
 * The model as a signed artifact (OpenSSF model-signing, key mode): every object under `folder`
 * is a file of it, the bundle at `signature` vouches for each file's SHA-256, and `policy` says
 * whose signature counts. Verified at the source in the audit, and at the target before its
 * endpoint loads the model and again before its shadow side runs.
 */
const artifactSchema = z
  .strictObject({
    folder: relativeFolder,
    /** The Sigstore bundle, relative to the prefix. @default `<folder>model.sig` (inside the folder, it is not itself a signed file) */
    signature: relativeKey.optional(),
    /** An in-toto provenance statement; inside the folder, so the signature covers it. */
    provenance: relativeKey.optional(),
    policy: z
      .strictObject({
        /** The public keys whose signature is accepted, by reference (`<keys folder>/<name>.pub`). */
        keys: z.array(keyReference).min(1, { error: 'expected at least one trusted key' }).max(16).optional(),
        /** Signing certificates accepted: issued under one of these roots (`<keys folder>/<name>.crt`), for one of these identities. */
        certificates: z
          .strictObject({
            roots: z.array(keyReference).min(1, { error: 'expected at least one trusted root' }).max(16),
            /** A subject alternative name (email, URI, DNS) or common name; none given accepts any certificate the roots issued. */
            identities: z.array(z.string().min(1).max(256)).min(1).max(16).optional(),
          })
          .optional(),
        /** A missing signature fails verification. @default true */
        requireSignature: z.boolean().default(true),
        /** The audit finding an unsigned artifact raises. @default blocking when a signature is required, manual otherwise */
        unsigned: z.enum(FINDING_SEVERITIES).optional(),
      })
      .refine((p) => p.keys || p.certificates, { error: 'expected keys or certificates: whose signature the policy accepts' })
      .optional(),
  })
  .superRefine((a, ctx) => {
    if (a.provenance && !a.provenance.startsWith(a.folder)) {
      ctx.addIssue({ code: 'custom', path: ['provenance'], message: `expected the provenance inside the artifact's folder ${a.folder}, so the signature covers it` });
    }
  });
export type ArtifactSpec = z.output<typeof artifactSchema>;

/**
 * How the model is served, described once for any cloud: the local deployer honours what applies
 * on one host, and `cloudshift render --target kubernetes` writes it as Kubernetes manifests.
 */
const servingSchema = z
  .strictObject({
    replicas: z.int().min(1).max(1000).default(1),
    autoscaling: z
      .strictObject({
        minReplicas: z.int().min(1).max(1000),
        maxReplicas: z.int().min(1).max(1000),
        /** Average CPU use (% of the request) the autoscaler keeps. @default 70 */
        targetCpuPercent: z.int().min(1).max(100).default(70),
      })
      .refine((a) => a.minReplicas <= a.maxReplicas, { error: 'expected minReplicas ≤ maxReplicas', path: ['maxReplicas'] })
      .optional(),
    resources: z
      .strictObject({
        /** Kubernetes CPU quantity: cores, or millicores with m (e.g. 500m). @default 1 */
        cpu: z.string().regex(/^(\d+(\.\d{1,3})?|\d+m)$/, { error: 'expected a CPU quantity: cores (1, 0.5) or millicores (500m)' }).default('1'),
        /** Kubernetes memory quantity, e.g. 512Mi, 2Gi. @default 1Gi */
        memory: z.string().regex(/^\d+(Ki|Mi|Gi|Ti)$/, { error: 'expected a memory quantity in Ki, Mi, Gi or Ti, e.g. 512Mi' }).default('1Gi'),
        /** NVIDIA GPUs per replica. @default 0 */
        gpu: z.int().min(0).max(16).default(0),
      })
      .prefault({}),
    healthCheck: z
      .strictObject({
        /** Readiness: the model is loaded. */
        path: z.enum(['/readyz', '/healthz']).default('/readyz'),
        initialDelaySeconds: z.int().min(0).max(3600).default(0),
        periodSeconds: z.int().min(1).max(300).default(5),
        timeoutSeconds: z.int().min(1).max(60).default(2),
        failureThreshold: z.int().min(1).max(100).default(30),
      })
      .prefault({}),
    telemetry: z
      .strictObject({
        /** Prometheus scrapes the endpoint's /metrics. @default true */
        prometheusScrape: z.boolean().default(true),
      })
      .prefault({}),
    exposure: z
      .strictObject({
        port: z.int().min(1024).max(65_535).default(8080),
        /** internal: reachable in the cluster (ClusterIP); public: through the Gateway's listener. */
        visibility: z.enum(['internal', 'public']).default('internal'),
        /** The host name the public route answers. */
        hostname: z.string().regex(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, { error: 'expected a DNS host name, e.g. fraud.example.com' }).max(253).optional(),
      })
      .prefault({}),
  })
  .superRefine((d, ctx) => {
    if (d.autoscaling && (d.replicas < d.autoscaling.minReplicas || d.replicas > d.autoscaling.maxReplicas)) {
      ctx.addIssue({ code: 'custom', path: ['replicas'], message: `expected replicas within the autoscaling bounds ${d.autoscaling.minReplicas}–${d.autoscaling.maxReplicas}` });
    }
  });
export type ServingSpec = z.output<typeof servingSchema>;

export const artifactSignatureKey = (a: ArtifactSpec): string => a.signature ?? `${a.folder}model.sig`;

/**
 * Bucket and container names by each provider's rules, so a bad one is refused before anything is
 * created: S3 (3–63 lowercase letters, digits, dots, hyphens; no '..', not an IP address, no
 * xn-- / sthree- prefix or -s3alias / --ol-s3 suffix), GCS (3–63 of those and underscores, no
 * 'goog' prefix, no 'google'), Azure (3–63 lowercase letters, digits and single hyphens), and a
 * directory name for on-prem.
 */
function bucketProblem(cloud: Cloud, name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return `expected 3-63 characters, got ${name.length}`;
  switch (cloud) {
    case 'aws':
      if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return 'an S3 bucket name is lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit';
      if (name.includes('..') || name.includes('.-') || name.includes('-.')) return "an S3 bucket name has no '..' and no dot next to a hyphen";
      if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'an S3 bucket name is not an IP address';
      if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name) || /(-s3alias|--ol-s3|\.mrap|--x-s3)$/.test(name)) return 'S3 reserves that prefix or suffix';
      return undefined;
    case 'gcp':
      if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) return 'a GCS bucket name is lowercase letters, digits, dots, hyphens and underscores, starting and ending with a letter or digit';
      if (name.startsWith('goog') || /g[o0][o0]gle/.test(name)) return "GCS does not allow names starting with 'goog' or containing 'google'";
      if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'a GCS bucket name is not an IP address';
      return undefined;
    case 'azure':
      if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$/.test(name)) return 'an Azure container name is lowercase letters, digits and single hyphens, starting and ending with a letter or digit';
      return undefined;
    case 'onprem':
      if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) return 'an on-prem bucket (a directory) is lowercase letters, digits, dots, hyphens and underscores';
      if (name.includes('..')) return "an on-prem bucket has no '..'";
      return undefined;
  }
}

export const storageLocationSchema = z
  .strictObject({
    cloud: z.enum(CLOUDS),
    profile: z.string().regex(PROFILE_NAME, {
      error: 'expected the name of a connection profile the worker knows (letters, digits, . _ -), e.g. "local-s3"',
    }),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, {
      error: 'expected a bucket or container name: 3-63 lowercase letters, digits, dots, hyphens or underscores (each cloud narrows it further)',
    }),
    /**
     * A folder: "fraud" and "fraud/" are the same place, and both become "fraud/", so a listing of
     * "fraud" never takes in "fraud2/" and two spellings of one place compare equal.
     */
    prefix: z
      .string()
      .superRefine((prefix, ctx) => {
        const why = unsafePath(prefix);
        if (why) ctx.addIssue({ code: 'custom', message: `expected a folder inside the bucket; this prefix ${why}` });
      })
      .transform((prefix) => (prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`))
      .default(''),
  })
  .superRefine((location, ctx) => {
    const why = bucketProblem(location.cloud, location.bucket);
    if (why) ctx.addIssue({ code: 'custom', path: ['bucket'], message: why });
    // The filesystem store keeps its checksums there; it is never listed, so a prefix inside it
    // would copy nothing and fail later.
    if (location.cloud === 'onprem' && (location.prefix === `${LOCAL_META_FOLDER}/` || location.prefix.startsWith(`${LOCAL_META_FOLDER}/`))) {
      ctx.addIssue({ code: 'custom', path: ['prefix'], message: `expected a folder outside ${LOCAL_META_FOLDER}/, where the on-prem store keeps its own records` });
    }
  });
/** The on-prem store's own folder at each bucket's root (clouds/local-store.ts). */
export const LOCAL_META_FOLDER = '.cloudshift-meta';
export type StorageLocation = z.output<typeof storageLocationSchema>;

const probability = z.number().min(0).max(1);

/** Globs are matched in time linear in the key (copy/glob.ts); their length is bounded all the same. */
export const MAX_GLOB_LENGTH = 256;
const MAX_GLOBS = 100;
const globSchema = z
  .string()
  .min(1)
  .max(MAX_GLOB_LENGTH, { error: `expected a glob of at most ${MAX_GLOB_LENGTH} characters` })
  .refine((glob) => !/[\u0000-\u001f\u007f]/.test(glob), { error: 'expected a glob without control characters' });

/** A day in seconds, and thirty: the longest a canary interval and a gate may wait. */
const DAY_SECONDS = 86_400;
const MAX_GATE_SECONDS = 30 * DAY_SECONDS;

const copySchema = z.strictObject({
  /** Objects copied at once. */
  concurrency: z.int().min(1).max(256).default(16),
  /** Keys per copy activity: hundreds, so history stays small and heartbeats stay cheap. */
  batchSize: z.int().min(1).max(1000).default(256),
  include: z.array(globSchema).max(MAX_GLOBS).default([]),
  exclude: z.array(globSchema).max(MAX_GLOBS).default([]),
  dryRun: z.boolean().default(false),
  /** Catch-up sync removes from the target what was deleted at the source (under the prefix). */
  deleteExtraneous: z.boolean().default(false),
  /** A cap on the copy's reads, 0.1 MiB/s to 100 GiB/s. */
  bandwidthMiBps: z.number().min(0.1).max(102_400).optional(),
  /**
   * The verify pass: `metadata` checks every object's size, source version and recorded SHA-256
   * (each write was already checked by the provider against the streamed MD5); `full` also
   * re-reads every target object and recomputes its SHA-256.
   */
  verify: z.enum(['metadata', 'full']).default('metadata'),
  /** Objects larger than one part go up as multipart (S3) or block (Azure) uploads. */
  partSizeMiB: z.int().min(5).max(512).default(16),
}).superRefine((copy, ctx) => {
  // Matching costs (key length × glob length) per glob: bounded in all, not only one by one.
  const total = [...copy.include, ...copy.exclude].reduce((sum, glob) => sum + glob.length, 0);
  if (total > MAX_GLOB_TOTAL) {
    ctx.addIssue({ code: 'custom', path: ['include'], message: `expected at most ${MAX_GLOB_TOTAL} characters of globs in include and exclude together, got ${total}: every key is matched against each` });
  }
});
/** Characters of include and exclude globs together: at a 1,024-character key, a few milliseconds a key at most. */
export const MAX_GLOB_TOTAL = 2048;

const shadowSchema = z.strictObject({
  /**
   * `models`: the model files as stored in each cloud, run in the worker by ONNX Runtime.
   * `endpoints`: the holdout sent through both real servers (V2, batches of batchSize, a few at
   * once, each retried), gated on what they answer: what the operator's users will see.
   */
  through: z.enum(['models', 'endpoints']).default('models'),
  executionProvider: z.enum(EXECUTION_PROVIDERS).default('auto'),
  batchSize: z.int().min(1).max(65_536).default(1024),
  tolerances: z
    .strictObject({
      maxMetricDelta: probability.default(0.001),
      maxMeanRelativeDiff: z.number().nonnegative().max(1000).default(0.001),
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
      maxPsi: z.number().nonnegative().max(1e6).optional(),
      maxWasserstein: z.number().nonnegative().max(1e300).optional(),
    })
    .prefault({}),
});

/** The data plane that moves the canary's traffic: the local HAProxy, or weighted DNS on Route 53. */
const routerSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('haproxy'),
      /** The port callers send requests to; absent: the first free one of the worker's range (CLOUDSHIFT_DATAPLANE_PORTS), kept for the migration. */
      port: z.int().min(1024).max(65_535).optional(),
    }),
    z.strictObject({
      kind: z.literal('route53'),
      /** An aws connection profile that reaches Route 53 (its endpoint, where not AWS itself). */
      profile: z.string().regex(PROFILE_NAME, { error: 'expected the name of an aws connection profile the worker knows, e.g. "local-route53"' }),
      hostedZoneId: z.string().regex(/^[A-Z0-9]{1,32}$/, { error: 'expected a Route 53 hosted zone id, e.g. "Z0123456789ABCDEFGHIJ"' }),
      /** The name callers resolve, inside the hosted zone, e.g. "predict.example.com". */
      recordName: z
        .string()
        .max(253)
        .regex(/^(?:[a-z0-9_](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\.?$/i, { error: 'expected a DNS name such as "predict.example.com"' }),
      ttlSeconds: z.int().min(0).max(172_800).default(60),
    }),
  ])
  .prefault({ kind: 'haproxy' });

const comparisons = ['<', '<=', '>', '>=', '==', '!='] as const;
export type Comparison = (typeof comparisons)[number];

/**
 * A query of the spec's own, judged at every canary step, as an Argo Rollouts AnalysisTemplate
 * metric: the step passes the metric when `value op threshold` holds; more than `failureLimit`
 * failed steps roll the migration back. The query may say {{migration}} and {{interval}} (the
 * step's window, e.g. "60s").
 */
const canaryMetricSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, { error: 'expected a metric name: a letter, then letters, digits, _ or -' }),
  query: z.string().min(1).max(4000),
  condition: z.strictObject({ op: z.enum(comparisons), value: z.number() }),
  failureLimit: z.int().min(0).max(100).default(0),
  /** A query that answers nothing: a failed measurement, or one that passes. */
  onNoData: z.enum(['fail', 'pass']).default('fail'),
});

const canarySchema = z
  .strictObject({
    steps: z
      .array(z.int().min(1).max(100))
      .min(1)
      .max(100)
      .refine((steps) => steps.every((w, i) => i === 0 || w > steps[i - 1]!), {
        error: 'expected strictly increasing percentages',
      })
      .refine((steps) => steps.at(-1) === 100, { error: 'expected the last step to be 100 (all traffic on the target)' })
      .default([1, 5, 25, 50, 100]),
    /** Seconds each step is watched: at least one, so the analysis sees requests; at most a day. */
    intervalSeconds: z.number().min(1, { error: 'expected at least 1 second per canary step' }).max(DAY_SECONDS).default(60),
    router: routerSchema,
    thresholds: z
      .strictObject({
        maxErrorRateDelta: probability.default(0.01),
        maxP50LatencyRatio: z.number().min(1).max(1000).default(1.5),
        maxP99LatencyRatio: z.number().min(1).max(1000).default(2),
        minAgreement: probability.default(0.999),
        /** Requests the target must see in an interval for the analysis to judge it. */
        minRequests: z.int().min(1).max(1_000_000).default(20),
      })
      .prefault({}),
    /** Queries of the spec's own, judged at every step beside the thresholds. */
    metrics: z.array(canaryMetricSchema).max(20).default([]),
    /**
     * Mirror source-bound requests to the target during the canary, for agreement and load.
     * Absent: where the router can.
     */
    mirror: z.boolean().optional(),
    /** Too little traffic holds a step (it is not a failure) for at most `maxWaitSeconds`; then `onTimeout`. */
    traffic: z
      .strictObject({
        maxWaitSeconds: z.number().min(0).max(DAY_SECONDS).default(600),
        onTimeout: z.enum(['approve', 'rollback']).default('approve'),
      })
      .prefault({}),
    /** A synthetic load from the shadow holdout's rows, sent to the traffic URL for the whole canary (as Flagger's load tester). */
    load: z
      .strictObject({
        requestsPerSecond: z.number().min(0.1).max(10_000),
        concurrency: z.int().min(1).max(64).default(4),
        /** Send each row's index as its sticky key. */
        sticky: z.boolean().default(false),
      })
      .optional(),
  })
  .superRefine((canary, ctx) => {
    const router = canary.router.kind;
    if (canary.mirror === true && !ROUTER_CAPABILITIES[router].mirror) {
      ctx.addIssue({ code: 'custom', path: ['mirror'], message: `expected false or absent: the ${router} router cannot mirror requests` });
    }
    const names = canary.metrics.map((m) => m.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: ['metrics', i, 'name'], message: `expected a name of its own: "${name}" is used twice` });
    });
  });

const gate = z.enum(['auto', 'manual']);
const approvalSchema = z.strictObject({
  /** Blocking audit findings either wait for an `approve` that acknowledges them, or fail. */
  onBlockingFindings: z.enum(['approve', 'fail']).default('approve'),
  afterShadow: gate.default('auto'),
  betweenCanarySteps: gate.default('auto'),
  beforeTeardown: gate.default('manual'),
  /** How long a gate waits, 1 s to 30 days; absent means forever. */
  timeoutSeconds: z
    .number()
    .min(1, { error: 'expected at least 1 second' })
    .max(MAX_GATE_SECONDS, { error: `expected at most ${MAX_GATE_SECONDS} seconds (30 days); leave it out to wait without limit` })
    .optional(),
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
  service: z.string().min(1).max(128),
  name: z.string().min(1).max(256),
  /** Non-secret settings that matter to the move, e.g. instanceType, engine, sizeGiB, exportable. */
  settings: z
    .record(z.string().max(128), z.union([z.string().max(1024), z.number(), z.boolean()]))
    .refine((settings) => Object.keys(settings).length <= 64, { error: 'expected at most 64 settings' })
    .default({}),
});
export type Dependency = z.output<typeof dependencySchema>;

const deploymentSchema = z.strictObject({
  dependencies: z.array(dependencySchema).max(200).default([]),
});

const auditSchema = z.strictObject({
  /** Copy throughput for the time estimate; absent means measured from the source. */
  throughputMiBps: z.number().min(0.01).max(1_000_000).optional(),
  /** Bytes the throughput measurement reads at most. @default 64 MiB */
  sampleMiB: z.int().min(1).max(4096).default(64),
});

/** A model's name as V2 servers take it in `/v2/models/{name}` (Triton's and KServe's rules). */
const V2_MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const v2ModelName = z.string().regex(V2_MODEL_NAME, { error: 'expected a model name as V2 servers take it: letters, digits, ".", "_" or "-", at most 128' });

/**
 * The endpoint that serves production today, adopted instead of started: cloudshift reads its
 * model's metadata, shadows and canaries it, and never stops it (unless `stopOnTeardown`).
 */
const adoptedEndpointSchema = z.strictObject({
  /** Where the server answers, e.g. http://mlserver.prod:8080. */
  // A pattern, not URL parsing: the spec is parsed inside the workflow's sandbox too. No '@' in
  // the authority, so no user or password can ride in it.
  url: z
    .string()
    .max(2048)
    .regex(/^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(?:\/[^\s?#@]*)?$/, { error: 'expected an http or https URL with no user, query or fragment, such as http://triton.prod:8000' }),
  /** The Open Inference Protocol (KServe V2 / Triton HTTP): the one cloudshift speaks to servers it adopts. */
  protocol: z.literal('v2').default('v2'),
  model: v2ModelName,
  /** A version the server serves (`/v2/models/{name}/versions/{version}`); absent: the server's default. */
  version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'expected a version such as "1" or "2024-05"' }).optional(),
  /** Which of the server's outputs is which, where they are not named as the ONNX model's (label, probabilities). */
  outputs: z
    .strictObject({
      label: z.string().min(1).max(256).optional(),
      probabilities: z.string().min(1).max(256).optional(),
      value: z.string().min(1).max(256).optional(),
    })
    .optional(),
  /** Stop it at teardown (cloudshift cannot stop what it did not start: this only records that it should be). */
  stopOnTeardown: z.boolean().default(false),
});
export type AdoptedEndpoint = z.output<typeof adoptedEndpointSchema>;

/** The serving stacks cloudshift deploys a target endpoint on: its own V2 endpoint, or NVIDIA Triton. */
export const SERVING_STACKS = ['cloudshift', 'triton'] as const;
export type ServingStack = (typeof SERVING_STACKS)[number];

const endpointsSchema = z.strictObject({
  /** The name the endpoints cloudshift runs serve the model under (`/v2/models/{modelName}`); an adopted source's name is its own. */
  modelName: v2ModelName.default('model'),
  /** The source's endpoint, adopted: absent, cloudshift starts one serving the source's model. */
  source: adoptedEndpointSchema.optional(),
  /** The target's endpoint: the serving stack cloudshift deploys the copied model on. */
  target: z.strictObject({ server: z.enum(SERVING_STACKS).default('cloudshift') }).prefault({}),
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
      features: z
        .array(z.string().min(1).max(256))
        .min(1, { error: 'expected at least one feature column' })
        .max(100_000)
        .refine((features) => new Set(features).size === features.length, {
          error: (issue) => `expected each feature once; repeated: ${[...new Set((issue.input as string[]).filter((f, i, all) => all.indexOf(f) !== i))].slice(0, 5).join(', ')}`,
        }),
      label: z.string().min(1).max(256),
      task: z.enum(MODEL_TASKS),
      /**
       * Which holdout columns feed which of the model's inputs, where it has several (a model of
       * per-column inputs named as the columns needs none): { num_a: [f0, f1], num_b: [f2] }.
       */
      inputs: z
        .record(z.string().min(1).max(256), z.array(z.string().min(1).max(256)).min(1, { error: 'expected at least one holdout column for the input' }).max(100_000))
        .refine((inputs) => Object.keys(inputs).length >= 1 && Object.keys(inputs).length <= 1000, { error: 'expected 1 to 1,000 inputs' })
        .optional(),
      /** A holdout row with a NaN or infinite feature or label: fail the shadow (default), or leave it out on both sides. */
      nonFinite: z.enum(['fail', 'skip']).default('fail'),
    })
    .superRefine((h, ctx) => {
      const features = new Set(h.features);
      for (const [input, columns] of Object.entries(h.inputs ?? {})) {
        const unknown = columns.filter((c) => !features.has(c));
        if (unknown.length) ctx.addIssue({ code: 'custom', path: ['inputs', input], message: `expected columns of workload.holdout.features; not among them: ${unknown.slice(0, 5).join(', ')}` });
      }
    }),
    artifact: artifactSchema.optional(),
    /** How the endpoints serve the model, described once (replicas, resources, health, telemetry, exposure). */
    deployment: servingSchema.prefault({}),
    /** Which endpoints cloudshift adopts and which it runs, and the name the model is served under. */
    endpoints: endpointsSchema.prefault({}),
  })
  .refine((w) => !w.holdout.features.includes(w.holdout.label), {
    error: 'the label column must not also be a feature',
    path: ['holdout', 'label'],
  })
  .superRefine((w, ctx) => {
    if (!w.artifact) return;
    const folder = w.artifact.folder;
    for (const [field, path] of [['path', w.model.path], ['targetPath', w.model.targetPath]] as const) {
      if (path !== undefined && (!path.startsWith(folder) || path === artifactSignatureKey(w.artifact))) {
        ctx.addIssue({ code: 'custom', path: ['model', field], message: `expected the model inside the artifact's folder ${folder}, so its signature covers it` });
      }
    }
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
  .superRefine((s, ctx) => {
    const overlap = locationOverlap(s.source, s.target);
    if (overlap) {
      ctx.addIssue({
        code: 'custom',
        path: ['target'],
        message: `expected a target apart from the source: ${describeLocation(s.target)} ${overlap} ${describeLocation(s.source)}. A copy into its own source, a prune of it or a clean-up there would delete source data; choose another bucket or a prefix outside the source`,
      });
    }
  })
  // Absent, the canary mirrors where the router can: the data plane captures both servers' answers.
  .transform((s) => ({ ...s, canary: { ...s.canary, mirror: s.canary.mirror ?? ROUTER_CAPABILITIES[s.canary.router.kind].mirror } }));

export const describeLocation = (l: Pick<StorageLocation, 'cloud' | 'bucket' | 'prefix'>): string => `${l.cloud}:${l.bucket}/${l.prefix}`;

/**
 * How two locations overlap, or undefined when they are apart. S3 and GCS bucket names are global,
 * so one aws or gcp bucket is one store whatever profile reaches it (a bucket named through two
 * profiles was accepted, and teardown deleted the source it had just "copied"). Azure container
 * names are per account and on-prem buckets per root, so there the profile tells stores apart and
 * the worker compares the accounts and directories the profiles resolve to (StoreResolver.canonical).
 * Prefixes are folders, compared segment by segment (parsing made both end in '/').
 */
export function locationOverlap(
  source: Pick<StorageLocation, 'cloud' | 'bucket' | 'prefix'> & { profile?: string },
  target: Pick<StorageLocation, 'cloud' | 'bucket' | 'prefix'> & { profile?: string },
): string | undefined {
  if (source.cloud !== target.cloud || source.bucket !== target.bucket) return undefined;
  const globalNames = source.cloud === 'aws' || source.cloud === 'gcp';
  if (!globalNames && source.profile !== target.profile) return undefined;
  const a = asFolder(source.prefix);
  const b = asFolder(target.prefix);
  if (a === b) return 'is the same place as the source';
  if (b.startsWith(a)) return 'lies inside the source';
  if (a.startsWith(b)) return 'holds the source';
  return undefined;
}

const asFolder = (prefix: string) => (prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`);

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

/** Temporal warns above 512 KiB of workflow input and refuses above 2 MiB; a spec is far smaller. */
export const MAX_SPEC_JSON_BYTES = 512 * 1024;

export function parseSpec(input: unknown): ParseSpecResult {
  let size: number;
  try {
    size = JSON.stringify(input ?? null).length;
  } catch {
    return { ok: false, issues: [{ field: '(spec)', message: 'expected a JSON value (it could not be serialised: a cycle, or a BigInt)' }] };
  }
  if (size > MAX_SPEC_JSON_BYTES) {
    return { ok: false, issues: [{ field: '(spec)', message: `expected a spec of at most ${MAX_SPEC_JSON_BYTES} characters of JSON, got ${size}: Temporal refuses workflow inputs this large` }] };
  }
  const result = migrationSpecSchema.safeParse(input);
  if (!result.success) return { ok: false, issues: result.error.issues.flatMap(toSpecIssues) };
  const secrets = credentialLookingValues(result.data);
  if (secrets.length) return { ok: false, issues: secrets };
  return { ok: true, spec: result.data };
}

/**
 * Values that look like credentials, by shape: a URL with a password, an AWS access key id or
 * secret key, an Azure account key, SAS signature or connection string, a private key, a token
 * of a well-known format, a JWT. Refused wherever they sit (settings especially), since a spec is
 * a workflow input and so lives in history. The message never repeats the value.
 */
const SECRET_SHAPES: [RegExp, string][] = [
  [/[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i, 'a URL with a password in it'],
  [/\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b/, 'an AWS access key id'],
  [/(?:AccountKey|SharedAccessSignature|SharedAccessKey)=/i, 'an Azure account key or connection string'],
  [/[?&]sig=[A-Za-z0-9%/+=]{16,}/, 'a SAS signature'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\b(?:ghp|gho|ghs|ghu|github_pat|glpat|xox[abpr]|sk_live|sk-[a-z]*|AIza)[-_A-Za-z0-9]{16,}/, 'an API token'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/, 'a JSON web token'],
];
/** 40 characters of base64 mixing cases and digits, as AWS secret keys are (a hex digest is not). */
const looksLikeAwsSecret = (value: string) =>
  (value.match(/(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/g) ?? []).some((t) => /[a-z]/.test(t) && /[A-Z]/.test(t) && /[0-9]/.test(t));
const CREDENTIAL_KEY = /^(?:.*[-_.])?(?:secret|password|passwd|pwd|token|credentials?|api.?key|access.?key|account.?key|private.?key|connection.?string|sas)(?:[-_.].*)?$/i;

function credentialLookingValues(spec: MigrationSpec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const walk = (value: unknown, path: string[]) => {
    if (issues.length >= 20) return;
    if (typeof value === 'string') {
      const shape = SECRET_SHAPES.find(([re]) => re.test(value))?.[1] ?? (looksLikeAwsSecret(value) ? 'an AWS secret access key' : undefined);
      if (shape) issues.push({ field: path.join('.'), message: `not allowed: this looks like ${shape}, and a spec never holds credentials; name a connection profile and let the worker resolve them` });
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, String(i)]));
    else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (path.at(-1) === 'settings' && CREDENTIAL_KEY.test(key)) {
          issues.push({ field: [...path, key].join('.'), message: 'not allowed: a setting named like a credential; a spec never holds credentials (they would be kept in workflow history)' });
        } else walk(v, [...path, key]);
      }
    }
  };
  walk(spec, []);
  return issues;
}

const CREDENTIAL_LIKE = /secret|password|passwd|token|credential|access.?key|account.?key|connection.?string|sas/i;

function toSpecIssues(issue: z.core.$ZodIssue): SpecIssue[] {
  const field = issue.path.map(String).join('.') || '(spec)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      field: field === '(spec)' ? key : `${field}.${key}`,
      message: CREDENTIAL_LIKE.test(key)
        ? 'not allowed: a spec never holds credentials; name a connection profile and let the worker resolve them'
        : 'unknown field; check its spelling against the spec reference in docs/spec.md',
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
