/**
 * Mirrored agreement: what the source answered a request and what the target answered its mirrored
 * copy, compared row by row. The data plane captures both answers (mirror.lua), so any two V2
 * servers can be compared without either recording anything; runs recorded before that join the
 * answers cloudshift's own endpoints recorded by request id (/v1/recorded).
 */
import { predictionsOf } from '../endpoints/oip-client.js';
import { inferResponseSchema, type OutputMapping } from '../endpoints/oip.js';
import type { RecordedPrediction } from '../endpoints/recorder.js';
import type { Predictions } from '../inference/session.js';
import type { MirroredCapture } from './mirrored-answers.js';

export interface Agreement {
  rows: number;
  agreeing: number;
  agreement?: number;
  /** The largest difference between two answers' probabilities for one class, over the rows compared. */
  maxProbabilityDelta?: number;
  /** Mirrored requests the target answered with an error, nothing, or something unreadable: their rows disagree. */
  targetFailed?: number;
  /** Pairs the data plane let go of (its ring is bounded) or could not keep whole. */
  lost?: number;
  /** Source answers (HTTP 200) that are neither V2 nor cloudshift's V1: nothing to compare them by. */
  unreadable?: number;
}

/** How to read one side's V2 answers: which output is which, and the ONNX model's classes. */
export interface AnswerReading {
  outputs: OutputMapping;
  classes?: number[];
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

/**
 * The captured pairs compared: a source answer that was not a readable 200 is skipped (the
 * caller's failure, counted in the error rate); a target that failed its copy disagrees on every
 * row of it; for classifiers the served labels must match, and the probability vectors' largest
 * difference is reported.
 */
export function joinMirrored(capture: MirroredCapture, reading: Record<'source' | 'target', AnswerReading>): Agreement {
  let rows = 0;
  let agreeing = 0;
  let targetFailed = 0;
  let unreadable = 0;
  let maxProbabilityDelta: number | undefined;
  for (const pair of capture.pairs) {
    if (pair.sourceStatus !== 200) continue;
    const v1 = pair.path === '/v1/predict';
    const source = v1 ? readV1Answer(pair.source) : readAnswer(pair.source, reading.source);
    if (!source) {
      unreadable++;
      continue;
    }
    const n = source.scores.length;
    const target = pair.targetStatus !== 200 ? undefined : v1 ? readV1Answer(pair.target) : readAnswer(pair.target, reading.target, n);
    rows += n;
    if (!target || target.scores.length !== n) {
      targetFailed++;
      continue;
    }
    for (let r = 0; r < n; r++) {
      const a = source.labels ? { score: source.scores[r]!, label: source.labels[r]! } : { score: source.scores[r]! };
      const b = target.labels ? { score: target.scores[r]!, label: target.labels[r]! } : { score: target.scores[r]! };
      if (agrees(a, b)) agreeing++;
    }
    if (source.probabilities && target.probabilities && source.columns === target.columns) {
      let delta = maxProbabilityDelta ?? 0;
      for (let i = 0; i < source.probabilities.length; i++) {
        const d = Math.abs(source.probabilities[i]! - target.probabilities[i]!);
        // A NaN on one side is as far apart as two probabilities get.
        delta = Math.max(delta, Number.isNaN(d) ? 1 : d);
      }
      maxProbabilityDelta = delta;
    }
  }
  return {
    rows,
    agreeing,
    ...(rows ? { agreement: agreeing / rows } : {}),
    ...(maxProbabilityDelta !== undefined ? { maxProbabilityDelta } : {}),
    ...(targetFailed ? { targetFailed } : {}),
    ...(unreadable ? { unreadable } : {}),
    ...(capture.dropped + capture.skipped ? { lost: capture.dropped + capture.skipped } : {}),
  };
}

/**
 * cloudshift's own V1 answer (`{"predictions": [{"score", "label"?}]}`), which its endpoints still
 * answer for callers of `/v1/predict` (the tests' and the gateway bench's load), or undefined.
 */
function readV1Answer(body: Buffer): Predictions | undefined {
  try {
    const { predictions } = JSON.parse(body.toString('utf8')) as { predictions?: { score?: unknown; label?: unknown }[] };
    if (!Array.isArray(predictions) || predictions.length === 0 || !predictions.every((p) => typeof p?.score === 'number')) return undefined;
    const labelled = predictions.every((p) => typeof p.label === 'number');
    return { scores: Float64Array.from(predictions, (p) => p.score as number), ...(labelled ? { labels: Float64Array.from(predictions, (p) => p.label as number) } : {}), columns: 0 };
  } catch {
    return undefined;
  }
}

/** One V2 answer as predictions, or undefined where it is not one (or not of `rows` rows). */
function readAnswer(body: Buffer, reading: AnswerReading, rows?: number): Predictions | undefined {
  try {
    const response = inferResponseSchema.parse(JSON.parse(body.toString('utf8')));
    const count = rows ?? response.outputs[0]!.shape[0];
    if (count === undefined || !(count > 0)) return undefined;
    return predictionsOf(response, reading.outputs, count, 'a mirrored answer', reading.classes);
  } catch {
    return undefined;
  }
}

/** What an endpoint recorded since `since` (epoch ms); an endpoint that cannot answer adds nothing. */
export async function fetchRecorded(endpoint: string, since: number): Promise<RecordedPrediction[]> {
  const response = await fetch(new URL(`/v1/recorded?since=${since}`, endpoint), { signal: AbortSignal.timeout(15_000) });
  if (!response.ok) throw new Error(`the endpoint ${endpoint} did not give its recorded predictions: HTTP ${response.status}`);
  return (await response.json()) as RecordedPrediction[];
}
