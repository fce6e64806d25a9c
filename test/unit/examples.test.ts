/** Every spec in examples/ is one a newcomer can start as it is: valid, named, and in the README. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';
import { formatSpecIssues, parseSpec } from '../../src/spec.js';
import { parseSpecText } from '../../src/spec-file.js';
import { catalogEntry } from '../../src/audit/catalog.js';
import { classifyDependency } from '../../src/audit/dependencies.js';

const folder = join(PROJECT_ROOT, 'examples');
const files = readdirSync(folder).filter((f) => /\.(ya?ml|json)$/.test(f));
const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

describe('examples/', () => {
  it('holds a spec for each common move', () => {
    expect(files.sort()).toEqual(['aws-to-gcp.yaml', 'data-only-s3-to-gcs.yaml', 'gcp-to-azure.yaml', 'mlserver-to-triton.yaml', 'onprem-to-aws.yaml']);
  });

  it.each(files)('%s is a valid spec, named uniquely, and the README points to it', (file) => {
    const parsed = parseSpec(parseSpecText(readFileSync(join(folder, file)), file));
    if (!parsed.ok) throw new Error(formatSpecIssues(parsed.issues));
    expect(readme).toContain(`examples/${file}`);
  });

  it('describes the source deployment the audit maps, where a model moves', () => {
    const specs = files.map((f) => parseSpec(parseSpecText(readFileSync(join(folder, f)), f))).flatMap((p) => (p.ok ? [p.spec] : []));
    expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
    for (const spec of specs.filter((s) => s.workload)) {
      const findings = spec.deployment.dependencies.map((d) => classifyDependency(d, spec.source.cloud, spec.target.cloud));
      expect(findings.length, spec.name).toBeGreaterThan(0);
      // Services the catalog knows, so each finding says what it becomes on the target.
      for (const d of spec.deployment.dependencies) expect(catalogEntry(spec.source.cloud, d.service), `${spec.name}: ${d.service}`).toBeDefined();
      // The model's serving service maps to a named counterpart on the target cloud.
      expect(findings.find((f) => f.kind === 'mlService')?.equivalent, spec.name).toMatch(/\S/);
    }
  });
});
