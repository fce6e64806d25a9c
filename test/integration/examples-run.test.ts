/**
 * Every example runs on the local stack as shipped, once `cloudshift seed` has written what it
 * needs: its pre-flight and audit pass (exit 0), and the data-only one migrates end to end.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationResult } from '../../src/client/index.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { parseSpecText } from '../../src/spec-file.js';
import { cloudshift } from '../support/cli.js';
import { testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, startMigration, type TemporalTestContext, testWorkers } from '../support/temporal.js';

const folder = join(PROJECT_ROOT, 'examples');
const files = readdirSync(folder).filter((f) => f.endsWith('.yaml')).sort();
let temporal: TemporalTestContext;
beforeAll(async () => {
  temporal = await connectTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

describe('the examples, as shipped', () => {
  it.each(files)('%s: seeded, its pre-flight and audit pass', { timeout: 120_000 }, async (file) => {
    const seeded = await cloudshift('seed', '--spec', `examples/${file}`);
    expect(seeded.code, seeded.stderr).toBe(0);
    const audit = await cloudshift('audit', '--spec', `examples/${file}`, '--json');
    const { preflight } = JSON.parse(audit.stdout) as { preflight: { outcome: string; field: string; detail: string }[] };
    expect(preflight.filter((c) => c.outcome !== 'ok')).toEqual([]);
    expect(audit.code).toBe(0);
    // Seeding twice writes nothing more (shown on the signed one, whose bundle and key it keeps).
    if (file === 'aws-to-gcp.yaml') expect((await cloudshift('seed', '--spec', `examples/${file}`)).stdout).toMatch(/holds what it needs already/);
  });

  it('data-only-s3-to-gcs.yaml migrates end to end', { timeout: 180_000 }, async () => {
    const shipped = parseSpecText(readFileSync(join(folder, 'data-only-s3-to-gcs.yaml')), 'data-only-s3-to-gcs.yaml') as Record<string, unknown>;
    // A name of its own per run (a name that ran before is refused on the dev server), the rest as shipped but for the teardown gate.
    const spec = { ...shipped, name: `example-data-${randomBytes(3).toString('hex')}`, approval: { ...(shipped.approval as object), beforeTeardown: 'auto' } };
    const result = await runWorkersUntil(await testWorkers(temporal, { queues: ['control', 'aws', 'gcp'], stores: testResolver(), identity: 'examples' }), async () => migrationResult(await startMigration(temporal, spec as never)));
    expect(result.outcome, result.status.reason).toBe('completed');
    expect(result.status.copy?.progress?.verifiedObjects).toBeGreaterThanOrEqual(50);
  });
});
