/** What the CLI prints cannot steer the terminal, whoever wrote the field it shows. */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { forTerminal } from '../../src/format.js';

const STEERING = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

describe('forTerminal', () => {
  it('shows a screen-clearing, cursor-moving, fake-green comment as text', () => {
    const hostile = 'ok\x1b[2J\x1b[H\x1b[32mmigration completed\x1b[0m\r\x9b31m\u202eevil';
    const shown = forTerminal(hostile);
    expect(shown).toBe('ok\\u001b[2J\\u001b[H\\u001b[32mmigration completed\\u001b[0m\\u000d\\u009b31m\\u202eevil');
    expect(shown).not.toMatch(STEERING);
  });

  it('keeps newlines, tabs and ordinary Unicode as they are', () => {
    expect(forTerminal('phase\tcanary\nnext: approve — ✓ Zürich 東京')).toBe('phase\tcanary\nnext: approve — ✓ Zürich 東京');
  });

  it('leaves nothing that steers a terminal, for any string, and JSON stays JSON', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const shown = forTerminal(s);
        expect(shown).not.toMatch(STEERING);
        const json = forTerminal(JSON.stringify({ s }));
        expect(JSON.parse(json)).toEqual({ s });
      }),
      { numRuns: 500 },
    );
  });

  it('is the only way the CLI prints a line', () => {
    const cli = readFileSync(new URL('../../src/cli.ts', import.meta.url), 'utf8');
    const direct = cli.split('\n').filter((line) => /console\.(log|error|warn|info)\(/.test(line) && !/forTerminal/.test(line));
    expect(direct).toEqual([]);
  });
});
