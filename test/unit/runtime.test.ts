/** The suite runs on a Node LTS the project supports (scripts/test.sh puts one first on PATH). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const engines = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines.node;

describe('the runtime', () => {
  it('is a supported Node LTS line, as package.json\'s engines says', () => {
    const majors = [...engines.matchAll(/\^(\d+)\./g)].map((m) => Number(m[1]));
    expect(majors).toEqual([22, 24]);
    expect(majors, `Node ${process.version} runs the tests; run them through npm test (scripts/node-env.sh puts .stack/node/bin first)`).toContain(Number(process.versions.node.split('.')[0]));
  });
});
