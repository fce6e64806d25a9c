/**
 * A canary analysis as the workflow reads it: parsed at the boundary like the shadow verdict, so
 * whatever the activity returns (a null from a NaN, a missing field, an older worker's shape) it
 * cannot fail a workflow task. What cannot be read is a failed step that says so.
 */
import { z } from 'zod';
import type { CanaryAnalysis } from '../traffic/analysis.js';

/** Strings an activity sends are bounded here: a Prometheus error can quote a whole query. */
const text = (max: number) => z.string().transform((t) => (t.length > max ? `${t.slice(0, max)}…` : t));
const count = z.number().refine(Number.isFinite).catch(0);
const seconds = z.number().refine(Number.isFinite).optional().catch(undefined);
const side = z.object({ requests: count, errors: count, errorRate: count, p50: seconds, p99: seconds, mean: seconds, mirrored: seconds }).catch({ requests: 0, errors: 0, errorRate: 0 });
const queryResult = z.object({ name: text(100).catch('(unnamed)'), query: text(4000).catch(''), value: seconds });

const analysisSchema = z.object({
  verdict: z.enum(['passed', 'failed', 'waitingForTraffic']),
  reasons: z
    .array(text(2000))
    .catch([])
    .transform((r) => r.slice(0, 40)),
  window: z
    .object({
      since: z.string().catch(''),
      until: z.string().catch(''),
      seconds: count,
      source: side,
      target: side,
      mirror: z.object({ rows: count, agreeing: count, agreement: seconds, maxProbabilityDelta: seconds, targetFailed: seconds, lost: seconds, unreadable: seconds }).catch({ rows: 0, agreeing: 0 }),
    })
    .catch({ since: '', until: '', seconds: 0, source: { requests: 0, errors: 0, errorRate: 0 }, target: { requests: 0, errors: 0, errorRate: 0 }, mirror: { rows: 0, agreeing: 0 } }),
  queries: z
    .array(queryResult)
    .catch([])
    .transform((q) => q.slice(0, 20)),
  metrics: z
    .array(
      queryResult.extend({
        condition: text(100).catch(''),
        // A measurement that cannot say it passed did not.
        passed: z.boolean().catch(false),
        reason: text(300).optional().catch(undefined),
      }),
    )
    .catch([])
    .transform((m) => m.slice(0, 20)),
});

export function readCanaryAnalysis(raw: unknown): CanaryAnalysis {
  const parsed = analysisSchema.safeParse(raw);
  if (parsed.success) {
    const a = parsed.data;
    if (a.verdict === 'failed' && a.reasons.length === 0) a.reasons.push('the analysis failed the step without naming a check');
    return a as CanaryAnalysis;
  }
  const empty = analysisSchema.parse({ verdict: 'failed' });
  return { ...empty, reasons: [`the canary analysis returned a result cloudshift cannot read (${parsed.error.issues.map((i) => i.path.join('.') || 'analysis').join(', ')})`] } as CanaryAnalysis;
}
