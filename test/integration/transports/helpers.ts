import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import type { DeliveryContext, DeliveryFile } from '../../../server/domain/transports/transport.js';

/** Test fixtures shared by every transport test: a small run, temp folders, free ports. */
export const RUN_STARTED_AT = new Date('2026-11-22T10:00:00.123Z');
export const RUN_FOLDER = 'Sales report_ Q4/2026-11-22T10-00-00Z';
/** The owner of the test exports: directory deliveries go below `<root>/<owner id>/`. */
export const OWNER_ID = 3;

export const memoryFile = (p: string, content: Buffer | string): DeliveryFile => {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return {
    path: p,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    open: async () => Readable.from([bytes]),
  };
};

/** A deterministic file of `size` bytes, streamed in 64 KiB chunks without holding it in memory. */
export const bigFile = (p: string, size: number): DeliveryFile => ({
  path: p,
  size,
  sha256: '',
  open: async () => {
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    return new Readable({
      read() {
        if (sent >= size) return this.push(null);
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        this.push(chunk.subarray(0, n));
      },
    });
  },
});

export const sampleFiles = (): DeliveryFile[] => [
  memoryFile('manifest.json', '{"files":3}'),
  memoryFile('objects.csv', 'id,name\n1,one\n'),
  memoryFile('assets/1/photo.jpg', Buffer.alloc(70_000, 7)),
];

export interface TestContext extends DeliveryContext {
  logs: { message: string; info?: Record<string, unknown> }[];
}

export function makeCtx(overrides: Partial<DeliveryContext> = {}): TestContext {
  const logs: TestContext['logs'] = [];
  return {
    exportId: 7,
    exportName: 'Sales report: Q4',
    runId: 42,
    runStartedAt: RUN_STARTED_AT,
    state: 'done',
    failureReason: null,
    files: sampleFiles(),
    links: [{ url: 'https://export.example/api/v1/export/7/zip?passkey=abc', size: 1234 }],
    customData: [{ key: 'project', value: 'alpha' }],
    ownerId: OWNER_ID,
    signal: new AbortController().signal,
    log: (message, info) => logs.push({ message, info }),
    logs,
    ...overrides,
  };
}

export async function tempDir(prefix = 'transport-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A port nothing listens on (bound, then released): "server is down". */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs `fn`, expects it to reject, returns the error. */
export async function rejection(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** R-TR-4: a failure message must never carry a secret. */
export function expectNoSecrets(err: Error, secrets: string[]): void {
  for (const s of secrets) assert.ok(!err.message.includes(s), `secret leaked into the message: ${err.message}`);
}
