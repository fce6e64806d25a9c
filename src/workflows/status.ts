/** What the `status` query returns; plain data, safe for workflow code and clients alike. */
import type { ArtifactCheck } from '../activities/artifacts.js';
import type { ShadowSideSummary, ShadowVerdict } from '../activities/shadow.js';
import type { ServedModel } from '../endpoints/oip.js';
import type { SourceInventory } from '../audit/inventory.js';
import type { AuditReport } from '../audit/report.js';
import type { CanaryAnalysis, MetricMeasurement, QueryResult } from '../traffic/analysis.js';
import type { RouterKind } from '../traffic/route.js';
import type { Cloud } from '../spec.js';
export type { SourceInventory } from '../audit/inventory.js';

export const PHASES = ['validate', 'audit', 'standUpTarget', 'copyData', 'shadow', 'canary', 'teardown'] as const;
export type Phase = (typeof PHASES)[number];

export type PhaseState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'compensated';

export interface PhaseRecord {
  phase: Phase;
  state: PhaseState;
  startedAt?: string;
  endedAt?: string;
  detail?: string;
}


export interface MigrationStatus {
  name: string;
  /** This run's own mark (its first run id): on every object it copied and on its folder's claim; absent in runs recorded before marks. */
  runMark?: string;
  source: { cloud: Cloud; bucket: string; prefix: string };
  /** `profile`: the name of the connection profile the spec gave (never a credential); absent in older runs. */
  target: { cloud: Cloud; bucket: string; prefix: string; profile?: string };
  phase: Phase;
  state: 'running' | 'completed' | 'failed' | 'rolledBack';
  phases: PhaseRecord[];
  inventory?: SourceInventory;
  audit?: AuditReport;
  /** The copy child workflow, its progress while it runs (every 15 s at most) and, once done, its result. */
  copy?: { workflowId: string; live?: CopyStatus } & Partial<CopyDataResult>;
  /** The endpoints serving the model as stored in each cloud. */
  endpoints?: { source?: string; target?: string };
  /** Each side's server as cloudshift talks to it (V2): the model and version, its input and outputs, and whether it was adopted (never stopped by cloudshift) or started by it. */
  served?: Record<'source' | 'target', ServedModel & { adopted: boolean }>;
  /** The serving stack the target endpoint runs on, and where it loads the model from. */
  targetServer?: { server: string; repository?: string; metricsAddress?: string };
  /** What of the workload's deployment description the target's deployer could not honour. */
  endpointsNotHonoured?: string[];
  /** The model's signed artifact as the audit found it at the source and the target last verified it. */
  artifact?: { source?: ArtifactCheck; target?: ArtifactCheck };
  shadow?: {
    verdict?: ShadowVerdict;
    sides?: Partial<Record<'source' | 'target', Omit<ShadowSideSummary, 'location'>>>;
  };
  canary?: CanaryStatus;
  teardown?: { catchUp?: { workflowId: string; live?: CopyStatus } & Partial<CopyDataResult>; sourceEndpointStopped?: boolean; sourceEndpointNote?: string; sourceDeleted?: number; sourceKept?: number; sourceKeptKeys?: string[] };
  /** Compensations run on rollback, in the order they ran. */
  compensations?: { phase: Phase; what: string; outcome: 'done' | 'failed'; error?: string }[];
  /** What the migration waits for, if anything. */
  pendingGate?: PendingGate;
  /** Every approve, rollback and gate timeout, who and when, applied or not: the latest 100. */
  decisions: Decision[];
  /** Older decisions left out of `decisions` to keep the status within Temporal's payload limit. */
  decisionsDropped?: number;
  /** Why the migration failed or rolled back. */
  reason?: string;
  /** The migration report (JSON and HTML), written to the target when the migration ended. */
  report?: { json: string; html: string };
  /** Why the report could not be written (the migration's outcome stands). */
  reportError?: string;
  /** Why the report was deliberately not written (a rollback that cleaned the target up). */
  reportSkipped?: string;
}

export interface CanaryStatus {
  /** Where callers send prediction requests. */
  trafficUrl: string;
  /** What became of the data plane when the migration ended. */
  released?: string;
  /** The target's share the data plane itself held when the migration ended, read back before its release. */
  finalTargetPercent?: number;
  router: RouterKind;
  steps: number[];
  /** The step running or last run, 1-based; 0 before the first. */
  step: number;
  /** The weights as read back from the router after the step's change. */
  targetPercent: number;
  mirror: boolean;
  /** While a step holds for lack of traffic: how much came, how much it needs, where to send it. */
  waitingForTraffic?: string;
  /** Each judged step: the verdict, the reasons, what each query answered (by name). */
  analyses: CanaryStepRecord[];
  /** The queries of the latest judged step as they ran, with what they answered. */
  queries?: QueryResult[];
}

/**
 * One judged step as the status keeps it: values by query name, not the query texts (those are in
 * `canary.queries` once), so a hundred steps of twenty long queries stay far within a payload.
 */
export interface CanaryStepRecord extends Pick<CanaryAnalysis, 'verdict' | 'reasons' | 'window'> {
  targetPercent: number;
  /** What each default query answered; a query that answered nothing is absent. */
  values: Record<string, number>;
  metrics: Omit<MetricMeasurement, 'query'>[];
}

// ── the copy child's status and result ──────────────────────────────────────────────────────

export type CopyStage = 'plan' | 'copy' | 'prune' | 'verify';

export interface CopyProgress {
  listedObjects: number;
  listedBytes: number;
  copiedObjects: number;
  copiedBytes: number;
  skippedObjects: number;
  skippedBytes: number;
  vanishedCount: number;
  vanished: string[];
  deletedCount: number;
  deleted: string[];
  verifiedObjects: number;
  verifiedBytes: number;
  mismatches: number;
  mismatchKeys: string[];
  /** Failed attempts of copy batches and verify pages that were retried (absent in older runs). */
  retries?: number;
  /** Catch-up: objects the initial copy verified whose source has not changed since (carried over). */
  unchangedObjects?: number;
}

/** One point of a copy's course: seconds since it began, and the totals then. */
export interface CopySample {
  seconds: number;
  stage: CopyStage;
  /** Copied plus already there. */
  objects: number;
  bytes: number;
  verified: number;
  retries: number;
}

export interface CopyStatus {
  stage: CopyStage;
  runs: number;
  progress: CopyProgress;
  expected?: { objects: number; bytes: number };
  /** Copied plus skipped, per second of the copy so far. */
  mibPerSecond: number;
  objectsPerSecond: number;
  etaSeconds?: number;
  /** Since the copy began (across continue-as-new). */
  elapsedSeconds?: number;
}

export interface CopyDataResult {
  progress: CopyProgress;
  /** Where the verify pass wrote the manifest's JSON-lines parts. */
  manifestPrefix?: string;
  /** The highest part number written (numbers may have gaps: a page with nothing accepted writes none). */
  manifestParts?: number;
  plan?: { objects: number; bytes: number; estimatedSeconds?: number };
  /** From the copy's start to its verified end. */
  seconds?: number;
  /** The copy's course, at most TIMELINE_POINTS samples spread over the whole copy. */
  timeline?: CopySample[];
}

/** A copy keeps at most this many samples of its course, thinning the older ones as it grows. */
export const TIMELINE_POINTS = 240;

// ── gates and decisions ─────────────────────────────────────────────────────────────────────

export interface Decision {
  at: string;
  /** `analysis`: a canary step judged by cloudshift itself. */
  action: 'approve' | 'rollback' | 'timeout' | 'analysis';
  by: string;
  /** The phase the sender meant (approve) or the phase running when it arrived (rollback). */
  phase?: string;
  comment?: string;
  /** False when the decision was recorded but not acted on, with why in `note`. */
  applied: boolean;
  note?: string;
  /** What the decision was taken on: the gate's report or analysis. */
  evidence?: string;
}

export interface PendingGate {
  phase: Phase;
  waitingFor: string;
  since: string;
  evidence?: string;
  /** When the gate gives up, if it does. */
  deadline?: string;
}
