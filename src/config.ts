/**
 * The worker's and CLI's configuration, parsed once from the environment at start. Nothing else
 * reads process.env.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { loadProfilesFile, localStackProfiles, type Profile } from './clouds/profiles.js';
import { PROJECT_ROOT } from './paths.js';
import { CLOUD_TASK_QUEUES, CONTROL_TASK_QUEUE } from './workflows/definitions.js';

export const QUEUE_SELECTORS = ['control', 'aws', 'gcp', 'azure', 'onprem'] as const;
export type QueueSelector = (typeof QUEUE_SELECTORS)[number];

const envSchema = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  /** Comma-separated: control, aws, gcp, azure, onprem, or all. */
  CLOUDSHIFT_QUEUES: z.string().default('all'),
  /** A YAML or JSON file of connection profiles, merged over the local stack's. */
  CLOUDSHIFT_PROFILES: z.string().optional(),
  CLOUDSHIFT_STATE_DIR: z.string().default(join(PROJECT_ROOT, '.stack')),
  /** The folder of signing keys by name (<name>.pub trusted public keys, <name>.pem private keys for `cloudshift sign`). @default <state dir>/keys */
  CLOUDSHIFT_KEYS_DIR: z.string().optional(),
  /** Objects above the copy's part size that this worker transfers at once, over all its batches. */
  CLOUDSHIFT_LARGE_OBJECTS_AT_ONCE: z.coerce.number().int().min(1).max(256).optional(),
  /** Where the canary analysis queries metrics. */
  CLOUDSHIFT_PROMETHEUS_URL: z.url().default('http://127.0.0.1:9090'),
  /** Prometheus's file-based service discovery folder, where the worker lists what to scrape. @default <state dir>/prometheus/targets */
  CLOUDSHIFT_SCRAPE_TARGETS_DIR: z.string().optional(),
  /** Where the worker serves the Temporal SDK's metrics for Prometheus; empty: nowhere. */
  CLOUDSHIFT_METRICS_ADDRESS: z
    .string()
    .regex(/^(|[\w.-]+:\d{1,5})$/, { error: 'expected host:port, e.g. 127.0.0.1:9464, or empty' })
    .default('127.0.0.1:9464'),
  /** Where this worker's endpoints and data planes listen: 0.0.0.0 in a container, so they are reachable from outside it. */
  CLOUDSHIFT_LISTEN_HOST: z.string().regex(/^[\w.:-]+$/, { error: 'expected a host or an IP address, e.g. 127.0.0.1 or 0.0.0.0' }).default('127.0.0.1'),
  /** The host others reach them at (traffic URLs, Prometheus's targets), e.g. the compose service name. @default the listen host, or 127.0.0.1 when that is a wildcard */
  CLOUDSHIFT_ADVERTISE_HOST: z.string().regex(/^[\w.:-]+$/, { error: 'expected a host name or an IP address' }).optional(),
  /** Ports the local data plane hands to migrations, two each: FIRST-LAST. */
  CLOUDSHIFT_DATAPLANE_PORTS: z
    .string()
    .regex(/^\d{4,5}-\d{4,5}$/, { error: 'expected FIRST-LAST, e.g. 18080-18199' })
    .default('18080-18199'),
});

export interface Config {
  temporal: { address: string; namespace: string };
  queues: QueueSelector[];
  profiles: Record<string, Profile>;
  stateDir: string;
  keysDir: string;
  /** A fixed cap on large transfers at once; absent, the worker adapts it to the target. */
  largeObjectsAtOnce?: number;
  prometheusUrl: string;
  scrapeTargetsDir: string;
  /** host:port of the worker's metrics, or undefined for none. */
  metricsAddress?: string;
  dataPlanePorts: { first: number; last: number };
  /** Where endpoints and data planes listen, and the host others reach them at. */
  network: { listenHost: string; advertiseHost: string };
}

export function parseQueues(value: string): QueueSelector[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.includes('all')) return [...QUEUE_SELECTORS];
  const unknown = names.filter((n) => !(QUEUE_SELECTORS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new Error(`unknown queue selector(s) ${JSON.stringify(unknown)}; expected a comma-separated list of ${QUEUE_SELECTORS.join(', ')} or all`);
  }
  return names as QueueSelector[];
}

export function taskQueueOf(selector: QueueSelector): string {
  return selector === 'control' ? CONTROL_TASK_QUEUE : CLOUD_TASK_QUEUES[selector];
}

export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env, queuesOverride?: string): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  return {
    temporal: { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE },
    queues: parseQueues(queuesOverride ?? e.CLOUDSHIFT_QUEUES),
    profiles: { ...localStackProfiles(e.CLOUDSHIFT_STATE_DIR), ...(e.CLOUDSHIFT_PROFILES ? loadProfilesFile(e.CLOUDSHIFT_PROFILES) : {}) },
    stateDir: e.CLOUDSHIFT_STATE_DIR,
    keysDir: e.CLOUDSHIFT_KEYS_DIR ?? join(e.CLOUDSHIFT_STATE_DIR, 'keys'),
    ...(e.CLOUDSHIFT_LARGE_OBJECTS_AT_ONCE === undefined ? {} : { largeObjectsAtOnce: e.CLOUDSHIFT_LARGE_OBJECTS_AT_ONCE }),
    prometheusUrl: e.CLOUDSHIFT_PROMETHEUS_URL,
    metricsAddress: e.CLOUDSHIFT_METRICS_ADDRESS || undefined,
    scrapeTargetsDir: e.CLOUDSHIFT_SCRAPE_TARGETS_DIR ?? join(e.CLOUDSHIFT_STATE_DIR, 'prometheus', 'targets'),
    dataPlanePorts: dataPlanePorts(e.CLOUDSHIFT_DATAPLANE_PORTS),
    network: { listenHost: e.CLOUDSHIFT_LISTEN_HOST, advertiseHost: e.CLOUDSHIFT_ADVERTISE_HOST ?? (isWildcard(e.CLOUDSHIFT_LISTEN_HOST) ? '127.0.0.1' : e.CLOUDSHIFT_LISTEN_HOST) },
  };
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::';

function dataPlanePorts(range: string): { first: number; last: number } {
  const [first, last] = range.split('-').map(Number) as [number, number];
  if (!(first >= 1024 && last <= 65_535 && last > first)) {
    throw new Error(`Invalid environment: CLOUDSHIFT_DATAPLANE_PORTS: expected FIRST-LAST with 1024 ≤ FIRST < LAST ≤ 65535, got ${range}`);
  }
  return { first, last };
}
