/**
 * Records workflow histories for the replay test (test/unit/replay.test.ts): run the integration
 * tests with CLOUDSHIFT_RECORD_HISTORIES=1 and the runs named here are written to
 * test/fixtures/histories: the workflow id and the history as the `temporal` CLI and the Web UI
 * export it. Commit them; CI
 * then replays them against the current workflow code.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LOCAL_ENDPOINTS } from '../../src/dev/local-stack.js';
import { PROJECT_ROOT, STATE_DIR } from '../../src/paths.js';

export const HISTORIES_DIR = join(PROJECT_ROOT, 'test/fixtures/histories');

export async function recordHistory(workflowId: string, label: string): Promise<void> {
  if (process.env.CLOUDSHIFT_RECORD_HISTORIES !== '1') return;
  const { stdout } = await promisify(execFile)(join(STATE_DIR, 'venv/bin/temporal'), ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', LOCAL_ENDPOINTS.temporal], {
    maxBuffer: 64 * 1024 * 1024,
  });
  mkdirSync(HISTORIES_DIR, { recursive: true });
  // The id goes with the history: child workflow ids derive from it, so a replay needs the same one.
  writeFileSync(join(HISTORIES_DIR, `${label}.json`), `{"workflowId": ${JSON.stringify(workflowId)}, "history": ${stdout}}\n`);
}
