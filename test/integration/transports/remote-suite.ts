import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Transport } from '../../../server/domain/transports/transport.js';
import { expectNoSecrets, makeCtx, memoryFile, rejection, sampleFiles } from './helpers.js';

/**
 * One shared suite for every remote transport (STYLE practice 5), each run against its real server. A harness
 * adapts a transport and its server: options, how to read what arrived, the order in which files were completed.
 */
export interface RemoteHarness {
  name: string;
  transport(allowHosts?: string[]): Transport<any>;
  options(): Record<string, unknown>;
  downOptions(): Promise<Record<string, unknown>>;
  badLoginOptions(): Record<string, unknown>;
  secrets: string[];
  /** What arrived under the run folder: relative path → bytes (temporary names included, so leftovers show). */
  delivered(): Promise<Map<string, Buffer>>;
  /** Final file paths, relative to the run folder, in the order the server completed them. */
  completedOrder(): string[];
  reset(): Promise<void>;
}

/** Reads a local folder tree (a server's root) into relative path → bytes. */
export async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else out.set(path.relative(dir, full).split(path.sep).join('/'), await readFile(full));
    }
  };
  await walk(dir);
  return out;
}

export function remoteTransportSuite(harness: () => RemoteHarness): void {
  const h = () => harness();
  beforeEach(async () => h().reset());

  it('R-TR-3 writes every file under <path>/<export name>/<run timestamp>/, manifest.json last', async () => {
    const t = h().transport();
    const ctx = makeCtx();
    await t.deliver(t.validate(h().options(), 'options'), ctx);
    const got = await h().delivered();
    const expected = new Map<string, Buffer>();
    for (const f of sampleFiles()) {
      const chunks: Buffer[] = [];
      for await (const c of await f.open()) chunks.push(c as Buffer);
      expected.set(f.path, Buffer.concat(chunks));
    }
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), `${h().name} delivered other files`);
    for (const [p, bytes] of expected) assert.ok(got.get(p)!.equals(bytes), `${p} differs`);
    const order = h().completedOrder();
    assert.equal(order.at(-1), 'manifest.json', `manifest.json must be completed last, got ${order.join(', ')}`);
    assert.equal(order.length, 3);
  });

  it('R-TR-6 fails with a clear reason when the server is down', async () => {
    const t = h().transport();
    const down = await h().downOptions();
    const err = await rejection(() => t.deliver(t.validate(down, 'options'), makeCtx()));
    assert.match(err.message, /refused/i);
    expectNoSecrets(err, h().secrets);
  });

  it('R-TR-6 fails with a clear reason when the login is refused, without leaking the secret', async () => {
    const t = h().transport();
    const err = await rejection(() => t.deliver(t.validate(h().badLoginOptions(), 'options'), makeCtx()));
    assert.match(err.message, /authentication rejected|rejected the credentials/i);
    expectNoSecrets(err, h().secrets);
    assert.equal((await h().delivered()).size, 0);
  });

  it('R-TR-5 refuses to connect to 127.0.0.1 when it is not in TRANSPORT_ALLOW_HOSTS', async () => {
    const t = h().transport([]);
    const err = await rejection(() => t.deliver(t.validate(h().options(), 'options'), makeCtx()));
    assert.match(err.message, /not allowed.*loopback.*TRANSPORT_ALLOW_HOSTS/);
    assert.equal(h().completedOrder().length, 0);
  });

  it('R-TR-3 stops when ctx.signal aborts and reports a cancellation', async () => {
    const t = h().transport();
    const controller = new AbortController();
    const slow = memoryFile('a-first.csv', 'x');
    // Abort while the first file is being opened: the upload must not go on with the rest.
    slow.open = async () => {
      controller.abort();
      return Readable.from([Buffer.from('x')]);
    };
    const ctx = makeCtx({ signal: controller.signal, files: [slow, ...sampleFiles()] });
    const err = await rejection(() => t.deliver(t.validate(h().options(), 'options'), ctx));
    assert.match(err.message, /cancelled/);
    assert.ok(!h().completedOrder().includes('manifest.json'));
  });
}
