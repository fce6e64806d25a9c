import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/paths.js';

/** Runs the `cloudshift` CLI as a user would, in a process of its own; never throws on exit codes. */
export async function cloudshift(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return cloudshiftWith({}, ...args);
}

/** The same, with variables added to its environment. */
export async function cloudshiftWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['src/cli.ts', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
