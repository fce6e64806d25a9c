/** The commands printed at a gate reach the migration from anywhere: its namespace said where it is not the default. */
import { describe, expect, it } from 'vitest';
import { gateLines } from '../../src/client/progress.js';
import { overviewOf } from '../../src/workflows/overview.js';
import type { MigrationStatus } from '../../src/workflows/status.js';

const waiting = {
  name: 'm1',
  state: 'running',
  phase: 'shadow',
  source: { cloud: 'aws', bucket: 'a', prefix: '' },
  target: { cloud: 'gcp', bucket: 'b', prefix: '' },
  pendingGate: { phase: 'shadow', waitingFor: 'an approve (phase shadow)', since: '2026-12-07T00:00:00Z' },
  phases: [],
  decisions: [],
} as unknown as MigrationStatus;

describe('the commands printed at a gate', () => {
  it('carry the namespace where it is not the default', () => {
    expect(overviewOf(waiting).waiting).toMatchObject({ approve: expect.stringMatching(/cloudshift approve m1 --phase shadow$/), rollback: expect.stringMatching(/--reason "<why>"$/) });
    expect(overviewOf(waiting, 'payments').waiting).toMatchObject({ approve: expect.stringMatching(/cloudshift approve m1 --phase shadow --namespace payments$/), rollback: expect.stringMatching(/--reason "<why>" --namespace payments$/) });
    expect(gateLines(waiting, 'payments').slice(-2)).toEqual(['  approve:   npm run cloudshift -- approve m1 --phase shadow --namespace payments', '  roll back: npm run cloudshift -- rollback m1 --reason "…" --namespace payments']);
    expect(gateLines(waiting).slice(-1)[0]).toBe('  roll back: npm run cloudshift -- rollback m1 --reason "…"');
  });
});
