import { describe, expect, it } from 'vitest';
import { renderMigrationReportHtml } from '../../src/report/html.js';
import { buildMigrationReport } from '../../src/report/migration-report.js';
import { histogramSvg, lineChartSvg } from '../../src/report/svg.js';
import type { MigrationStatus } from '../../src/workflows/status.js';

const progress = { listedObjects: 3, listedBytes: 300, copiedObjects: 2, copiedBytes: 200, skippedObjects: 1, skippedBytes: 100, vanishedCount: 0, vanished: [], deletedCount: 0, deleted: [], verifiedObjects: 3, verifiedBytes: 300, mismatches: 0, mismatchKeys: [], retries: 1 };

function status(overrides: Partial<MigrationStatus> = {}): MigrationStatus {
  return {
    name: 'm-1',
    source: { cloud: 'aws', bucket: 'src', prefix: 'p/' },
    target: { cloud: 'gcp', bucket: 'dst', prefix: 'p/', profile: 'local-gcs' },
    phase: 'canary',
    state: 'rolledBack',
    phases: [{ phase: 'validate', state: 'succeeded' }],
    copy: {
      workflowId: 'm-1/copy/1',
      progress,
      seconds: 2,
      timeline: [
        { seconds: 0, stage: 'copy', objects: 0, bytes: 0, verified: 0, retries: 0 },
        { seconds: 1, stage: 'copy', objects: 3, bytes: 300, verified: 0, retries: 1 },
        { seconds: 2, stage: 'verify', objects: 3, bytes: 300, verified: 3, retries: 1 },
      ],
    },
    canary: {
      trafficUrl: 'http://127.0.0.1:18080',
      router: 'haproxy',
      steps: [10, 100],
      step: 1,
      targetPercent: 10,
      mirror: true,
      analyses: [
        {
          targetPercent: 10,
          verdict: 'failed',
          reasons: ['target error rate 50 % > 1 %'],
          window: { since: 'a', until: 'b', seconds: 1, source: { requests: 90, errors: 0, errorRate: 0, p50: 0.001, p99: 0.004 }, target: { requests: 10, errors: 5, errorRate: 0.5, p99: Number.NaN }, mirror: { rows: 0, agreeing: 0 } },
          values: {},
          metrics: [{ name: 'business', condition: '< 1', value: 2, passed: false, failureLimit: 0 } as never],
        },
      ],
    },
    decisions: [{ at: '2026-12-01T00:00:00Z', action: 'rollback', by: 'eve <script>', applied: true, note: 'x' }],
    reason: 'rollback by eve: <script>alert(1)</script>',
    artifact: {
      source: { folder: 's3://src/model/', signature: 's3://src/model/model.sig', state: 'verified', signer: 'release', files: 3, bytes: 100 },
      target: { folder: 'gs://dst/model/', signature: 'gs://dst/model/model.sig', state: 'invalid', files: 0, bytes: 0, problem: 'not signed: <script>evil.py', severity: 'blocking' },
    },
    ...overrides,
  };
}

describe('the migration report', () => {
  it('draws the copy and the canary with titled axes, and escapes everything an operator typed', () => {
    const html = renderMigrationReportHtml(buildMigrationReport(status(), { generatedAt: '2026-12-01T01:00:00Z' }));
    expect(html).toContain('class="verdict rolledBack"><strong>ROLLED BACK</strong>');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|www\.w3\.org\/2000\/svg")/);
    for (const title of ['Copy: objects over time', 'Copy: throughput', 'requests per step', 'error rate per step', 'p99 latency per step']) {
      expect(html).toMatch(new RegExp(`aria-label="${title}" data-points="[1-9]`));
    }
    expect(html).toMatch(/<h2>Model artifact<\/h2>[\s\S]*<td>source<\/td><td>s3:\/\/src\/model\/<\/td><td><span class="">verified<\/span><\/td><td>release<\/td>/);
    expect(html).toContain('<span class="fail">invalid</span>');
    // The NaN p99 of the target is left out of the line, not drawn as NaN.
    expect(html).not.toContain('NaN');
  });

  it('says what is missing instead of failing on a record with no copy, canary or shadow report', () => {
    const bare = status({ copy: undefined, canary: undefined, shadow: { verdict: undefined }, state: 'running', reason: undefined });
    const html = renderMigrationReportHtml(buildMigrationReport(bare, { generatedAt: 'now', shadowReportError: 'NotFound' }));
    expect(html).toContain('RUNNING (canary)');
    expect(html).toContain('could not be read: NotFound');
  });

  it('draws a tolerance far outside the data by widening the axis, and nothing for an empty histogram', () => {
    const svg = histogramSvg({ title: 'd', xTitle: 'x', yTitle: 'rows', edges: [0, 1e-7, 2e-7], counts: [[3, 4]], names: ['difference'], markers: [{ x: 0.001, label: 'tolerance', colour: '#b00' }] });
    expect(svg).toContain('data-points="2"');
    expect(svg).toContain('class="marker"');
    expect(histogramSvg({ title: 'empty', xTitle: 'x', yTitle: 'y', edges: [], counts: [[]], names: [] })).toContain('no-data');
    expect(lineChartSvg({ title: 'nan', xTitle: 'x', yTitle: 'y', series: [{ name: 's', points: [[Number.NaN, 1]] }] })).toContain('no-data');
  });
});

describe('chart axes in readable units', () => {
  const ticksOf = (svg: string) => [...svg.matchAll(/class="x-tick">([^<]*)</g)].map((m) => m[1]);

  it('reads time as elapsed time and canary steps as whole steps, not 1.000 / 1.500 / 2.000', () => {
    const time = lineChartSvg({ title: 't', xTitle: 'time since the copy began', xAxis: 'seconds', yTitle: 'objects', series: [{ name: 'a', points: [[0, 1], [62.5, 2], [125, 3]] }] });
    expect(ticksOf(time)).toEqual(['0.0s', '1m3s', '2m5s']);
    const steps = lineChartSvg({ title: 's', xTitle: 'canary step', xAxis: 'step', yTitle: 'requests', series: [{ name: 'a', points: [[1, 10], [2, 20], [3, 30]] }] });
    expect(ticksOf(steps)).toEqual(['1', '2', '3']);
    // A single step: one tick, no repeated labels.
    expect(ticksOf(lineChartSvg({ title: 's', xTitle: 'canary step', xAxis: 'step', yTitle: 'r', series: [{ name: 'a', points: [[1, 5]] }] }))).toEqual(['1']);
  });
});
