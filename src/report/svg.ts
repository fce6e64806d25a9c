/**
 * Inline SVG charts for the self-contained reports: no script, no font or style sheet fetched.
 * Every chart has a title and both axis titles; `data-points` on the root counts what it drew, so
 * a browser test can tell an empty chart from a drawn one.
 */
import { fmt } from '../compare/report.js';
import { duration } from '../format.js';

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

const WIDTH = 560;
const HEIGHT = 240;
const PAD = { left: 64, right: 16, top: 28, bottom: 46 };

/** A vertical line at x, e.g. a tolerance or a noise floor. */
export interface Marker {
  x: number;
  label: string;
  colour: string;
  dashed?: boolean;
}

export interface HistogramChart {
  title: string;
  xTitle: string;
  yTitle: string;
  edges: number[];
  /** One count array per series, each as long as edges − 1. */
  counts: number[][];
  names: string[];
  markers?: Marker[];
}

export interface LineChart {
  title: string;
  xTitle: string;
  yTitle: string;
  series: { name: string; points: [number, number][] }[];
  /** How the x axis reads: `seconds` as elapsed time (45s, 2m05s), `step` as whole steps; else a number. */
  xAxis?: 'seconds' | 'step';
}

function frame(title: string, xTitle: string, yTitle: string, points: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${escapeHtml(title)}" data-points="${points}">
<text x="${PAD.left}" y="18" font-size="13" font-weight="bold">${escapeHtml(title)}</text>
<line x1="${PAD.left}" y1="${HEIGHT - PAD.bottom}" x2="${WIDTH - PAD.right}" y2="${HEIGHT - PAD.bottom}" stroke="#333"/>
<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${HEIGHT - PAD.bottom}" stroke="#333"/>
<text x="${(PAD.left + WIDTH - PAD.right) / 2}" y="${HEIGHT - 6}" font-size="11" text-anchor="middle" class="x-title">${escapeHtml(xTitle)}</text>
<text x="14" y="${(PAD.top + HEIGHT - PAD.bottom) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 14 ${(PAD.top + HEIGHT - PAD.bottom) / 2})" class="y-title">${escapeHtml(yTitle)}</text>
${body}
</svg>`;
}

const legend = (names: string[]) =>
  `<text x="${WIDTH - PAD.right}" y="18" font-size="12" text-anchor="end">${names.map((n, i) => `<tspan fill="${COLOURS[i % COLOURS.length]}">■ ${escapeHtml(n)}</tspan>`).join(' ')}</text>`;

function ticks(lo: number, hi: number, x: (v: number) => number, y: number, axis?: LineChart['xAxis']): string {
  // Steps are whole: one tick at each (up to 20), not 1.000, 1.500, 2.000.
  const values = axis === 'step' && hi - lo <= 20 ? Array.from({ length: Math.floor(hi) - Math.ceil(lo) + 1 }, (_, i) => Math.ceil(lo) + i) : [lo, (lo + hi) / 2, hi];
  const label = (v: number) => (axis === 'seconds' ? duration(v) : axis === 'step' ? String(v) : fmt(v));
  return [...new Set(values)].map((v) => `<text x="${x(v).toFixed(1)}" y="${y}" font-size="10" text-anchor="middle" class="x-tick">${label(v)}</text>`).join('');
}

/** Overlaid histograms; markers widen the x range so a tolerance far outside the data still shows. */
export function histogramSvg(chart: HistogramChart): string {
  const bins = chart.counts[0]?.length ?? 0;
  if (bins === 0 || chart.edges.length !== bins + 1) return `<p class="no-data">${escapeHtml(chart.title)}: no finite values to plot</p>`;
  const markers = (chart.markers ?? []).filter((m) => Number.isFinite(m.x));
  const lo = Math.min(chart.edges[0]!, ...markers.map((m) => m.x));
  const hi = Math.max(chart.edges.at(-1)!, ...markers.map((m) => m.x));
  const span = hi - lo || 1;
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const x = (v: number) => PAD.left + ((v - lo) / span) * plotWidth;
  const peak = Math.max(1, ...chart.counts.flat());
  const y = (count: number) => PAD.top + (HEIGHT - PAD.top - PAD.bottom) * (1 - count / peak);
  let drawn = 0;
  const bars = chart.counts
    .map((counts, s) =>
      counts
        .map((c, k) => {
          if (c === 0) return '';
          drawn++;
          const left = x(chart.edges[k]!);
          const width = Math.max(x(chart.edges[k + 1]!) - left - 0.5, 0.75);
          return `<rect x="${left.toFixed(1)}" y="${y(c).toFixed(1)}" width="${width.toFixed(2)}" height="${(HEIGHT - PAD.bottom - y(c)).toFixed(1)}" fill="${COLOURS[s % COLOURS.length]}" fill-opacity="${chart.counts.length > 1 ? 0.5 : 0.8}"><title>${fmt(chart.edges[k]!)} … ${fmt(chart.edges[k + 1]!)}: ${c}</title></rect>`;
        })
        .join(''),
    )
    .join('');
  const lines = markers
    .map(
      (m, i) =>
        `<line x1="${x(m.x).toFixed(1)}" y1="${PAD.top}" x2="${x(m.x).toFixed(1)}" y2="${HEIGHT - PAD.bottom}" stroke="${m.colour}" stroke-width="1.5"${m.dashed ? ' stroke-dasharray="4 3"' : ''} class="marker"/>` +
        `<text x="${x(m.x).toFixed(1)}" y="${PAD.top + 10 + (i % 4) * 11}" font-size="10" fill="${m.colour}" text-anchor="${x(m.x) > WIDTH / 2 ? 'end' : 'start'}">${escapeHtml(m.label)}</text>`,
    )
    .join('');
  const body = `${legend(chart.names)}${bars}${lines}${ticks(lo, hi, x, HEIGHT - PAD.bottom + 14)}<text x="${PAD.left - 6}" y="${PAD.top + 8}" font-size="10" text-anchor="end">${peak}</text><text x="${PAD.left - 6}" y="${HEIGHT - PAD.bottom}" font-size="10" text-anchor="end">0</text>`;
  return frame(chart.title, chart.xTitle, chart.yTitle, drawn, body);
}

/** Lines over a shared x axis; each series gets its own colour and a dot per point. */
export function lineChartSvg(chart: LineChart): string {
  const all = chart.series.flatMap((s) => s.points).filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
  if (all.length === 0) return `<p class="no-data">${escapeHtml(chart.title)}: no data points</p>`;
  const xs = all.map(([px]) => px);
  const ys = all.map(([, py]) => py);
  const xLo = Math.min(...xs);
  const xHi = Math.max(...xs);
  const yHi = Math.max(...ys, 0) || 1;
  const yLo = Math.min(0, ...ys);
  const x = (v: number) => PAD.left + ((v - xLo) / (xHi - xLo || 1)) * (WIDTH - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (HEIGHT - PAD.top - PAD.bottom) * (1 - (v - yLo) / (yHi - yLo || 1));
  const paths = chart.series
    .map((s, i) => {
      const points = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
      if (points.length === 0) return '';
      const colour = COLOURS[i % COLOURS.length];
      const d = points.map(([px, py], k) => `${k === 0 ? 'M' : 'L'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ');
      const dots = points.map(([px, py]) => `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="2.5" fill="${colour}"><title>${escapeHtml(s.name)}: ${fmt(py)} at ${fmt(px)}</title></circle>`).join('');
      return `<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.5"/>${dots}`;
    })
    .join('');
  const body = `${legend(chart.series.map((s) => s.name))}${paths}${ticks(xLo, xHi, x, HEIGHT - PAD.bottom + 14, chart.xAxis)}<text x="${PAD.left - 6}" y="${PAD.top + 8}" font-size="10" text-anchor="end">${fmt(yHi)}</text><text x="${PAD.left - 6}" y="${HEIGHT - PAD.bottom}" font-size="10" text-anchor="end">${fmt(yLo)}</text>`;
  return frame(chart.title, chart.xTitle, chart.yTitle, all.length, body);
}
