import assert from 'node:assert/strict';
import { DeliverySlots } from '../../../server/domain/transports/delivery-slots.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('delivery slots (R-ROB-8)', () => {
  it('R-ROB-8 caps deliveries in total and per owner, serving other owners past a greedy one', async () => {
    const slots = new DeliverySlots(3, 2);
    const signal = new AbortController().signal;
    const granted: string[] = [];
    const take = (owner: number, tag: string) =>
      slots.acquire(owner, signal).then((release) => {
        granted.push(tag);
        return release!;
      });
    const a1 = take(1, 'a1');
    const a2 = take(1, 'a2');
    const a3 = take(1, 'a3');
    const b1 = take(2, 'b1');
    const c1 = take(3, 'c1');
    await tick();
    assert.deepEqual(granted, ['a1', 'a2', 'b1'], 'owner 1 holds 2 slots at most; owner 2 gets the third');
    assert.equal(slots.queued, 2);
    (await a1)();
    await tick();
    assert.deepEqual(granted, ['a1', 'a2', 'b1', 'a3'], 'first come, first served among those under their cap');
    (await b1)();
    await tick();
    assert.deepEqual(granted.at(-1), 'c1');
    for (const p of [a2, a3, c1]) (await p)();
    assert.equal(slots.queued, 0);
  });

  it('R-ROB-8 a delivery stopped while waiting leaves the queue and gets no slot', async () => {
    const slots = new DeliverySlots(1, 1);
    const holder = await slots.acquire(1, new AbortController().signal);
    const stop = new AbortController();
    const waiting = slots.acquire(2, stop.signal);
    stop.abort();
    assert.equal(await waiting, null);
    assert.equal(slots.queued, 0);
    holder!();
    holder!(); // releasing twice frees one slot only
    const next = await slots.acquire(3, new AbortController().signal);
    const queued = slots.acquire(4, new AbortController().signal);
    await tick();
    assert.equal(slots.queued, 1);
    next!();
    (await queued)!();
  });
});
