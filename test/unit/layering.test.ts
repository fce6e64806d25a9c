/**
 * The tree's arrows, type imports included (lint's import-x/no-cycle skips those): no import
 * cycles anywhere in src/, production code never imports dev/, inference/ never imports shadow/,
 * the domain folders never import workflows/ or activities/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');
const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
const graph = new Map<string, string[]>(
  files.map((file) => {
    const text = readFileSync(join(SRC, file), 'utf8');
    const targets = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms), ...text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)]
      .map((m) => normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))))
      .filter((target) => files.includes(target));
    return [file, [...new Set(targets)]];
  }),
);
const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

describe('the tree’s arrows', () => {
  it('has no import cycle, counting type imports', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'visiting');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (state.get(next) === 'visiting') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it('lets the client import nothing from workflows/ but definitions.ts (types aside)', () => {
    for (const file of files.filter((f) => f.startsWith('client/'))) {
      const text = readFileSync(join(SRC, file), 'utf8');
      const values = [...text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!).filter((from) => from.includes('/workflows/'));
      expect(values, file).toEqual(values.filter((from) => from.endsWith('/workflows/definitions.js')));
    }
  });

  it('points down: no production code imports dev/, inference/ does not import shadow/, domain folders do not import workflows/ or activities/', () => {
    const wrong: string[] = [];
    const domain = ['audit', 'copy', 'inference', 'shadow', 'compare', 'endpoints', 'traffic', 'http', 'clouds'];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const from = folderOf(file);
        const to = folderOf(target);
        if (to === 'dev' && from !== 'dev' && file !== 'cli.ts') wrong.push(`${file} → ${target}`);
        if (from === 'inference' && to === 'shadow') wrong.push(`${file} → ${target}`);
        if (domain.includes(from) && (to === 'workflows' || to === 'activities')) wrong.push(`${file} → ${target}`);
      }
    }
    expect(wrong.map((w) => relative('.', w))).toEqual([]);
  });
});
