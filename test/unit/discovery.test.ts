/** Scrape files of workers that died are removed at the next worker's start; live ones and migrations' stay. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeDeadWorkersTargets } from '../../src/traffic/discovery.js';

describe('removeDeadWorkersTargets', () => {
  it('removes only the files of this host whose worker no longer runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-discovery-'));
    for (const name of ['worker-h1-100.json', 'worker-h1-200.json', 'worker-h2-100.json', 'migration-a.json', 'worker-h1-x.json']) writeFileSync(join(dir, name), '[]');
    const removed = await removeDeadWorkersTargets(dir, 'h1', (pid) => pid === 200);
    expect(removed).toEqual(['worker-h1-100.json']);
    expect(['worker-h1-200.json', 'worker-h2-100.json', 'migration-a.json', 'worker-h1-x.json'].every((n) => existsSync(join(dir, n)))).toBe(true);
  });

  it('answers nothing for a folder that does not exist yet', async () => {
    expect(await removeDeadWorkersTargets(join(tmpdir(), 'cs-no-such-folder-x'), 'h', () => false)).toEqual([]);
  });
});
