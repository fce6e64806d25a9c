/**
 * The workflow code bundled for a standalone worker, by webpack in a short-lived process of its
 * own. Bundled inside the worker it raised the worker's resident memory by about 260 MiB that the
 * process kept (idle, 470–500 MiB against 350 when it loads a bundle), so `runWorker` asks a child
 * to bundle and loads the result; the code is the same, built afresh at every start as before.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);
const BUNDLE_TO = '--bundle-to';

/** Bundles the workflows in a child process (this Node, these flags) and returns the code. */
export async function bundleInChild(): Promise<{ code: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cloudshift-workflows-'));
  const out = join(dir, 'workflow-bundle.js');
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, THIS_FILE, BUNDLE_TO, out], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      child.once('error', reject);
      child.once('close', (exit) => resolve({ code: exit, stderr }));
    });
    if (code !== 0) throw new Error(`bundling the workflow code (${WORKFLOWS_PATH}) failed with exit ${code}: ${stderr.trim() || 'no output'}`);
    return { code: await readFile(out, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const noop = () => undefined;

if (process.argv[2] === BUNDLE_TO && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error } });
  await writeFile(process.argv[3]!, code);
}
