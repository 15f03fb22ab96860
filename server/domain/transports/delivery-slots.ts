/**
 * R-ROB-8: the number of deliveries one process runs at once, in total (DELIVERY_CONCURRENCY) and per export owner
 * (DELIVERY_CONCURRENCY_PER_OWNER). Waiting deliveries are served in arrival order, skipping owners at their own cap,
 * so one user's hundred transports take at most their share while everybody else's still start.
 */
export class DeliverySlots {
  private running = 0;
  private readonly byOwner = new Map<number, number>();
  private readonly waiting: { owner: number; grant: () => void }[] = [];

  constructor(
    private readonly total: number,
    private readonly perOwner: number,
  ) {}

  /** Deliveries waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with a release function once a slot is free; resolves null when `signal` aborts first (the delivery
   * was stopped while it waited).
   */
  acquire(owner: number, signal: AbortSignal): Promise<(() => void) | null> {
    if (signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = {
        owner,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve(this.releaser(owner));
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(null);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.pump();
    });
  }

  private releaser(owner: number): () => void {
    this.running++;
    this.byOwner.set(owner, (this.byOwner.get(owner) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const n = (this.byOwner.get(owner) ?? 1) - 1;
      if (n === 0) this.byOwner.delete(owner);
      else this.byOwner.set(owner, n);
      this.pump();
    };
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length && this.running < this.total; ) {
      const w = this.waiting[i]!;
      if ((this.byOwner.get(w.owner) ?? 0) >= this.perOwner) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      w.grant();
    }
  }
}
