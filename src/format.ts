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

/**
 * Text for a terminal, whatever it holds: control characters (C0 but newline and tab, DEL, C1)
 * and the bidirectional overrides shown escaped, so an operator's name, a comment, a rollback
 * reason or a dependency's name cannot clear another operator's screen, move the cursor or paint
 * a fake "completed" line. Every line the CLI prints passes through here.
 */
export function forTerminal(text: string): string {
  // As \uXXXX, which also reads the same inside a JSON string (`--json` lines pass through here).
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

/** 75 s → "1m15s", as rclone writes elapsed time. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return `${h ? `${h}h` : ''}${m}m${s}s`;
}
