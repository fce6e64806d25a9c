/**
 * The predictions an endpoint answered, by request id, in a ring of the latest 100,000 requests:
 * what the canary joins across both sides to measure mirrored agreement without a proxy of ours
 * in the path. Kept compact (a label or a score per row) and bounded, so it costs the same at any
 * request rate.
 */
export interface RecordedPrediction {
  id: string;
  role: 'served' | 'mirrored';
  /** Epoch milliseconds. */
  at: number;
  predictions: { score: number; label?: number }[];
}

export class PredictionRecorder {
  private readonly ring: (RecordedPrediction | undefined)[];
  private next = 0;

  constructor(private readonly capacity = 100_000) {
    this.ring = new Array<RecordedPrediction | undefined>(capacity);
  }

  record(id: string, role: RecordedPrediction['role'], predictions: RecordedPrediction['predictions']): void {
    this.ring[this.next % this.capacity] = { id: id.slice(0, 128), role, at: Date.now(), predictions };
    this.next++;
  }

  /** What was recorded at or after `since` (epoch ms), oldest first. */
  since(since: number): RecordedPrediction[] {
    const out: RecordedPrediction[] = [];
    const first = Math.max(0, this.next - this.capacity);
    for (let i = first; i < this.next; i++) {
      const entry = this.ring[i % this.capacity]!;
      if (entry.at >= since) out.push(entry);
    }
    return out;
  }
}
