/**
 * A load generator: real prediction requests (rows of a holdout set) at a steady rate, so every
 * canary step is judged on traffic. Run by the canary's load activity (`canary.load`), the tests
 * and the gateway benchmark.
 */
import { inferRequest, type ServedInput } from '../endpoints/oip.js';
import { Agent, request } from 'node:http';
import { BACKEND_HEADER, STICKY_HEADER } from './route.js';

export interface LoadOptions {
  url: string;
  /** Rows to send, one request each, round-robin. */
  rows: readonly (readonly number[])[];
  /** Requests per second; absent means as fast as `concurrency` allows. */
  rps?: number;
  /** Requests in flight at most. @default 8 */
  concurrency?: number;
  /** Send a sticky key with each request (the row's index). */
  sticky?: boolean;
  /**
   * Send Open Inference Protocol requests to this model (its one float input by name) instead
   * of cloudshift's V1 `/v1/predict`: what any V2 server behind the data plane answers.
   */
  v2?: { model: string; version?: string; input: string; datatype?: 'FP32' | 'FP64'; inputs?: ServedInput[] };
}

export interface LoadTally {
  sent: number;
  ok: number;
  errors: number;
  byBackend: Record<string, number>;
  /** Answers by HTTP status, and `connection` for requests that got none. */
  byStatus: Record<string, number>;
  latenciesMs: number[];
}

export class LoadGenerator {
  private readonly agent: Agent;
  private stopped = false;
  private running?: Promise<void>;
  readonly tally: LoadTally = { sent: 0, ok: 0, errors: 0, byBackend: {}, byStatus: {}, latenciesMs: [] };

  constructor(private readonly options: LoadOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: options.concurrency ?? 8 });
  }

  start(): this {
    const workers = this.options.concurrency ?? 8;
    const interval = this.options.rps ? (1000 * workers) / this.options.rps : 0;
    let next = 0;
    const loop = async () => {
      while (!this.stopped) {
        const started = performance.now();
        const index = next++ % this.options.rows.length;
        await this.send(index);
        const wait = interval - (performance.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    };
    this.running = Promise.all(Array.from({ length: workers }, loop)).then(() => undefined);
    return this;
  }

  async stop(): Promise<LoadTally> {
    this.stopped = true;
    await this.running;
    this.agent.destroy();
    return this.tally;
  }

  private send(index: number): Promise<void> {
    const row = this.options.rows[index]!;
    const v2 = this.options.v2;
    const body = v2
      ? JSON.stringify(inferRequest(v2.inputs ?? { name: v2.input, datatype: v2.datatype ?? 'FP32' }, [row]))
      : JSON.stringify({ instances: [row] });
    const path = v2 ? `/v2/models/${encodeURIComponent(v2.model)}${v2.version ? `/versions/${encodeURIComponent(v2.version)}` : ''}/infer` : '/v1/predict';
    const started = performance.now();
    return new Promise((resolve) => {
      const out = request(
        new URL(path, this.options.url),
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(this.options.sticky ? { [STICKY_HEADER]: String(index) } : {}) },
        },
        (answer) => {
          answer.resume();
          answer.on('end', () => {
            this.tally.sent++;
            if (answer.statusCode === 200) this.tally.ok++;
            else this.tally.errors++;
            const status = String(answer.statusCode);
            this.tally.byStatus[status] = (this.tally.byStatus[status] ?? 0) + 1;
            const backend = String(answer.headers[BACKEND_HEADER] ?? 'direct');
            this.tally.byBackend[backend] = (this.tally.byBackend[backend] ?? 0) + 1;
            if (this.tally.latenciesMs.length < 1_000_000) this.tally.latenciesMs.push(performance.now() - started);
            resolve();
          });
        },
      );
      out.on('error', () => {
        this.tally.sent++;
        this.tally.errors++;
        this.tally.byStatus.connection = (this.tally.byStatus.connection ?? 0) + 1;
        // A refused connection answers at once: pause so a dead gateway is not spun against.
        setTimeout(resolve, 50);
      });
      out.end(body);
    });
  }
}
