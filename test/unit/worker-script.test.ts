/** scripts/worker.sh: how users and the image start a worker, its heap capped. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';

const run = (env: Record<string, string>) => spawnSync('bash', ['scripts/worker.sh'], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });

describe('scripts/worker.sh', () => {
  for (const bad of ['abc', '64', '-1', '256MiB', ' ']) {
    it(`refuses CLOUDSHIFT_WORKER_HEAP_MIB=${JSON.stringify(bad)} before starting anything, saying what it expects`, () => {
      const result = run({ CLOUDSHIFT_WORKER_HEAP_MIB: bad });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(`CLOUDSHIFT_WORKER_HEAP_MIB must be a whole number of MiB, at least 128 (got '${bad}')`);
    });
  }
});
