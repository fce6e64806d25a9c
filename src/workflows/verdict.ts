/**
 * The shadow verdict as the workflow reads it: parsed at the boundary, so whatever an activity
 * returns — a null, a NaN turned null by JSON, a missing field, a report from an older worker —
 * it cannot fail a workflow task. Anything unreadable is a failed verdict that says so.
 */
import { z } from 'zod';
import { formatNumber } from '../format.js';

export { formatNumber } from '../format.js';

const finite = z.number().refine(Number.isFinite);
const criterionSchema = z.object({
  name: z.string().catch('(unnamed)'),
  value: finite.optional().catch(undefined),
  threshold: finite.optional().catch(undefined),
  comparator: z.enum(['<=', '>=']).catch('<='),
  gate: z.boolean().catch(true),
  passed: z.boolean().catch(false),
  status: z.enum(['passed', 'failed', 'notApplicable']).optional().catch(undefined),
  reason: z.string().optional().catch(undefined),
});

const verdictSchema = z.object({
  verdict: z.enum(['passed', 'failed', 'inconclusive']).optional().catch(undefined),
  passed: z.boolean(),
  criteria: z.array(z.unknown()).catch([]),
  inconclusive: z.array(z.string()).catch([]),
  reportHtml: z.string().catch('(no report)'),
  rows: z.number().catch(0),
});

export interface ReadVerdict {
  kind: 'passed' | 'failed' | 'inconclusive';
  /** One line per failed gate: name, value, limit — or why the verdict could not be read. */
  failures: string[];
  inconclusive: string[];
  reportHtml: string;
  rows: number;
  /** The criteria that could be read, for the metrics (the drift monitors). */
  criteria: z.output<typeof criterionSchema>[];
}


export function readShadowVerdict(raw: unknown): ReadVerdict {
  const parsed = verdictSchema.safeParse(raw);
  if (!parsed.success) {
    return { kind: 'failed', failures: [`the comparison returned a verdict cloudshift cannot read (${parsed.error.issues.map((i) => i.path.join('.') || 'verdict').join(', ')})`], inconclusive: [], reportHtml: '(no report)', rows: 0, criteria: [] };
  }
  const v = parsed.data;
  const criteria = v.criteria.map((c) => criterionSchema.safeParse(c)).flatMap((r) => (r.success ? [r.data] : []));
  const failures = criteria
    .filter((c) => c.gate && (c.status ? c.status === 'failed' : !c.passed))
    .map((c) => `${c.name} ${c.value === undefined ? (c.reason ?? 'n/a') : formatNumber(c.value)} (limit ${c.comparator} ${formatNumber(c.threshold)})`);
  const kind = v.verdict ?? (v.passed ? 'passed' : 'failed');
  if (kind === 'failed' && failures.length === 0) failures.push('the comparison failed the gate without naming a criterion');
  return { kind: kind === 'passed' && !v.passed ? 'failed' : kind, failures, inconclusive: v.inconclusive, reportHtml: v.reportHtml, rows: v.rows, criteria };
}
