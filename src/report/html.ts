/**
 * The migration report as one self-contained HTML page: inline styles and SVG, no script, nothing
 * fetched, so it opens from a bucket, a mail attachment or a file on a laptop alike.
 */
import { REPORT_STYLE, shadowSectionHtml } from '../compare/html.js';
import { fmt } from '../compare/report.js';
import type { CopyDataResult } from '../workflows/status.js';
import type { MigrationReport } from './migration-report.js';
import { escapeHtml as escape, lineChartSvg } from './svg.js';

const MiB = 1024 * 1024;

const table = (head: string[], rows: (string | number)[][], empty = 'none'): string =>
  `<table><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr>\n${
    rows.length ? rows.map((r) => `<tr>${r.map((c) => `<td>${typeof c === 'number' ? fmt(c) : c}</td>`).join('')}</tr>`).join('\n') : `<tr><td colspan="${head.length}">${escape(empty)}</td></tr>`
  }</table>`;

const text = (value: unknown): string => escape(value === undefined || value === null ? '' : String(value));
const ms = (seconds: number | undefined) => (seconds === undefined || !Number.isFinite(seconds) ? '–' : `${(seconds * 1000).toFixed(1)} ms`);
const percent = (share: number | undefined) => (share === undefined || !Number.isFinite(share) ? '–' : `${(share * 100).toFixed(2)} %`);

function header(report: MigrationReport): string {
  const where = (l: MigrationReport['source']) => `${escape(l.cloud)}: ${escape(l.bucket)}/${escape(l.prefix)}`;
  const words = { completed: 'COMPLETED', rolledBack: 'ROLLED BACK', failed: 'FAILED', running: `RUNNING (${report.phase})` } as const;
  return `<h1>Migration report: ${escape(report.migration)}</h1>
<div class="verdict ${report.state}"><strong>${words[report.state]}</strong>${report.reason ? `: ${escape(report.reason)}` : ''}</div>
<p>${where(report.source)} → ${where(report.target)}. Generated ${escape(report.generatedAt)}.</p>
<h2>Phases</h2>
${table(['phase', 'state', 'started', 'ended', 'detail'], report.phases.map((p) => [text(p.phase), text(p.state), text(p.startedAt), text(p.endedAt), text(p.detail)]))}`;
}

function auditSection(audit: NonNullable<MigrationReport['audit']>): string {
  const counts = Object.entries(audit.counts).map(([k, v]) => `${v} ${escape(k)}`).join(', ');
  return `<h2>Audit</h2>
<p>${audit.inventory.objects.toLocaleString('en')} objects, ${(audit.inventory.bytes / MiB).toFixed(1)} MiB at ${escape(audit.source.location)}${audit.inventory.archived.objects ? ` (${audit.inventory.archived.objects} archived: ${escape(audit.inventory.archived.tiers.join(', '))})` : ''}.
Dependencies: ${counts || 'none'}${audit.blocking.length ? `; <strong>blocking: ${escape(audit.blocking.join('; '))}</strong>` : ''}.
Egress estimate: ${audit.egress.gib.toFixed(3)} GiB out of ${escape(audit.egress.provider)} ${escape(audit.egress.service)}, ${audit.egress.cost.toFixed(2)} ${escape(audit.egress.currency)} (prices as of ${escape(audit.egress.pricesAsOf)}).
Copy time estimate: ${audit.copyTime.seconds.toFixed(0)} s at ${audit.copyTime.mibPerSecond.toFixed(1)} MiB/s (${escape(audit.copyTime.basis)}).</p>
${table(['kind', 'service', 'name', 'classification', 'on the target', 'why'], audit.dependencies.map((d) => [text(d.kind), text(d.service), text(d.name), text(d.classification), text(d.equivalent), text(d.reason)]))}`;
}

function copySection(title: string, copy: Partial<CopyDataResult> & { workflowId: string }): string {
  const p = copy.progress;
  if (!p) return `<h2>${escape(title)}</h2><p>Did not finish (workflow ${escape(copy.workflowId)}).</p>`;
  const timeline = copy.timeline ?? [];
  const seconds = copy.seconds;
  const objects = p.copiedObjects + p.skippedObjects;
  const bytes = p.copiedBytes + p.skippedBytes;
  const rows: (string | number)[][] = [
    ['objects', objects.toLocaleString('en'), 'bytes', `${(bytes / MiB).toFixed(2)} MiB`],
    ['copied', p.copiedObjects.toLocaleString('en'), 'already there', p.skippedObjects.toLocaleString('en')],
    ['verified', p.verifiedObjects.toLocaleString('en'), 'mismatches', p.mismatches.toLocaleString('en')],
    ['retries', (p.retries ?? 0).toLocaleString('en'), 'vanished from the source', p.vanishedCount.toLocaleString('en')],
    ['elapsed', seconds === undefined ? '–' : `${seconds.toFixed(1)} s`, 'rate', seconds ? `${(objects / seconds).toFixed(1)} objects/s, ${(bytes / MiB / seconds).toFixed(2)} MiB/s` : '–'],
  ];
  if (p.deletedCount) rows.push(['pruned', p.deletedCount.toLocaleString('en'), '', '']);
  const at = (pick: (s: (typeof timeline)[number]) => number): [number, number][] => timeline.map((s) => [s.seconds, pick(s)]);
  const throughput: [number, number][] = timeline.slice(1).map((s, i) => {
    const before = timeline[i]!;
    const dt = s.seconds - before.seconds;
    return [s.seconds, dt > 0 ? (s.bytes - before.bytes) / MiB / dt : 0];
  });
  return `<h2>${escape(title)}</h2>
${table(['', '', '', ''], rows)}
<p>Manifest: ${text(copy.manifestPrefix ?? '–')}</p>
<div class="plots">
${lineChartSvg({ title: `${title}: objects over time`, xTitle: 'time since the copy began', xAxis: 'seconds', yTitle: 'objects', series: [{ name: 'copied or already there', points: at((s) => s.objects) }, { name: 'verified', points: at((s) => s.verified) }] })}
${lineChartSvg({ title: `${title}: throughput`, xTitle: 'time since the copy began', xAxis: 'seconds', yTitle: 'MiB/s', series: [{ name: 'MiB/s', points: throughput }] })}
${lineChartSvg({ title: `${title}: retries`, xTitle: 'time since the copy began', xAxis: 'seconds', yTitle: 'retried attempts (total)', series: [{ name: 'retries', points: at((s) => s.retries) }] })}
</div>`;
}

function shadowSection(shadow: NonNullable<MigrationReport['shadow']>): string {
  const sides = Object.entries(shadow.sides ?? {}).map(([side, s]) => [
    text(side),
    `<code>${text(s?.modelSha256)}</code>`,
    text(s?.provider),
    text(s?.fallbackReason ?? '–'),
    s?.rows ?? 0,
    s?.rowsPerSecond ?? 0,
  ]);
  const body = shadow.report
    ? shadowSectionHtml(shadow.report, 3)
    : `<p>${shadow.verdict ? `Verdict ${text(shadow.verdict.verdict)}; ` : ''}the full comparison ${shadow.reportError ? `could not be read: ${text(shadow.reportError)}` : 'was not written'}.</p>`;
  return `<h2>Shadow gate</h2>
${table(['side', 'model SHA-256', 'execution provider', 'fallback reason', 'rows', 'rows/s'], sides, 'no side ran')}
${body}`;
}

/** Which judged steps mirrored the source's requests to the target, as their windows saw it. */
function mirrorSummary(analyses: NonNullable<MigrationReport['canary']>['analyses']): string {
  const mirrored = analyses.filter((s) => (s.window.target.mirrored ?? 0) > 0 || s.window.mirror.rows > 0).map((s) => `${s.targetPercent} %`);
  return mirrored.length ? `the source's requests mirrored to the target at the ${mirrored.join(', ')} step${mirrored.length > 1 ? 's' : ''}` : 'no step mirrored';
}

function canarySection(canary: NonNullable<MigrationReport['canary']>): string {
  const a = canary.analyses;
  const steps = a.map((s, i) => {
    const w = s.window;
    return [
      i + 1,
      `${s.targetPercent} %`,
      `<span class="${s.verdict === 'failed' ? 'fail' : ''}">${text(s.verdict)}</span>`,
      w.source.requests,
      (w.target.mirrored ?? 0) > 0 ? `${w.target.requests - w.target.mirrored!} served + ${w.target.mirrored} mirrored` : w.target.requests,
      percent(w.source.errorRate),
      percent(w.target.errorRate),
      `${ms(w.source.p50)} / ${ms(w.source.p99)}`,
      `${ms(w.target.p50)} / ${ms(w.target.p99)}`,
      w.mirror.agreement === undefined ? '–' : `${percent(w.mirror.agreement)} of ${w.mirror.rows}`,
      s.metrics.map((m) => `${text(m.name)} ${m.value === undefined ? 'no data' : fmt(m.value)} ${m.passed ? 'ok' : 'FAILED'}`).join('<br>'),
      text(s.reasons.join('; ')),
    ];
  });
  const series = (pick: (w: (typeof a)[number]['window']['source']) => number | undefined, scale = 1) =>
    (['source', 'target'] as const).map((side) => ({
      name: side,
      points: a.flatMap((s, i): [number, number][] => {
        const v = pick(s.window[side]);
        return v === undefined ? [] : [[i + 1, v * scale]];
      }),
    }));
  const queries = (canary.queries ?? []).map((q) => [text(q.name), `<code>${text(q.query)}</code>`, q.value === undefined ? 'no data' : q.value]);
  return `<h2>Canary</h2>
<p>Through ${text(canary.router)} at ${text(canary.trafficUrl)}; steps ${canary.steps.map((s) => `${s} %`).join(' → ')}; ${mirrorSummary(a)}; reached step ${canary.step} at ${canary.targetPercent} % on the target.</p>
${table(['step', 'target weight', 'verdict', 'source requests', 'target requests', 'source errors', 'target errors', 'source p50 / p99', 'target p50 / p99', 'mirrored agreement', 'spec metrics', 'reasons'], steps, 'no step was judged')}
<div class="plots">
${lineChartSvg({ title: 'requests per step', xTitle: 'canary step', xAxis: 'step', yTitle: 'requests in the window', series: series((w) => w.requests) })}
${lineChartSvg({ title: 'error rate per step', xTitle: 'canary step', xAxis: 'step', yTitle: 'errors (%)', series: series((w) => w.errorRate, 100) })}
${lineChartSvg({ title: 'p99 latency per step', xTitle: 'canary step', xAxis: 'step', yTitle: 'p99 (ms)', series: series((w) => w.p99, 1000) })}
</div>
<h3>Queries of the last judged step</h3>
${table(['name', 'PromQL', 'value'], queries, 'none ran')}`;
}

function decisionsSection(report: MigrationReport): string {
  const compensations = report.compensations.map((c) => [text(c.phase), text(c.what), text(c.outcome), text(c.error ?? '')]);
  const decisions = report.decisions.map((d) => [text(d.at), text(d.action), text(d.by), text(d.phase ?? ''), d.applied ? 'yes' : 'no', text([d.comment, d.note].filter(Boolean).join('; ')), text(d.evidence ?? '')]);
  return `<h2>Compensations</h2>
${table(['phase', 'what', 'outcome', 'error'], compensations)}
<h2>Decision log</h2>
${report.decisionsDropped ? `<p>${report.decisionsDropped} older decisions left out.</p>` : ''}
${table(['at', 'action', 'by', 'phase', 'applied', 'comment or note', 'evidence'], decisions)}`;
}

/** The model's artifact as the audit found it at the source and the target last verified it. */
function artifactSection(artifact: NonNullable<MigrationReport['artifact']>, notHonoured: string[] = []): string {
  const rows = (['source', 'target'] as const).flatMap((side) => {
    const a = artifact[side];
    return a ? [[text(side), text(a.folder), `<span class="${a.state === 'verified' ? '' : 'fail'}">${text(a.state)}</span>`, text(a.signer), text(a.files), text(a.problem)]] : [];
  });
  return `<h2>Model artifact</h2>
${table(['where', 'folder', 'signature', 'signed by', 'files', 'problem'], rows)}
${notHonoured.length ? `<p>The target endpoint's deployment description, not honoured by its deployer: ${text(notHonoured.join('; '))}.</p>` : ''}`;
}

export function renderMigrationReportHtml(report: MigrationReport): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cloudshift migration report: ${escape(report.migration)}</title>
<style>${REPORT_STYLE} .fail{color:#b00;font-weight:bold}</style></head>
<body>
${header(report)}
${report.audit ? auditSection(report.audit) : ''}
${report.artifact ? artifactSection(report.artifact, report.endpointsNotHonoured) : ''}
${report.copy ? copySection('Copy', report.copy) : ''}
${report.shadow ? shadowSection(report.shadow) : ''}
${report.canary ? canarySection(report.canary) : ''}
${report.catchUp ? copySection('Catch-up before teardown', report.catchUp) : ''}
${report.teardown ? `<h2>Teardown</h2><p>Source endpoint stopped: ${report.teardown.sourceEndpointStopped ? 'yes' : 'no'}; source objects deleted: ${report.teardown.sourceDeleted ?? 0}, kept: ${report.teardown.sourceKept ?? 0}.</p>` : ''}
${decisionsSection(report)}
</body></html>
`;
}
