/** Numbers for sentences, shared by workflows (pure) and the client. */

/** A number for a sentence; never throws. */
export function formatNumber(v: unknown): string {
  if (typeof v !== 'number' || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  return v.toPrecision(4);
}
