/** Progress as a person reads it: one line per poll, with bars for the copy and the canary. */
import { artifactLine } from '../audit/report.js';
import { duration, formatNumber } from '../format.js';
import type { CopyDataResult } from '../workflows/status.js';
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
export function gateLines(status: Progress['status'], namespace = 'default'): string[] {
  const ns = namespace === 'default' ? '' : ` --namespace ${namespace}`;
  const gate = status.pendingGate!;
  const lines = [`${status.name} ${status.phase}: waiting for ${gate.waitingFor}${gate.deadline ? ` (until ${gate.deadline})` : ''}`];
  const verdict = status.shadow?.verdict;
  if (gate.phase === 'shadow' && verdict) lines.push(`  shadow verdict: ${verdict.verdict ?? (verdict.passed ? 'passed' : 'failed')}${verdict.failed.length ? ` (failed: ${verdict.failed.join(', ')})` : ''}; report ${verdict.reportHtml}`);
  const last = status.canary?.analyses.at(-1);
  if (gate.phase === 'canary' && last) lines.push(`  canary at ${last.targetPercent} %: ${last.verdict}${last.reasons.length ? ` (${last.reasons.join('; ')})` : ''}; traffic to ${status.canary!.trafficUrl}`);
  if (gate.evidence) lines.push(`  evidence: ${gate.evidence}`);
  lines.push(`  approve:   npm run cloudshift -- approve ${status.name} --phase ${gate.phase}${ns}`);
  lines.push(`  roll back: npm run cloudshift -- rollback ${status.name} --reason "…"${ns}`);
  return lines;
}

export function progressLine({ status, copy }: Progress, namespace = 'default'): string {
  const head = `${status.name} ${status.phase}`;
  if (status.pendingGate) return gateLines(status, namespace).join('\n');
  if (copy) {
    const p = copy.progress;
    const done = p.copiedObjects + p.skippedObjects;
    const total = copy.expected?.objects ?? Math.max(p.listedObjects, done);
    const what = status.phase === 'teardown' ? 'catch-up' : 'copy';
    const stage = copy.stage === 'verify' ? `${what} verify ${p.verifiedObjects}/${total}` : copy.stage === 'copy' ? what : `${what} ${copy.stage}`;
    const timing = [
      copy.elapsedSeconds !== undefined ? `${duration(copy.elapsedSeconds)} elapsed` : '',
      copy.etaSeconds !== undefined && copy.stage === 'copy' ? `${duration(copy.etaSeconds)} left` : '',
    ].filter(Boolean);
    const troubles = [p.retries ? plural(p.retries, 'retry', 'retries') : '', p.mismatches ? plural(p.mismatches, 'mismatch', 'mismatches') : ''].filter(Boolean);
    return (
      `${head} ${stage} ${bar(total ? (copy.stage === 'verify' ? p.verifiedObjects : done) / total : 0)} ${done}/${total} objects, ` +
      `${((p.copiedBytes + p.skippedBytes) / MiB).toFixed(1)} MiB, ${copy.objectsPerSecond.toFixed(0)} objects/s, ${copy.mibPerSecond.toFixed(1)} MiB/s` +
      (timing.length ? `, ${timing.join(', ')}` : '') +
      (troubles.length ? `, ${troubles.join(', ')}` : '')
    );
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

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

/**
 * A finished copy (or catch-up) in one line, as rclone's final stats read: objects and bytes,
 * elapsed and rate, then what was copied, found already there and verified, and what went wrong.
 */
export function copySummary(what: string, copy: Partial<CopyDataResult>): string | undefined {
  const p = copy.progress;
  if (!p) return undefined;
  const objects = p.copiedObjects + p.skippedObjects;
  const bytes = p.copiedBytes + p.skippedBytes;
  const rate = copy.seconds ? `in ${duration(copy.seconds)} (${(objects / copy.seconds).toFixed(1)} objects/s, ${(bytes / MiB / copy.seconds).toFixed(2)} MiB/s)` : '';
  return (
    `${what}: ${plural(objects, 'object', 'objects')}, ${(bytes / MiB).toFixed(1)} MiB ${rate}: ` +
    `${p.copiedObjects.toLocaleString('en')} copied, ${p.skippedObjects.toLocaleString('en')} already there${p.unchangedObjects ? ` (${p.unchangedObjects.toLocaleString('en')} unchanged since the copy's manifest)` : ''}, ${p.verifiedObjects.toLocaleString('en')} verified` +
    `${p.deletedCount ? `, ${p.deletedCount.toLocaleString('en')} pruned` : ''}${p.vanishedCount ? `, ${p.vanishedCount.toLocaleString('en')} vanished from the source` : ''}; ` +
    `${plural(p.mismatches, 'mismatch', 'mismatches')}, ${plural(p.retries ?? 0, 'retry', 'retries')}`
  );
}

/** The end of a migration in a few lines: each phase, the gate verdicts, the decisions. */
export function resultLines(status: Progress['status']): string[] {
  const lines = [`${status.name}: ${status.source.cloud} → ${status.target.cloud}, ${status.state}${status.reason ? ` (${status.reason})` : ''}`];
  for (const p of status.phases) lines.push(`  ${p.phase.padEnd(14)} ${p.state.padEnd(11)} ${p.detail ?? ''}`);
  for (const line of [status.copy && copySummary('copy', status.copy), status.teardown?.catchUp && copySummary('catch-up', status.teardown.catchUp)]) {
    if (line) lines.push(line);
  }
  const artifact = status.artifact?.target ?? status.artifact?.source;
  if (artifact) lines.push(`${status.artifact?.target ? 'at the target: ' : 'at the source: '}${artifactLine(artifact)}`);
  if (status.served) {
    for (const side of ['source', 'target'] as const) {
      const s = status.served[side];
      lines.push(`${side} endpoint ${s.url} (${s.adopted ? 'adopted: cloudshift never stops it' : `run by cloudshift${side === 'target' && status.targetServer ? ` on ${status.targetServer.server}` : ''}`}): V2 model ${s.model}${s.version ? ` version ${s.version}` : ''}, input ${s.input.name}`);
    }
  }
  if (status.targetServer?.repository) lines.push(`  target model repository: ${status.targetServer.repository}`);
  for (const note of status.endpointsNotHonoured ?? []) lines.push(`  target endpoint, not honoured locally: ${note}`);
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
      `canary ${String(a.targetPercent).padStart(3)} %: ${a.verdict === 'failed' ? 'FAILED' : a.verdict}; source ${w.source.requests} req, p99 ${ms(w.source.p99)}; target ${targetRequests(w.target)}, ${(w.target.errorRate * 100).toFixed(2)} % errors, p99 ${ms(w.target.p99)}` +
        (w.mirror.agreement !== undefined ? `; mirrored agreement ${(w.mirror.agreement * 100).toFixed(2)} %` : '') +
        (a.metrics.length ? `; ${a.metrics.map((m) => `${m.name} ${m.value ?? 'no data'} ${m.passed ? 'ok' : 'FAILED'}`).join(', ')}` : '') +
        (a.reasons.length ? ` (${a.reasons.join('; ')})` : ''),
    );
  }
  if (status.canary?.released) lines.push(`data plane ${status.canary.released}`);
  if (status.teardown?.sourceEndpointNote) lines.push(`teardown: ${status.teardown.sourceEndpointNote}`);
  for (const c of status.compensations ?? []) lines.push(`compensation (${c.phase}): ${c.what}: ${c.outcome}${c.error ? ` (${c.error})` : ''}`);
  for (const d of status.decisions) {
    lines.push(`decision ${d.at} ${d.action} by ${d.by}${d.phase ? ` (${d.phase})` : ''}${d.comment ? `: ${d.comment}` : ''}${d.applied ? (d.note ? `: ${d.note}` : '') : ` [${d.note}]`}`);
  }
  return lines;
}

/** The target's requests with the served and the mirrored apart: two populations, never one number. */
export function targetRequests(target: { requests: number; mirrored?: number }): string {
  const mirrored = target.mirrored ?? 0;
  return mirrored > 0 ? `${target.requests - mirrored} served + ${mirrored} mirrored req` : `${target.requests} req`;
}
