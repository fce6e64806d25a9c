/**
 * Where one large object's copy spends its time, for `bench copy`: when CLOUDSHIFT_COPY_TIMELINE
 * names a file, each large transfer appends a JSON line with the milliseconds from its start to
 * each step's end (source opened, last byte sent, stored, hashed, patched, written, record kept).
 * Otherwise nothing is kept and nothing is written.
 */
import { appendFileSync } from 'node:fs';

export interface CopyTimeline {
  mark(step: string): void;
  end(): void;
}

export function copyTimeline(key: string, size: number, file = process.env.CLOUDSHIFT_COPY_TIMELINE): CopyTimeline | undefined {
  if (!file) return undefined;
  const started = performance.now();
  const marks: Record<string, number> = {};
  return {
    mark: (step) => {
      marks[step] = Math.round(performance.now() - started);
    },
    end: () => appendFileSync(file, `${JSON.stringify({ key, size, startedAt: Math.round(started), marks })}\n`),
  };
}
