import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { S3Storage } from '../../../server/infra/storage/s3-storage.js';
import { type S3TestServer, startS3Server } from '../transports/servers/s3-server.js';
import { filesBelow, storageSuite } from './storage-suite.js';

describe('S3 storage backend (s3rver on loopback)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'em-s3-suite-'));
  let server: S3TestServer;
  let storage: S3Storage;
  after(async () => {
    await storage?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });
  storageSuite('S3 (s3rver)', async () => {
    server = await startS3Server(dir, 'suite');
    storage = new S3Storage({
      endpoint: server.endpoint,
      region: 'us-east-1',
      bucket: 'suite',
      prefix: 'install-a',
      forcePathStyle: true,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      // Small chunks so ranges cross several GETs; few sockets so a leaked one would stall the suite.
      readChunk: 64 * 1024,
      readParallel: 3,
      maxSockets: 8,
    });
    return {
      storage,
      // s3rver keeps objects and pending multipart parts as files in its folder.
      raw: () => filesBelow(dir),
      openResources: async () => storage.socketsInUse(),
      readChunk: 64 * 1024,
    };
  });
});
