/** A small client for Prometheus's HTTP query API: instant queries, and waiting for a scrape. */

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export class PrometheusClient {
  constructor(readonly url: string) {}

  /** An instant query evaluated at `at`; a vector or a scalar answer, as samples. */
  async query(promql: string, at: Date): Promise<Sample[]> {
    const endpoint = new URL('/api/v1/query', this.url);
    const body = new URLSearchParams({ query: promql, time: String(at.getTime() / 1000) });
    let response: Response;
    try {
      response = await fetch(endpoint, { method: 'POST', body, signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      throw new Error(`Prometheus at ${this.url} did not answer the query ${promql}: ${(error as Error).message} (retried; is it running? bash scripts/stack.sh start)`);
    }
    const answer = (await response.json().catch(() => ({}))) as { status?: string; error?: string; data?: { resultType: string; result: unknown } };
    if (answer.status !== 'success' || !answer.data) {
      throw new PromQLError(`Prometheus refused the query ${promql}: ${answer.error ?? `HTTP ${response.status}`}`, response.status === 400 || response.status === 422);
    }
    const { resultType, result } = answer.data;
    if (resultType === 'scalar') return [{ labels: {}, value: Number((result as [number, string])[1]) }];
    if (resultType === 'vector') return (result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    throw new PromQLError(`the query ${promql} answers a ${resultType}; a canary query must answer one number (an instant vector or a scalar)`, true);
  }

  /**
   * Waits until Prometheus holds a scrape at or after `at` of every one of `selectors` (`up`
   * selectors, one per set of targets), so a query evaluated at `at` sees the whole window.
   * Answers those still not scraped when the timeout ran out; none when all were.
   */
  async waitForScrapes(selectors: readonly string[], at: Date, timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    let waiting = [...selectors];
    for (;;) {
      const scraped = await Promise.all(waiting.map(async (selector) => ((await this.query(`max(timestamp(up${selector}))`, new Date()))[0]?.value ?? 0) * 1000 >= at.getTime()));
      waiting = waiting.filter((_, i) => !scraped[i]);
      if (waiting.length === 0 || Date.now() > deadline) return waiting;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** A query Prometheus cannot run as written: retrying it will not help. */
export class PromQLError extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
    this.name = 'PromQLError';
  }
}
