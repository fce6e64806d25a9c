/** The live view of --follow: a gate's block drawn whole at any width, and redrawn in place. */
import { describe, expect, it } from 'vitest';
import { LiveView, wrap } from '../../src/client/live-view.js';
import { gateLines } from '../../src/client/progress.js';
import type { MigrationStatus } from '../../src/workflows/status.js';

const status = {
  name: 'aws-to-gcp-fraud',
  phase: 'shadow',
  pendingGate: { phase: 'shadow', waitingFor: 'an approve (phase shadow)', since: '2026-12-07T00:00:00Z' },
  shadow: { verdict: { verdict: 'passed', passed: true, failed: [], reportHtml: 'gs://cloudshift-demo-target/fraud-detector/.cloudshift/aws-to-gcp-fraud/shadow/report.html' } },
} as unknown as MigrationStatus;

/** What a terminal shows after the writes: cursor moves applied, cleared rows dropped. */
function screen(writes: string[]): string[] {
  const rows: string[] = [''];
  let row = 0;
  for (const w of writes) {
    for (let i = 0; i < w.length; ) {
      const up = /^\x1b\[(\d+)A/.exec(w.slice(i));
      if (up) {
        row = Math.max(0, row - Number(up[1]));
        i += up[0].length;
      } else if (w.startsWith('\x1b[J', i)) {
        rows.length = row + 1;
        rows[row] = '';
        i += 3;
      } else if (w[i] === '\r') {
        rows[row] = '';
        i++;
      } else if (w[i] === '\n') {
        row++;
        rows[row] ??= '';
        i++;
      } else {
        rows[row] = (rows[row] ?? '') + w[i]!;
        i++;
      }
    }
  }
  return rows;
}

describe('the live view', () => {
  it('shows the gate block whole at 80 and at 160 columns: the approve and rollback commands never cut', () => {
    for (const columns of [80, 160]) {
      const writes: string[] = [];
      const view = new LiveView({ write: (t: string) => writes.push(t) }, () => columns);
      view.draw('aws-to-gcp-fraud copy: 1,000 of 3,000 objects');
      view.draw(gateLines(status).join('\n'));
      const shown = screen(writes);
      expect(shown.every((r) => r.length < columns)).toBe(true);
      const text = shown.join('');
      expect(text).toContain('approve:   npm run cloudshift -- approve aws-to-gcp-fraud --phase shadow');
      expect(text).toContain('roll back: npm run cloudshift -- rollback aws-to-gcp-fraud --reason "…"');
      expect(text).toContain('shadow/report.html');
      expect(text).not.toContain('1,000 of 3,000');
    }
  });

  it('redraws over every row it drew, so a shorter block leaves nothing behind', () => {
    const writes: string[] = [];
    const view = new LiveView({ write: (t: string) => writes.push(t) }, () => 40);
    view.draw(gateLines(status).join('\n'));
    view.draw('aws-to-gcp-fraud canary: step 1 of 3');
    expect(screen(writes)).toEqual(['aws-to-gcp-fraud canary: step 1 of 3']);
  });

  it('wraps by characters, not bytes', () => {
    expect(wrap('é'.repeat(30), 11)).toEqual(['é'.repeat(10), 'é'.repeat(10), 'é'.repeat(10)]);
    expect(wrap('short', 80)).toEqual(['short']);
  });
});
