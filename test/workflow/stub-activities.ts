/**
 * Stub activities for the workflow tests: every activity the migration calls, answering at once
 * with small plausible results, logging each call in order, and failing, blocking or answering
 * otherwise where a test says so. Only the workflow's own logic is under test here.
 */
import { CancelledFailure, Context, sleep } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createAuditActivities } from '../../src/activities/audit.js';
import type { Activities } from '../../src/activities/index.js';

export type ActivityName = keyof Activities;

export interface StubOptions {
  /** Activities that fail non-retryably, by name (every call, or the n-th call from 1). */
  fail?: Partial<Record<ActivityName, true | number>>;
  /** Activities that run until cancelled (heartbeating), logging `<name>:stopped` when they stop. */
  block?: ActivityName[];
  /** Overrides of individual activities. */
  override?: Partial<Activities>;
  /** How many objects the source lists. @default 3 */
  objects?: number;
}

export function stubActivities(options: StubOptions = {}) {
  const calls: string[] = [];
  const counts = new Map<string, number>();
  const objects = Array.from({ length: options.objects ?? 3 }, (_, i) => ({ key: `data/o-${i}`, size: 100 + i, version: `v${i}` }));
  const realAudit = createAuditActivities({ stores: undefined as never });
  let weights = { targetPercent: 0, mirror: false };
  const base: Activities = {
    inventorySource: async () => ({ location: 'stub://src/data/', objects: objects.length, bytes: objects.reduce((s, o) => s + o.size, 0), largest: [], byStorageClass: {} }),
    preflightSource: async () => [{ field: 'source', check: 'readable', outcome: 'ok', detail: 'stub' }],
    measureSourceThroughput: async () => ({ mibPerSecond: 100, perObjectMs: 1, sampledBytes: 1, sampledObjects: 1, streams: 1 }) as never,
    auditReport: realAudit.auditReport,
    ensureTargetContainer: async () => undefined,
    checkSourceArtifact: async ({ artifact }) => ({ folder: `stub://src/${artifact.folder}`, signature: 'stub://sig', state: 'verified', signer: 'stub-key', files: 2, bytes: 20 }),
    listArtifactObjects: async ({ artifact }) => [{ key: `data/${artifact.folder}model.onnx`, size: 10, version: 'm1' }],
    verifyTargetArtifact: async ({ artifact }) => ({ folder: `stub://dst/${artifact.folder}`, signature: 'stub://sig', state: 'verified', signer: 'stub-key', files: 2, bytes: 20 }),
    describeSourceObject: async ({ relativeKey }) => ({ key: `data/${relativeKey}`, size: 10, version: 'm1' }),
    deployEndpoint: async ({ side }) => ({ url: `http://stub/${side}` }) as never,
    stopEndpoint: async () => undefined,
    listSourcePage: async () => ({ objects }),
    copyBatch: async (input) => ({ copied: input.objects.length, copiedBytes: input.objects.reduce((s, o) => s + o.size, 0), skipped: 0, skippedBytes: 0, vanished: [] }),
    pruneTargetPage: async () => ({ deleted: [], deletedCount: 0 }),
    // The stub's source never changes after the initial copy: every object is carried over.
    catchUpDiffPage: async (input) => ({ changed: [], listed: objects.length, listedBytes: objects.reduce((s, o) => s + o.size, 0), unchanged: objects.length, unchangedBytes: objects.reduce((s, o) => s + o.size, 0), baselinePart: input.baselinePart }),
    verifyPage: async () => ({ objects: objects.length, bytes: objects.reduce((s, o) => s + o.size, 0), mismatches: 0, mismatchKeys: [] }),
    targetIsEmpty: async () => true,
    modelChecksums: async ({ modelPaths }) => Object.fromEntries(modelPaths.map((p) => [p, 'a'.repeat(64)])),
    runShadowThroughEndpoint: async (input) =>
      ({ side: input.side, location: input.location, predictionsKey: 'p', rows: 2000, modelSha256: 'a'.repeat(64), provider: 'cpu', seconds: 1, rowsPerSecond: 2000 }) as never,
    runShadowInference: async (input) =>
      ({ side: input.side, location: input.location, predictionsKey: 'p', rows: 2000, modelSha256: 'a'.repeat(64), provider: 'cpu', seconds: 1, rowsPerSecond: 2000 }) as never,
    compareShadow: async () => ({ verdict: 'passed', passed: true, failed: [], inconclusive: [], noiseWarnings: [], criteria: [], rows: 2000, noise: {}, reportJson: 'r.json', reportHtml: 'r.html' }),
    ensureRouter: async () => ({ url: 'http://router', route: { targetPercent: 0, mirror: false, revision: 0 } }) as never,
    setWeights: async (input) => {
      weights = { targetPercent: input.targetPercent, mirror: input.mirror };
      return { ...weights, revision: input.revision } as never;
    },
    readWeights: async () => ({ ...weights, revision: 0 }) as never,
    analyseCanaryWindow: async () =>
      ({ verdict: 'passed', reasons: [], queries: [], metrics: [], window: { since: '', until: '', seconds: 1, source: {}, target: {}, mirror: {} } }) as never,
    runCanaryLoad: async () => ({ sent: 0, ok: 0, errors: 0 }),
    deleteVerifiedSourcePage: async () => ({ deleted: objects.length, kept: 0, keptKeys: [] }),
    deleteMigratedTargetPage: async () => ({ deleted: objects.length, kept: 0, keptKeys: [] }),
    releaseRouter: async () => ({ targetPercent: 0 }),
    checkServedModel: async (input) => ({ url: input.endpoint.url, model: input.endpoint.model, input: { name: 'x', datatype: 'FP32' as const }, outputs: { label: 'label', probabilities: 'probabilities' }, classes: [0, 1] }),
    writeMigrationReport: async ({ status }) => ({ json: `stub://report/${status.name}.json`, html: `stub://report/${status.name}.html` }),
  };
  const activities = Object.fromEntries(
    (Object.keys(base) as ActivityName[]).map((name) => [
      name,
      async (...args: unknown[]) => {
        const n = (counts.get(name) ?? 0) + 1;
        counts.set(name, n);
        calls.push(name);
        const failing = options.fail?.[name];
        if (failing === true || failing === n) throw ApplicationFailure.nonRetryable(`stub: ${name} failed`, 'StubFailure');
        if (options.block?.includes(name)) {
          try {
            for (;;) {
              Context.current().heartbeat();
              await sleep(100);
            }
          } catch (error) {
            calls.push(`${name}:stopped`);
            if (error instanceof CancelledFailure) throw error;
            throw error;
          }
        }
        const impl = (options.override?.[name] ?? base[name]) as (...a: unknown[]) => Promise<unknown>;
        return impl(...args);
      },
    ]),
  ) as unknown as Activities;
  return { activities, calls };
}
