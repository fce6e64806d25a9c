/**
 * The `status` query: what an operator needs first, small enough to read in the Web UI's query
 * panel — the phase, the gate and how to answer it, progress in a line, the last verdict or
 * analysis, where traffic goes. The whole record is the `record` query (or `cloudshift status
 * ID --json`). Pure: built from the record at query time.
 */
import type { MigrationStatus, Phase } from './status.js';

export interface MigrationOverview {
  migration: string;
  /** e.g. `aws:src/data/ → gcp:dst/data/` */
  move: string;
  state: MigrationStatus['state'];
  phase: Phase;
  /** A gate waiting: for what, since when, until when, and the two answers. */
  waiting?: { for: string; since: string; until?: string; approve: string; rollback: string; evidence?: string };
  /** One line: the copy's or the catch-up's objects and rate, or the canary's step. */
  progress?: string;
  shadow?: string;
  canary?: string;
  reason?: string;
  more: string;
}

export function overviewOf(record: MigrationStatus, namespace = 'default'): MigrationOverview {
  // The commands as printed must reach this migration from anywhere: its namespace said where it is not the default.
  const ns = namespace === 'default' ? '' : ` --namespace ${namespace}`;
  const where = (l: MigrationStatus['source']) => `${l.cloud}:${l.bucket}/${l.prefix}`;
  const gate = record.pendingGate;
  const id = record.name;
  const verdict = record.shadow?.verdict;
  const canary = record.canary;
  const last = canary?.analyses.at(-1);
  const copy = record.copy?.progress === undefined ? record.copy?.live : record.teardown?.catchUp?.progress === undefined ? record.teardown?.catchUp?.live : undefined;
  return {
    migration: id,
    move: `${where(record.source)} → ${where(record.target)}`,
    state: record.state,
    phase: record.phase,
    ...(gate
      ? {
          waiting: {
            for: gate.waitingFor,
            since: gate.since,
            ...(gate.deadline ? { until: gate.deadline } : {}),
            approve: `update "approve" with {"by": "<you>", "phase": "${gate.phase}"}, or: cloudshift approve ${id} --phase ${gate.phase}${ns}`,
            rollback: `update "rollback" with {"by": "<you>", "reason": "<why>"}, or: cloudshift rollback ${id} --reason "<why>"${ns}`,
            ...(gate.evidence ? { evidence: gate.evidence } : {}),
          },
        }
      : {}),
    ...(copy
      ? {
          progress: `${copy.stage}: ${copy.progress.copiedObjects + copy.progress.skippedObjects} of ${copy.expected?.objects ?? copy.progress.listedObjects} objects, ${copy.objectsPerSecond.toFixed(0)} objects/s, ${copy.mibPerSecond.toFixed(1)} MiB/s${copy.etaSeconds !== undefined ? `, ${Math.ceil(copy.etaSeconds)} s left` : ''}`,
        }
      : {}),
    ...(verdict ? { shadow: `${verdict.verdict ?? (verdict.passed ? 'passed' : 'failed')}${verdict.failed.length ? ` (failed: ${verdict.failed.join(', ')})` : ''}; report ${verdict.reportHtml}` } : {}),
    ...(canary
      ? {
          canary:
            `${canary.targetPercent} % on the target, step ${canary.step}/${canary.steps.length} through ${canary.router}; traffic to ${canary.trafficUrl}` +
            (canary.waitingForTraffic ? `; ${canary.waitingForTraffic}` : last ? `; at ${last.targetPercent} %: ${last.verdict}${last.reasons.length ? ` (${last.reasons.join('; ')})` : ''}` : ''),
        }
      : {}),
    ...(record.reason ? { reason: record.reason } : {}),
    more: `the whole record: query "record", or cloudshift status ${id} --json`,
  };
}
