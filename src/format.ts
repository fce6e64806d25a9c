/** Numbers and failures for sentences, shared by workflows (pure), the client and the CLI. */

/** A number for a sentence; never throws. */
export function formatNumber(v: unknown): string {
  if (typeof v !== 'number' || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  return v.toPrecision(4);
}

/**
 * A failure as an operator needs it: every distinct message down its causes ("Activity task
 * failed" alone says nothing; its cause says which object and why).
 */
export function failureMessage(error: unknown): string {
  const messages: string[] = [];
  for (let e: unknown = error; e !== undefined && messages.length < 5; e = e instanceof Error ? e.cause : undefined) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !messages.includes(message)) messages.push(message);
    if (!(e instanceof Error)) break;
  }
  return messages.join(': ');
}
