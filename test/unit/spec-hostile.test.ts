/** The spec as a careless or hostile user writes it: every bad one refused, naming its field. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { locationOverlap, MAX_GLOB_LENGTH, parseSpec } from '../../src/spec.js';
import { parseSpecText, SpecFileError } from '../../src/spec-file.js';
import { baseSpec, badSpecs } from '../support/bad-specs.js';

describe('a corpus of bad specs', () => {
  const corpus = badSpecs('unit');
  it('holds at least 100 cases, and the base it breaks is valid', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(100);
    expect(parseSpec(baseSpec('unit'))).toMatchObject({ ok: true });
  });

  it.each(corpus.map((c) => [c.label, c] as const))('%s', (_, { spec, field }) => {
    const result = parseSpec(spec);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.field)).toContainEqual(expect.stringMatching(new RegExp(`^${field.replace(/[.()]/g, '\\$&')}`)));
    // No credential-looking value is ever repeated back.
    for (const issue of result.issues) expect(issue.message).not.toMatch(/hunter2|wJalrXUtnFEMI|ghp_abc|AccountKey=abc/);
  });
});

describe('generated specs', () => {
  const cloud = fc.constantFrom('aws', 'gcp', 'azure', 'onprem');
  const segment = fc.constantFrom('a', 'data', 'x.y', '..', '.', '', 'b-c', 'é', 'd\u0000', 'e\n', 'f\\g');
  const prefix = fc.array(segment, { maxLength: 4 }).chain((parts) => fc.constantFrom(parts.join('/'), `${parts.join('/')}/`, `/${parts.join('/')}`));
  const bucket = fc.constantFrom('data-bucket', 'data_bucket', 'Data', 'ab', 'goog-x', 'a.b', 'a--b', 'x'.repeat(64), '1.2.3.4', 'other-bucket');
  const location = fc.record({ cloud, profile: fc.constantFrom('p', 'q', 'bad name'), bucket, prefix });
  const number = fc.oneof(fc.double(), fc.constant(1e15), fc.constant(-1), fc.constant(0), fc.integer());
  const spec = fc.record(
    {
      name: fc.constantFrom('gen', 'Gen', 'a'.repeat(70)),
      source: location,
      target: location,
      copy: fc.record({ concurrency: number, bandwidthMiBps: number, include: fc.array(fc.string({ maxLength: 300 }), { maxLength: 3 }) }, { requiredKeys: [] }),
      approval: fc.record({ timeoutSeconds: number }, { requiredKeys: [] }),
      canary: fc.record({ intervalSeconds: number }, { requiredKeys: [] }),
    },
    { requiredKeys: ['name', 'source', 'target'] },
  );

  it('either validate or are refused naming a field; accepted ones are disjoint, bounded and safe', () => {
    fc.assert(
      fc.property(spec, (input) => {
        const result = parseSpec(input);
        if (!result.ok) {
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) {
            expect(issue.field).toMatch(/^[\w.()]+$/);
            expect(issue.message.length).toBeGreaterThan(10);
          }
          return;
        }
        const s = result.spec;
        expect(locationOverlap(s.source, s.target)).toBeUndefined();
        for (const l of [s.source, s.target]) {
          expect(l.prefix === '' || l.prefix.endsWith('/')).toBe(true);
          expect(l.prefix.split('/')).not.toContain('..');
          expect(l.prefix).not.toMatch(/[\u0000-\u001f\\]|\/\//);
          expect(l.prefix.startsWith('/')).toBe(false);
        }
        if (s.approval.timeoutSeconds !== undefined) expect(s.approval.timeoutSeconds).toBeLessThanOrEqual(30 * 86_400);
        if (s.copy.bandwidthMiBps !== undefined) expect(s.copy.bandwidthMiBps).toBeGreaterThanOrEqual(0.1);
        expect(s.canary.intervalSeconds).toBeGreaterThanOrEqual(1);
        expect(s.copy.concurrency).toBeLessThanOrEqual(256);
        for (const glob of s.copy.include) expect(glob.length).toBeLessThanOrEqual(MAX_GLOB_LENGTH);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('spec files', () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  it.each([
    ['empty', '', /is empty/],
    ['whitespace', '  \n', /only whitespace/],
    ['trailing comma', '{"name": "a",}', /not valid JSON \(at line 1, column \d+\)/],
    ['duplicate key', '{"name": "a", "name": "b"}', /a key appears twice/],
    ['UTF-16', '\ufeff{}', /UTF-16/],
  ])('refuses %s', (_, text, message) => {
    const input = text === '\ufeff{}' ? Uint8Array.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]) : bytes(text);
    expect(() => parseSpecText(input, 'spec.json')).toThrow(SpecFileError);
    expect(() => parseSpecText(input, 'spec.json')).toThrow(message);
  });

  it('refuses a YAML alias bomb and duplicate YAML keys, accepts a BOM', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n');
    expect(() => parseSpecText(bytes(bomb), 'spec.yaml')).toThrow(SpecFileError);
    expect(() => parseSpecText(bytes('name: a\nname: b\n'), 'spec.yaml')).toThrow(/a key appears twice/);
    expect(parseSpecText(Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes('{"name": "a"}')]), 'spec.json')).toEqual({ name: 'a' });
  });

  it('never quotes the file in an error', () => {
    let error: Error | undefined;
    try {
      parseSpecText(bytes('{"secret": "hunter2hunter2" oops}'), 'spec.json');
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).not.toMatch(/hunter2/);
  });
});
