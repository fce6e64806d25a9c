/**
 * The shadow report as one self-contained HTML page: the criteria table, both score histograms
 * overlaid, the paired-difference histogram. Inline SVG, no scripts, nothing fetched.
 */
import { escapeHtml, histogramSvg, type Marker } from '../report/svg.js';
import { fmt, type ShadowReport } from './report.js';

const escape = escapeHtml;

/** Where the difference plot draws its lines: ± the per-row probability tolerance, ± each side's noise floor. */
function differenceMarkers(report: ShadowReport): Marker[] {
  const markers: Marker[] = [];
  const tolerance = report.criteria.find((c) => c.name === 'probabilityDelta')?.threshold;
  if (tolerance !== undefined && Number.isFinite(tolerance)) {
    markers.push({ x: -tolerance, label: `−tolerance ${fmt(tolerance)}`, colour: '#b00' }, { x: tolerance, label: `+tolerance ${fmt(tolerance)}`, colour: '#b00' });
  }
  for (const [side, noise] of Object.entries(report.noise)) {
    if (!noise || !Number.isFinite(noise.maxAbsolute)) continue;
    markers.push({ x: noise.maxAbsolute, label: `${side} noise floor ${fmt(noise.maxAbsolute)}`, colour: '#555', dashed: true }, { x: -noise.maxAbsolute, label: '', colour: '#555', dashed: true });
  }
  return markers;
}

/** The comparison as a section of a page: the shadow report's own page and the migration report share it. */
export function shadowSectionHtml(report: ShadowReport, h = 2): string {
  const rows = report.criteria
    .map(
      (c) =>
        `<tr class="${c.status === 'notApplicable' ? 'monitor' : c.gate ? (c.passed ? 'pass' : 'fail') : 'monitor'}"><td>${escape(c.name)}</td><td>${escape(c.description)}${c.reason ? ` <em>(${escape(c.reason)})</em>` : ''}</td>` +
        `<td>${fmt(c.value)}${c.ci95 ? ` <small>[${fmt(c.ci95[0])}, ${fmt(c.ci95[1])}]</small>` : ''}${c.count ? ` <small>${c.count.observed} rows, ≤ ${c.count.allowed} allowed</small>` : ''}</td>` +
        `<td>${c.threshold === undefined ? '—' : `${c.comparator} ${fmt(c.threshold)}`}</td><td>${c.status === 'notApplicable' ? 'not applicable' : c.gate ? (c.passed ? 'pass' : 'FAIL') : 'monitor'}</td></tr>`,
    )
    .join('\n');
  const metrics = report.metrics
    .map((m) => `<tr><td>${m.name.toUpperCase()}</td><td>${fmt(m.source)}</td><td>${fmt(m.target)}</td><td>${fmt(m.delta)}${m.relative ? ' (relative)' : ''}</td></tr>`)
    .join('\n');
  const noise = Object.entries(report.noise)
    .map(([side, n]) => `<tr><td>${escape(side)}</td><td>${escape(n.comparison)}</td><td>${fmt(n.maxAbsolute)}</td><td>${fmt(n.meanRelative)}</td></tr>`)
    .join('\n');
  const verdict =
    report.verdict === 'passed' ? 'PASSED' : report.verdict === 'failed' ? `FAILED (${report.failed.join(', ')})` : `INCONCLUSIVE (${report.inconclusive.join('; ')})`;
  const h1 = `h${h}`;
  const h2 = `h${h + 1}`;
  const scoreAxis = report.task === 'regression' ? 'predicted value' : 'score (probability)';
  return `<div class="verdict ${report.verdict}"><strong>Shadow verdict: ${escape(verdict)}</strong></div>
<p>${report.rows} paired rows (one row is ${fmt(report.resolution)} of them), ${escape(report.task)} model.</p>
${report.noiseWarnings.map((w) => `<p><strong>Noise:</strong> ${escape(w)}</p>`).join('\n')}
${report.pairedMeasure ? `<p>Paired predictions are measured as ${escape(report.pairedMeasure)}.</p>` : ''}
<${h1}>Criteria</${h1}>
<table><tr><th>criterion</th><th>what</th><th>value [95 % CI]</th><th>threshold</th><th>verdict</th></tr>
${rows}
</table>
<${h2}>Holdout metrics</${h2}>
<table><tr><th>metric</th><th>source</th><th>target</th><th>delta</th></tr>
${metrics}
</table>
<${h2}>Noise floor</${h2}>
<p>The same model run twice on one side: differences this small are execution jitter, not migration.</p>
<table><tr><th>side</th><th>runs compared</th><th>max |Δ|</th><th>mean relative Δ</th></tr>
${noise || '<tr><td colspan="4">not measured</td></tr>'}
</table>
${provenanceHtml(report, h2)}
<div class="plots">
${histogramSvg({ title: 'prediction scores', xTitle: scoreAxis, yTitle: 'rows', edges: report.histograms.scores.edges, counts: report.histograms.scores.counts, names: ['source', 'target'] })}
${histogramSvg({ title: 'paired differences (target − source)', xTitle: `difference in ${scoreAxis}`, yTitle: 'rows', edges: report.histograms.differences.edges, counts: report.histograms.differences.counts, names: ['difference'], markers: differenceMarkers(report) })}
</div>`;
}

const keyValues = (entries: [string, string | number | boolean][]) => entries.map(([k, v]) => `<tr><td>${escape(k)}</td><td>${escape(String(v))}</td></tr>`).join('\n');

/** The model's provenance as the artifact carries it, and the runtime each side used beside what it declares. */
function provenanceHtml(report: ShadowReport, h: string): string {
  if (!report.provenance) return '';
  const { summary, runtime } = report.provenance;
  const p = summary.predicate;
  const subject = summary.subject.map((s) => `${escape(s.name)} <small>sha256 ${escape(s.sha256)}</small>`).join(', ');
  const head = `<${h}>Provenance</${h}>
<p>${escape(summary.document)} (${escape(summary.predicateType)}), describing ${subject}.</p>`;
  if (!p) return `${head}\n<p>A predicate cloudshift does not read: only its type and subject are shown.</p>`;
  const references = [...p.trainingData.map((d) => ['training', d] as const), ...p.evaluationData.map((d) => ['evaluation', d] as const)];
  const data = references.map(([role, d]) => `<tr><td>${role}</td><td>${escape(d.name)}</td><td>${escape(d.uri ?? '')}</td><td><small>${escape(d.digest.sha256)}</small></td><td>${d.rows ?? ''}</td></tr>`).join('\n');
  const checks = runtime
    .map((r) => `<tr class="${r.matches ? 'pass' : 'monitor'}"><td>${escape(r.side)}</td><td>${escape(r.what)}</td><td>${escape(r.declared)}</td><td>${escape(r.actual)}</td><td>${r.matches ? 'as declared' : 'DIFFERS'}</td></tr>`)
    .join('\n');
  return `${head}
<p>Training code: ${escape(p.code.repository ?? '')} revision ${escape(p.code.revision)}${p.code.entryPoint ? ` (${escape(p.code.entryPoint)})` : ''}.</p>
<table><tr><th>data</th><th>name</th><th>where</th><th>SHA-256</th><th>rows</th></tr>
${data || '<tr><td colspan="5">none declared</td></tr>'}
</table>
<table><tr><th>hyperparameter</th><th>value</th></tr>
${keyValues(Object.entries(p.hyperparameters)) || '<tr><td colspan="2">none declared</td></tr>'}
</table>
<table><tr><th>library</th><th>version</th></tr>
${keyValues(Object.entries(p.libraries)) || '<tr><td colspan="2">none declared</td></tr>'}
</table>
<table><tr><th>evaluation metric</th><th>value</th></tr>
${keyValues(Object.entries(p.metrics).map(([k, v]) => [k, fmt(v)])) || '<tr><td colspan="2">none declared</td></tr>'}
</table>
<table><tr><th>side</th><th>runtime</th><th>declared</th><th>used</th><th></th></tr>
${checks || '<tr><td colspan="5">the provenance declares no runtime</td></tr>'}
</table>`;
}

export const REPORT_STYLE = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
tr.pass td:last-child{color:#060}tr.fail td:last-child{color:#b00;font-weight:bold}tr.monitor td:last-child{color:#666}.plots{display:flex;flex-wrap:wrap;gap:1em}
.verdict{padding:.6em 1em;margin:1em 0;font-size:1.2em;border-radius:4px}.verdict.passed,.verdict.completed{background:#e6f4e6;color:#060}.verdict.failed,.verdict.rolledBack{background:#fbe9e9;color:#b00}.verdict.inconclusive,.verdict.running{background:#fff6e0;color:#8a5a00}`;

/** The shadow report as its own page, written beside its JSON. */
export function renderReportHtml(report: ShadowReport): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cloudshift shadow report: ${escape(report.migration)}</title>
<style>${REPORT_STYLE}</style></head>
<body>
<h1>Shadow comparison: ${escape(report.migration)}</h1>
${shadowSectionHtml(report)}
</body></html>
`;
}
