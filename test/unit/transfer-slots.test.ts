import { describe, expect, it } from 'vitest';
import { TransferSlots } from '../../src/copy/transfer-slots.js';

const tick = () => new Promise((r) => setImmediate(r));
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('TransferSlots', () => {
  it('never lets more than its size run, and hands freed slots over in arrival order', async () => {
    const slots = new TransferSlots(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, gate);
    const runs = gates.map((g, i) =>
      slots.run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await g.promise;
        running--;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) g.resolve();
    await Promise.all(runs);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
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
