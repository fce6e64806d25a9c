/**
 * Mirrored agreement without a proxy of ours in the path: both endpoints record what they answered
 * by request id (the data plane gives each request one), and the analysis joins the source's served
 * answers with the target's mirrored answers to the same requests.
 */
import type { RecordedPrediction } from '../endpoints/recorder.js';

export interface Agreement {
  rows: number;
  agreeing: number;
  agreement?: number;
}

/** Same class, or for regressors scores within 0.1 % (relative, floored at 1e-3 like the shadow gate). */
export function agrees(a: { score: number; label?: number }, b: { score: number; label?: number }): boolean {
  if (a.label !== undefined || b.label !== undefined) return a.label === b.label;
  return Math.abs(a.score - b.score) <= 1e-3 * Math.max(Math.abs(a.score), Math.abs(b.score), 1e-3);
}

export function joinAgreement(source: readonly RecordedPrediction[], target: readonly RecordedPrediction[]): Agreement {
  const served = new Map<string, RecordedPrediction>();
  for (const entry of source) if (entry.role === 'served') served.set(entry.id, entry);
  let rows = 0;
  let agreeing = 0;
  for (const mirrored of target) {
    if (mirrored.role !== 'mirrored') continue;
    const original = served.get(mirrored.id);
    if (!original) continue;
    // A prediction one side gave and the other did not is a row that disagrees: a target that
    // answered its mirrored requests with nothing must not count as agreeing by default.
    const n = Math.min(original.predictions.length, mirrored.predictions.length);
    rows += Math.max(original.predictions.length, mirrored.predictions.length);
    for (let i = 0; i < n; i++) if (agrees(original.predictions[i]!, mirrored.predictions[i]!)) agreeing++;
  }
  return { rows, agreeing, ...(rows ? { agreement: agreeing / rows } : {}) };
}

/** What an endpoint recorded since `since` (epoch ms); an endpoint that cannot answer adds nothing. */
export async function fetchRecorded(endpoint: string, since: number): Promise<RecordedPrediction[]> {
  const response = await fetch(new URL(`/v1/recorded?since=${since}`, endpoint), { signal: AbortSignal.timeout(15_000) });
  if (!response.ok) throw new Error(`the endpoint ${endpoint} did not give its recorded predictions: HTTP ${response.status}`);
  return (await response.json()) as RecordedPrediction[];
}
