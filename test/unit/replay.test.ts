/**
 * Replays the committed histories (test/fixtures/histories, recorded from real runs on the dev
 * server, see test/support/histories.ts) against today's workflow code: a change that would make
 * a running migration non-deterministic fails here, before it reaches a worker.
 */
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../src/worker.js';
import { HISTORIES_DIR } from '../support/histories.js';

const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();

describe('replay of recorded histories', () => {
  it('has histories of the main paths to replay', () => {
    expect(files).toEqual(expect.arrayContaining(['migration-completed.json', 'migration-shadow-gate-failed.json', 'migration-canary-failed.json', 'copy-data-initial.json']));
  });

  it('replays every one without a nondeterminism error', async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // Installed by an earlier file in this process.
    }
    const noop = () => {};
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error } });
    const histories = files.map((file) => JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')) as { workflowId: string; history: unknown });
    // The worker converts the exported JSON itself (its own protobuf classes, not the test's).
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'cloudshift-replay-test' }, histories)) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  }, 120_000);
});
