/**
 * The CLI by the conventions, spawned as a user runs it: help with examples on every command,
 * exit 2 and a suggestion for every usage or input error, no crash when piped into `head`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';
import { cloudshift } from '../support/cli.js';

const COMMANDS = ['validate', 'audit', 'start', 'status', 'approve', 'rollback', 'list', 'report', 'worker', 'dev', 'demo'];
const dir = mkdtempSync(join(tmpdir(), 'cloudshift-cli-'));

describe('cloudshift --help', () => {
  it('lists every command, and each command has its own help with examples (exit 0)', async () => {
    const top = await cloudshift('--help');
    expect(top.code).toBe(0);
    for (const command of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(top.stdout).toMatch(/Exit codes: 0 completed, 1 failed, 2 usage/);
    const helps = await Promise.all(COMMANDS.map(async (command) => ({ command, ...(await cloudshift(command, '-h')) })));
    for (const { command, code, stdout } of helps) {
      expect(code, command).toBe(0);
      expect(stdout, command).toMatch(new RegExp(`^Usage: cloudshift ${command}`, 'm'));
      // dev takes no options worth an example; every other command shows one.
      if (command !== 'dev') expect(stdout, command).toMatch(new RegExp(`Examples:\\n  \\$ cloudshift ${command}`));
    }
  });
});

describe('usage and input errors exit 2, saying what was wrong', () => {
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{ "name": "x", ');
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /Usage: cloudshift/],
    ['an unknown command, with a suggestion', ['strat'], /unknown command 'strat'[\s\S]*Did you mean start\?/],
    ['an unknown option, with a suggestion', ['start', '--spex', 'x.json'], /unknown option '--spex'[\s\S]*Did you mean --spec\?/],
    ['a missing --spec', ['validate'], /--spec FILE is required/],
    ['a spec file that is not there', ['validate', '--spec', join(dir, 'missing.yaml')], /cannot read the spec file .*missing\.yaml: ENOENT/],
    ['a spec file that is not JSON', ['validate', '--spec', bad], /bad\.json/],
    ['a missing migration id', ['approve'], /missing required argument 'id'/],
    ['a rollback without a reason', ['rollback', 'some-migration'], /rollback needs --reason/],
    ['a cloud that does not exist', ['demo', '--source', 'mars'], /argument 'mars' is invalid\. Allowed choices are aws, gcp, azure, onprem/],
    ['a count that is not a count', ['demo', '--objects', '-3'], /expected a whole number above 0, got "-3"/],
    ['an extra argument', ['list', 'surplus'], /too many arguments/],
  ];
  it.each(cases)('%s', async (_, args, message) => {
    const { code, stderr, stdout } = await cloudshift(...args);
    expect(code).toBe(2);
    expect(stderr + stdout).toMatch(message);
  });
});

describe('piped output', () => {
  it('ends cleanly when the reader goes away (cloudshift validate … --json | head -c 10)', async () => {
    const tsx = join(PROJECT_ROOT, 'node_modules/.bin/tsx');
    const { stdout, stderr } = await promisify(execFile)('bash', ['-o', 'pipefail', '-c', `"${tsx}" src/cli.ts validate --spec examples/aws-to-gcp.yaml --json | head -c 10`], { cwd: PROJECT_ROOT });
    expect(stdout).toHaveLength(10);
    expect(stderr).not.toMatch(/EPIPE|Unhandled|Error/);
  });
});
