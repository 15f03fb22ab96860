import net from 'node:net';

/** Small seeded PRNG (mulberry32): the same seed gives the same sequence of faults, so a failure reproduces. */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** Integer in [lo, hi]. */
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}

/** How a client misbehaves. Every request is HTTP/1.1 with `Connection: close` on its own raw socket. */
export interface Fault {
  /** Close once this many response bytes (headers included) have arrived. */
  cutAfterBytes?: number;
  /** Close this long after the request was written (0: right after writing it, before any answer). */
  cutAfterMs?: number;
  /** `destroy`: FIN/close; `reset`: RST; `end`: half-close our side, then close. */
  how?: 'destroy' | 'reset' | 'end';
  /** Read only about `bytesPerTick` every `tickMs` (the server meets backpressure). */
  slow?: { bytesPerTick: number; tickMs: number };
  /** After the first bytes, stop reading without closing for this long, then close. */
  stallMs?: number;
  /** A request body: `send` is written after the head, which declares `declared` bytes (more: an unfinished upload). */
  body?: { send: Buffer; declared: number };
}

export interface FaultResult {
  /** Status of the response, when its status line arrived. */
  status?: number;
  headers: Record<string, string>;
  /** Body bytes, only for responses read to the end (`complete`). */
  body?: Buffer;
  received: number;
  /** The whole response arrived (the server closed after Content-Length bytes, or the body ended). */
  complete: boolean;
  cut: boolean;
  /** Still open after `hangMs`: what the socket looked like then (the request is closed by the helper). */
  hung?: string;
}

const parseHead = (head: string) => {
  const [statusLine, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(statusLine.split(' ')[1]), headers };
};

/**
 * One request over a raw socket that misbehaves as `fault` says. Resolves when the socket is closed either way;
 * never rejects (a server that resets the connection is a normal outcome of a cut). Bodies are kept only when
 * `keepBody` (for byte-exact checks of complete responses).
 */
export function faultyRequest(
  base: string,
  method: 'GET' | 'HEAD' | 'POST',
  path: string,
  headers: Record<string, string>,
  fault: Fault,
  keepBody = false,
  hangMs = 30_000,
): Promise<FaultResult> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let received = 0;
    let cut = false;
    let head: { status: number; headers: Record<string, string> } | undefined;
    let headBuf = Buffer.alloc(0);
    let bodyBytes = 0;
    const timers: NodeJS.Timeout[] = [];
    const later = (ms: number, f: () => void) => timers.push(setTimeout(f, ms));
    let hung: string | undefined;
    later(hangMs, () => {
      hung = `connecting ${socket.connecting}, paused ${socket.isPaused()}, received ${received}, status ${head?.status}, cut ${cut}, readableLength ${socket.readableLength}`;
      socket.destroy();
      finish();
    });

    const close = () => {
      if (socket.destroyed) return;
      cut = true;
      // 'close' is not emitted when a reset fails (uv_tcp_close_reset refuses a socket the peer already shut down);
      // our side is closed either way, so the request is done.
      later(2000, finish);
      if (fault.how === 'reset') socket.resetAndDestroy();
      else if (fault.how === 'end') {
        socket.end();
        later(200, () => socket.destroy());
      } else socket.destroy();
    };

    socket.on('connect', () => {
      const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      if (fault.body) lines.push(`Content-Length: ${fault.body.declared}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (fault.body) socket.write(fault.body.send);
      if (fault.cutAfterMs !== undefined) {
        if (fault.cutAfterMs === 0) close();
        else later(fault.cutAfterMs, close);
      }
      if (fault.slow) {
        const { bytesPerTick, tickMs } = fault.slow;
        socket.pause();
        const tick = setInterval(() => {
          if (socket.destroyed) return clearInterval(tick);
          // read(n) in paused mode takes at most n bytes off the socket; the kernel buffer fills and the server waits.
          let got = 0;
          for (let c = socket.read() as Buffer | null; c; c = got < bytesPerTick ? (socket.read() as Buffer | null) : null) {
            got += c.length;
            onData(c);
          }
        }, tickMs);
        timers.push(tick);
      }
    });

    const onData = (c: Buffer) => {
      if (socket.destroyed) return;
      received += c.length;
      if (!head) {
        headBuf = Buffer.concat([headBuf, c]);
        const end = headBuf.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = parseHead(headBuf.subarray(0, end).toString('latin1'));
        c = headBuf.subarray(end + 4);
      }
      bodyBytes += c.length;
      if (keepBody) chunks.push(c);
      if (fault.cutAfterBytes !== undefined && received >= fault.cutAfterBytes) close();
      else if (fault.stallMs !== undefined && !socket.isPaused()) {
        socket.pause();
        later(fault.stallMs, close);
      }
    };
    if (!fault.slow) socket.on('data', onData);
    socket.on('error', () => {});
    let finished = false;
    function finish() {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      const length = head?.headers['content-length'];
      const complete =
        !cut && head !== undefined && (method === 'HEAD' || length === undefined ? true : bodyBytes === Number(length));
      resolve({
        status: head?.status,
        headers: head?.headers ?? {},
        body: keepBody && complete ? Buffer.concat(chunks) : undefined,
        received,
        complete,
        cut,
        hung,
      });
    }
    socket.on('close', finish);
  });
}

/** Runs `tasks` with at most `limit` at a time. */
export async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}
