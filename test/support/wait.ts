/**
 * Polls `probe` until it returns something other than undefined (errors count as not yet). On
 * time-out, `explain` says what was seen instead, so a failure in CI names the state it stuck in.
 */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000, explain?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      const seen = explain ? await explain().catch((error: unknown) => `(could not say what was seen: ${String(error)})`) : undefined;
      throw new Error(`condition not met within ${timeoutMs} ms${seen ? `; seen instead: ${seen}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
