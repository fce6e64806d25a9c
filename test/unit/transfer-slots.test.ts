import { describe, expect, it } from 'vitest';
import { ThroughputClimber, TransferSlots } from '../../src/copy/transfer-slots.js';

const tick = () => new Promise((r) => setImmediate(r));
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Queues `count` transfers held open by gates; reports which started and the most at once. */
function holdTransfers(slots: TransferSlots, count: number) {
  const gates = Array.from({ length: count }, gate);
  const started: number[] = [];
  const state = { running: 0, most: 0 };
  const runs = gates.map((g, i) =>
    slots.run(async () => {
      started.push(i);
      state.most = Math.max(state.most, ++state.running);
      await g.promise;
      state.running--;
    }),
  );
  return { gates, started, runs, most: () => state.most };
}

describe('TransferSlots', () => {
  it('never lets more than its size run, and hands freed slots over in arrival order', async () => {
    const { gates, started, runs, most } = holdTransfers(new TransferSlots(2), 5);
    await tick();
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.resolve();
    await Promise.all(runs);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most()).toBe(2);
  });

  it('frees the slot when the work fails, and a release called twice frees it once', async () => {
    const slots = new TransferSlots(1);
    await expect(slots.run(() => Promise.reject(new Error('upload refused')))).rejects.toThrow('upload refused');
    const release = await slots.acquire();
    release();
    release();
    const a = await slots.acquire();
    let second = false;
    const b = slots.acquire().then((r) => ((second = true), r));
    await tick();
    expect(second).toBe(false);
    a();
    (await b)();
  });

  it('gives up waiting when the signal aborts, without taking a slot', async () => {
    const slots = new TransferSlots(1);
    const held = await slots.acquire();
    const abort = new AbortController();
    const waiting = slots.acquire(abort.signal);
    abort.abort(new Error('copy cancelled'));
    await expect(waiting).rejects.toThrow('copy cancelled');
    held();
    const next = await slots.acquire();
    next();
    expect(() => new TransferSlots(0)).toThrow(/at least 1/);
  });
});

describe('TransferSlots.setLimit', () => {
  it('starts waiters at once when raised, and lets running transfers finish when lowered', async () => {
    const slots = new TransferSlots(1);
    const { gates, started, runs, most } = holdTransfers(slots, 4);
    await tick();
    expect(started).toEqual([0]);
    slots.setLimit(3);
    await tick();
    expect(started).toEqual([0, 1, 2]);
    slots.setLimit(1);
    gates[0]!.resolve();
    gates[1]!.resolve();
    await tick();
    // Two ended, yet one still runs: the lower cap holds the last one back.
    expect(started).toEqual([0, 1, 2]);
    gates[2]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    gates[3]!.resolve();
    await Promise.all(runs);
    expect(most()).toBe(3);
  });
});

describe('ThroughputClimber', () => {
  /**
   * A target whose aggregate rate rises with transfers at once up to `peak`, then falls (each
   * extra object's finalising holds the others back): MiB/s at `c` at once.
   */
  const target = (peak: number) => (c: number) => Math.max(5, c <= peak ? 25 * c : 25 * peak - 12 * (c - peak));

  /** Drives a climber through `windows` windows of 64 MiB transfers; returns the limits it chose. */
  function drive(climber: ThroughputClimber, clock: { now: number }, rateAt: (c: number) => number, windows: number) {
    const limits: number[] = [];
    for (let w = 0; w < windows; w++) {
      const c = climber.limit;
      for (let i = 0; i < Math.max(2, c); i++) {
        clock.now += 64 / rateAt(c);
        climber.completed(64 * 1024 * 1024, clock.now);
      }
      limits.push(climber.limit);
    }
    return limits;
  }
  const climb = (rateAt: (c: number) => number, windows: number, start = 4) => drive(new ThroughputClimber(start, { min: 1, max: 16 }, 0), { now: 0 }, rateAt, windows);

  it.each([
    [2, 'a target that finalises under one lock'],
    [4, 'the local stack as measured'],
    [11, 'a target that scales'],
  ])('settles within one of the best concurrency (%i: %s)', (peak) => {
    const limits = climb(target(peak), 60);
    for (const limit of limits.slice(-20)) expect(Math.abs(limit - peak)).toBeLessThanOrEqual(1);
  });

  it('follows a target that turns busy part way through: from near 10 at once down to near 3', () => {
    const climber = new ThroughputClimber(4, { min: 1, max: 16 }, 0);
    const clock = { now: 0 };
    const quiet = drive(climber, clock, target(10), 50);
    for (const limit of quiet.slice(-10)) expect(Math.abs(limit - 10)).toBeLessThanOrEqual(1);
    const busy = drive(climber, clock, target(3), 50);
    for (const limit of busy.slice(-10)) expect(Math.abs(limit - 3)).toBeLessThanOrEqual(1);
  });

  it('stays within its bounds on a target that only gets faster, or only slower', () => {
    expect(Math.max(...climb((c) => 10 * c, 80))).toBe(16);
    expect(Math.min(...climb((c) => 100 / c, 80))).toBe(1);
    expect(climb((c) => 100 / c, 80).slice(-5).every((l) => l <= 2)).toBe(true);
  });
});
