/**
 * The shadow report as one self-contained HTML page: the criteria table, both score histograms
 * overlaid, the paired-difference histogram. Inline SVG, no scripts, nothing fetched.
 */
import { fmt, type Histogram, type ShadowReport } from './report.js';

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const SERIES = [
  { name: 'source', colour: '#1f77b4' },
  { name: 'target', colour: '#ff7f0e' },
];

function svgHistogram(title: string, h: Histogram, names: string[]): string {
  const width = 560;
  const height = 220;
  const pad = { left: 48, right: 12, top: 24, bottom: 36 };
  const bins = h.counts[0]?.length ?? 0;
  if (bins === 0) return `<p>${escape(title)}: no data</p>`;
  const peak = Math.max(1, ...h.counts.flat());
  const barWidth = (width - pad.left - pad.right) / bins;
  const y = (count: number) => pad.top + (height - pad.top - pad.bottom) * (1 - count / peak);
  const bars = h.counts
    .map((counts, s) =>
      counts
        .map((c, k) => `<rect x="${(pad.left + k * barWidth).toFixed(1)}" y="${y(c).toFixed(1)}" width="${Math.max(barWidth - 1, 0.5).toFixed(1)}" height="${(height - pad.bottom - y(c)).toFixed(1)}" fill="${SERIES[s]!.colour}" fill-opacity="${h.counts.length > 1 ? 0.5 : 0.8}"/>`)
        .join(''),
    )
    .join('');
  const legend = names.map((name, s) => `<tspan fill="${SERIES[s]!.colour}">■ ${escape(name)}</tspan>`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escape(title)}">
<text x="${pad.left}" y="16" font-size="13" font-weight="bold">${escape(title)}</text>
<text x="${width - pad.right}" y="16" font-size="12" text-anchor="end">${legend}</text>
${bars}
<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#333"/>
<text x="${pad.left}" y="${height - 18}" font-size="11">${fmt(h.edges[0]!)}</text>
<text x="${width - pad.right}" y="${height - 18}" font-size="11" text-anchor="end">${fmt(h.edges.at(-1)!)}</text>
<text x="${pad.left - 6}" y="${pad.top + 8}" font-size="11" text-anchor="end">${peak}</text>
</svg>`;
}

export function renderReportHtml(report: ShadowReport): string {
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
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cloudshift shadow report: ${escape(report.migration)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
tr.pass td:last-child{color:#060}tr.fail td:last-child{color:#b00;font-weight:bold}tr.monitor td:last-child{color:#666}.plots{display:flex;flex-wrap:wrap;gap:1em}</style></head>
<body>
<h1>Shadow comparison: ${escape(report.migration)}</h1>
<p><strong>Verdict: ${escape(verdict)}</strong>. ${report.rows} paired rows (one row is ${fmt(report.resolution)} of them), ${escape(report.task)} model.</p>
${report.noiseWarnings.map((w) => `<p><strong>Noise:</strong> ${escape(w)}</p>`).join('\n')}
${report.pairedMeasure ? `<p>Paired predictions are measured as ${escape(report.pairedMeasure)}.</p>` : ''}
<h2>Criteria</h2>
<table><tr><th>criterion</th><th>what</th><th>value</th><th>threshold</th><th>verdict</th></tr>
${rows}
</table>
<h2>Holdout metrics</h2>
<table><tr><th>metric</th><th>source</th><th>target</th><th>delta</th></tr>
${metrics}
</table>
<h2>Noise floor</h2>
<p>The same model run twice on one side: differences this small are execution jitter, not migration.</p>
<table><tr><th>side</th><th>runs compared</th><th>max |Δ|</th><th>mean relative Δ</th></tr>
${noise || '<tr><td colspan="4">not measured</td></tr>'}
</table>
<div class="plots">
${svgHistogram('prediction scores', report.histograms.scores, ['source', 'target'])}
${svgHistogram('paired differences (target − source)', report.histograms.differences, ['difference'])}
</div>
</body></html>
`;
}
