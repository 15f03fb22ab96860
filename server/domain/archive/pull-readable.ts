import { Readable } from 'node:stream';

export const abortError = (reason?: unknown) =>
  Object.assign(new Error('The archive stream was aborted', { cause: reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });

/** Readable over an async generator that pulls only on demand (backpressure) and aborts its sources on destroy. */
export class PullReadable extends Readable {
  readonly #it: AsyncGenerator<Buffer>;
  readonly #controller: AbortController;
  #pulling = false;

  constructor(it: AsyncGenerator<Buffer>, controller: AbortController, highWaterMark: number) {
    super({ highWaterMark });
    this.#it = it;
    this.#controller = controller;
  }

  override _read(): void {
    if (!this.#pulling) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pulling = true;
    try {
      for (;;) {
        const r = await this.#it.next();
        if (this.destroyed) return;
        if (r.done) {
          this.push(null);
          return;
        }
        if (!this.push(r.value)) return;
      }
    } catch (e) {
      this.destroy(e as Error);
    } finally {
      this.#pulling = false;
    }
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(err ?? abortError());
    // Not awaited: a source that ignores its signal must not keep the destroy pending.
    this.#it.return(undefined).catch(() => {});
    cb(err);
  }
}
