/**
 * Workflow code runs in Temporal's deterministic sandbox: it must not import Node built-ins,
 * cloud SDKs or anything that does I/O, and must import activities as types only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '../../src/workflows');
const sources = readdirSync(dir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ file: f, text: readFileSync(join(dir, f), 'utf8') }));
/** Workflow modules, phases, and the two pure modules outside: the spec and the migration's paths. */
const ALLOWED_EVERYWHERE = [/^@temporalio\/(workflow|common)$/, /^zod$/];
const ALLOWED_IN_WORKFLOWS = [/^\.\/[\w-]+\.js$/, /^\.\/phases\/[\w-]+\.js$/, /^\.\.\/(spec|migration-paths|error-types|format)\.js$/];
const ALLOWED_IN_PHASES = [/^\.\/[\w-]+\.js$/, /^\.\.\/[\w-]+\.js$/, /^\.\.\/\.\.\/(spec|migration-paths|error-types|format)\.js$/];
const FORBIDDEN_CALLS = [/Date\.now\(/, /Math\.random\(/, /process\.env/, /setTimeout\(/];

describe('src/workflows stays deterministic', () => {
  it.each(sources)('$file imports only sandbox-safe modules', ({ file, text }) => {
    const ALLOWED = [...ALLOWED_EVERYWHERE, ...(file.startsWith('phases/') ? ALLOWED_IN_PHASES : ALLOWED_IN_WORKFLOWS)];
    const imports = [...text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)'/gms)].map((m) => ({ typeOnly: !!m[1], from: m[2]! }));
    for (const { typeOnly, from } of imports) {
      if (typeOnly) continue;
      expect(builtinModules.includes(from.replace(/^node:/, '')), `${from} is a Node built-in`).toBe(false);
      expect(ALLOWED.some((re) => re.test(from)), `${from} is not allowed in workflow code (import it as a type, or move the code to an activity)`).toBe(true);
    }
  });

  it.each(sources)('$file calls nothing non-deterministic', ({ text }) => {
    for (const re of FORBIDDEN_CALLS) expect(text).not.toMatch(re);
  });
});
