/**
 * Just enough of the Prometheus text format for cloudshift's servers: counters and histograms with
 * labels. A dependency for three metric families would be more code to audit than this.
 */
type Labels = Record<string, string>;

const labelText = (labels: Labels, extra?: Labels) => {
  const all = { ...labels, ...extra };
  const parts = Object.entries(all).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
};

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    this.child(labels).inc(by);
  }

  /** A handle on one label set, for hot paths: no key built per increment. */
  child(labels: Labels): { inc(by?: number): void } {
    const key = JSON.stringify(labels);
    let entry = this.values.get(key);
    if (!entry) {
      entry = { labels, value: 0 };
      this.values.set(key, entry);
    }
    const e = entry;
    return { inc: (by = 1) => void (e.value += by) };
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`);
    return lines.join('\n');
  }
}

/** Latency buckets in seconds, from 0.5 ms to 10 s. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[] = LATENCY_BUCKETS) {}

  observe(labels: Labels, value: number): void {
    this.child(labels).observe(value);
  }

  /** A handle on one label set, for hot paths. Counts per bucket; render() makes them cumulative. */
  child(labels: Labels): { observe(value: number): void } {
    const key = JSON.stringify(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const s = series;
    const buckets = this.buckets;
    return {
      observe: (value) => {
        let i = 0;
        while (i < buckets.length && value > buckets[i]!) i++;
        s.counts[i]!++;
        s.sum += value;
        s.count++;
      },
    };
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${labelText(s.labels, { le: String(le) })} ${(cumulative += s.counts[i]!)}`));
      lines.push(`${this.name}_bucket${labelText(s.labels, { le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export function renderMetrics(...families: { render(): string }[]): string {
  return `${families.map((f) => f.render()).join('\n')}\n`;
}
