/** The worker image, read as Docker reads it (no Docker engine runs on our machines). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
const instructions = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
const stages = instructions.reduce<string[][]>((all, line) => (line.startsWith('FROM ') ? [...all, [line]] : (all.at(-1)!.push(line), all)), []);
const final = stages.at(-1)!;

describe('the Dockerfile', () => {
  it('builds in stages on the Node LTS the scripts install, the last with production dependencies from the lockfile', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const lts = /^NODE_LTS_VERSION=(\S+)/m.exec(readFileSync(join(root, 'scripts', 'install.sh'), 'utf8'))![1]!;
    for (const stage of stages) expect(stage[0]).toContain(`node:${lts}-`);
    expect(final.some((l) => /^RUN .*npm ci --omit=dev/.test(l))).toBe(true);
    expect(final.some((l) => /npm install/.test(l))).toBe(false);
    // The type-checking stage must feed the final one, or BuildKit skips it.
    const checkStage = /^FROM \S+ AS (\w+)/.exec(stages[0]![0]!)![1]!;
    expect(final.some((l) => l.startsWith(`COPY --from=${checkStage} `))).toBe(true);
  });

  it('runs as a non-root user that owns every path the worker writes, listening where others reach it', () => {
    const user = final.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBe('USER node');
    const env = final.filter((l) => l.startsWith('ENV ')).join(' ');
    const stateDir = /CLOUDSHIFT_STATE_DIR=(\S+)/.exec(env)![1]!;
    const owned = final.filter((l) => /chown -R node:node/.test(l)).join(' ');
    for (const path of [stateDir, '/var/lib/cloudshift']) expect(owned, path).toContain(path);
    expect(env).toContain('CLOUDSHIFT_LISTEN_HOST=0.0.0.0');
    expect(env).toMatch(/CLOUDSHIFT_METRICS_ADDRESS=0\.0\.0\.0:\d+/);
    expect(final.find((l) => l.startsWith('EXPOSE '))).toMatch(/9464 18080-18199/);
  });

  it('starts the worker through scripts/worker.sh, which it copies in, so the image caps the heap as a local worker does', () => {
    expect(final.at(-1)).toBe('CMD ["bash", "scripts/worker.sh"]');
    const copied = final.filter((l) => l.startsWith('COPY ')).join(' ');
    for (const script of ['scripts/worker.sh', 'scripts/node-env.sh']) expect(copied).toContain(script);
  });

  it('has a .dockerignore that keeps the local stack and installed packages out of the build context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const path of ['.git', '.stack', 'node_modules']) expect(ignored).toContain(path);
  });
});
