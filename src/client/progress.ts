/** Progress as a person reads it: one line per poll, with bars for the copy and the canary. */
import { formatNumber } from '../format.js';
import type { Progress } from './index.js';

const MiB = 1024 * 1024;

export function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

/**
 * A migration waiting at a gate: what it waits for, what the decision rests on (the shadow verdict
 * and its report, the last canary analysis), and the exact commands that answer it.
 */
export function gateLines(status: Progress['status']): string[] {
  const gate = status.pendingGate!;
  const lines = [`${status.name} ${status.phase}: waiting for ${gate.waitingFor}${gate.deadline ? ` (until ${gate.deadline})` : ''}`];
  const verdict = status.shadow?.verdict;
  if (gate.phase === 'shadow' && verdict) lines.push(`  shadow verdict: ${verdict.verdict ?? (verdict.passed ? 'passed' : 'failed')}${verdict.failed.length ? ` (failed: ${verdict.failed.join(', ')})` : ''}; report ${verdict.reportHtml}`);
  const last = status.canary?.analyses.at(-1);
  if (gate.phase === 'canary' && last) lines.push(`  canary at ${last.targetPercent} %: ${last.verdict}${last.reasons.length ? ` (${last.reasons.join('; ')})` : ''}; traffic to ${status.canary!.trafficUrl}`);
  if (gate.evidence) lines.push(`  evidence: ${gate.evidence}`);
  lines.push(`  approve:   npm run cloudshift -- approve ${status.name} --phase ${gate.phase}`);
  lines.push(`  roll back: npm run cloudshift -- rollback ${status.name} --reason "…"`);
  return lines;
}

export function progressLine({ status, copy }: Progress): string {
  const head = `${status.name} ${status.phase}`;
  if (status.pendingGate) return gateLines(status).join('\n');
  if (copy) {
    const p = copy.progress;
    const done = p.copiedObjects + p.skippedObjects;
    const total = copy.expected?.objects ?? Math.max(p.listedObjects, done);
    const eta = copy.etaSeconds !== undefined ? `, ${Math.ceil(copy.etaSeconds)} s left` : '';
    const stage = copy.stage === 'copy' ? '' : ` (${copy.stage}: ${p.verifiedObjects} verified)`;
    return `${head} ${bar(total ? done / total : 0)} ${done}/${total} objects, ${((p.copiedBytes + p.skippedBytes) / MiB).toFixed(1)} MiB at ${copy.mibPerSecond.toFixed(1)} MiB/s${eta}${stage}`;
  }
  if (status.phase === 'canary' && status.canary) {
    const c = status.canary;
    const last = c.analyses.at(-1);
    const judged = last ? `, last analysis ${last.verdict} (${last.window.target.requests} target requests)` : '';
    return `${head} ${bar(c.targetPercent / 100)} on the target, step ${c.step}/${c.steps.length}${c.waitingForTraffic ? `, ${c.waitingForTraffic}` : judged}; traffic to ${c.trafficUrl}`;
  }
  if (status.phase === 'shadow' && status.shadow?.verdict) return `${head}: ${status.shadow.verdict.passed ? 'passed' : 'failed'} (${status.shadow.verdict.reportHtml})`;
  return `${head} (${status.state})`;
}

/** The end of a migration in a few lines: each phase, the gate verdicts, the decisions. */
export function resultLines(status: Progress['status']): string[] {
  const lines = [`${status.name}: ${status.source.cloud} → ${status.target.cloud}, ${status.state}${status.reason ? ` (${status.reason})` : ''}`];
  for (const p of status.phases) lines.push(`  ${p.phase.padEnd(14)} ${p.state.padEnd(11)} ${p.detail ?? ''}`);
  const verdict = status.shadow?.verdict;
  if (verdict) {
    const kind = verdict.verdict ?? (verdict.passed ? 'passed' : 'failed');
    const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
    lines.push(`shadow gate ${kind === 'failed' ? `FAILED on ${list(verdict.failed).join(', ')}` : kind === 'inconclusive' ? `INCONCLUSIVE (${list(verdict.inconclusive).join('; ')})` : 'passed'}; report ${String(verdict.reportHtml)}`);
    // What a worker returned, shown as it is: a criterion may lack fields an older or broken worker left out.
    for (const c of Array.isArray(verdict.criteria) ? verdict.criteria : []) {
      if (!c || typeof c !== 'object') continue;
      const value = typeof c.value === 'number' ? formatNumber(c.value) : (c.reason ?? 'n/a');
      const verdictWord = c.status === 'notApplicable' ? '  n/a' : c.gate ? (c.passed ? '  ok' : '  FAIL') : '';
      lines.push(`  ${String(c.name).padEnd(18)} ${value.padStart(11)} ${c.threshold === undefined ? 'monitor' : `${c.comparator} ${c.threshold}`}${verdictWord}`);
    }
    for (const warning of list(verdict.noiseWarnings)) lines.push(`  noise: ${warning}`);
    for (const [side, noise] of Object.entries(verdict.noise ?? {})) {
      if (noise) lines.push(`  ${side} noise floor (${noise.comparison}, ${noise.rows} rows): max |Δ| ${formatNumber(noise.maxAbsolute)}, mean relative ${formatNumber(noise.meanRelative)}`);
    }
  }
  for (const a of status.canary?.analyses ?? []) {
    const w = a.window;
    const ms = (s?: number) => (s === undefined ? '–' : `${(s * 1000).toFixed(1)} ms`);
    lines.push(
      `canary ${String(a.targetPercent).padStart(3)} %: ${a.verdict === 'failed' ? 'FAILED' : a.verdict}; source ${w.source.requests} req, p99 ${ms(w.source.p99)}; target ${w.target.requests} req, ${(w.target.errorRate * 100).toFixed(2)} % errors, p99 ${ms(w.target.p99)}` +
        (w.mirror.agreement !== undefined ? `; mirrored agreement ${(w.mirror.agreement * 100).toFixed(2)} %` : '') +
        (a.metrics.length ? `; ${a.metrics.map((m) => `${m.name} ${m.value ?? 'no data'} ${m.passed ? 'ok' : 'FAILED'}`).join(', ')}` : '') +
        (a.reasons.length ? ` (${a.reasons.join('; ')})` : ''),
    );
  }
  for (const c of status.compensations ?? []) lines.push(`compensation (${c.phase}): ${c.what}: ${c.outcome}${c.error ? ` (${c.error})` : ''}`);
  for (const d of status.decisions) {
    lines.push(`decision ${d.at} ${d.action} by ${d.by}${d.phase ? ` (${d.phase})` : ''}${d.comment ? `: ${d.comment}` : ''}${d.applied ? (d.note ? `: ${d.note}` : '') : ` [${d.note}]`}`);
  }
  return lines;
}
