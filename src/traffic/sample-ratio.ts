/**
 * A sample-ratio check: did each side receive the share of served requests the weights say? A
 * split off by more than chance (weighted DNS that resolvers cache, sticky keys, a router that
 * does not apply what it reads back) means the populations the step judges are not the ones the
 * weights describe, and the step's comparison rests on nothing. An exact two-sided binomial test
 * on the served counts, at a strict level (as A/B platforms run theirs: a mismatch is a bug to
 * find, not an effect to weigh), and only once the counts can show one.
 */
import { binomialCdf } from '../compare/intervals.js';

/** The level below which a split is a mismatch (the usual SRM threshold). */
export const SAMPLE_RATIO_LEVEL = 0.001;
/** Fewer served requests than this cannot show a mismatch worth a failed step. */
export const SAMPLE_RATIO_MIN_REQUESTS = 100;

export interface SampleRatio {
  /** Served requests (mirrored copies left out). */
  source: number;
  target: number;
  /** The share of served requests the weights give the target, 0–1. */
  expected: number;
  observed: number;
  /** The exact two-sided binomial p-value of a split this far from `expected`. */
  p: number;
  mismatch: boolean;
}

/** The check, or undefined where it does not apply (a side the weights leave empty, too few requests). */
export function sampleRatio(source: number, target: number, targetPercent: number): SampleRatio | undefined {
  const n = source + target;
  const expected = targetPercent / 100;
  if (!(expected > 0 && expected < 1) || !Number.isInteger(source) || !Number.isInteger(target) || source < 0 || target < 0 || n < SAMPLE_RATIO_MIN_REQUESTS) return undefined;
  const below = binomialCdf(target, n, expected);
  const above = 1 - binomialCdf(target - 1, n, expected);
  const p = Math.min(1, 2 * Math.min(below, above));
  return { source, target, expected, observed: target / n, p, mismatch: p < SAMPLE_RATIO_LEVEL };
}
