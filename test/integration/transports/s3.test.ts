import assert from 'node:assert/strict';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createS3Transport } from '../../../server/domain/transports/s3.js';
import { bigFile, freePort, makeCtx, memoryFile, RUN_FOLDER, rejection, sampleFiles, tempDir } from './helpers.js';
import { remoteTransportSuite, type RemoteHarness } from './remote-suite.js';
import { type S3TestServer, startS3Server } from './servers/s3-server.js';

// s3rver's built-in account.
const KEY_ID = 'S3RVER';
const SECRET = 'S3RVER';
const BUCKET = 'exports';
const PREFIX = 'team/out';

describe('s3 transport (s3rver)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: S3TestServer;
  let reader: S3Client;
  const transport = (allowHosts = ['127.0.0.1']) =>
    createS3Transport({ allowHosts, maxAttempts: 1, connectTimeoutMs: 2000, partSize: 5 * 1024 * 1024 });
  const options = (extra: Record<string, unknown> = {}) => ({
    endpoint: server.endpoint,
    region: 'us-east-1',
    bucket: BUCKET,
    prefix: PREFIX,
    access_key_id: KEY_ID,
    secret_access_key: SECRET,
    force_path_style: true,
    ...extra,
  });
  const list = async () => {
    const out = await reader.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    return (out.Contents ?? []).map((o) => o.Key!);
  };

  before(async () => {
    dir = await tempDir('s3-');
    server = await startS3Server(dir.dir, BUCKET);
    reader = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  after(async () => {
    reader.destroy();
    await server.close();
    await dir.remove();
  });

  const base = `${PREFIX}/${RUN_FOLDER}/`;
  const harness: RemoteHarness = {
    name: 's3',
    transport,
    options: () => options(),
    downOptions: async () => options({ endpoint: `http://127.0.0.1:${await freePort()}` }),
    // s3rver knows only its own account (and does not check signatures of the S3RVER key strictly): use another key.
    badLoginOptions: () => options({ access_key_id: 'AKIAUNKNOWN', secret_access_key: 'wrong-Secret-3' }),
    secrets: ['wrong-Secret-3'],
    delivered: async () => {
      const out = new Map<string, Buffer>();
      for (const key of await list()) {
        if (!key.startsWith(base)) continue;
        const obj = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        out.set(key.slice(base.length), Buffer.from(await obj.Body!.transformToByteArray()));
      }
      return out;
    },
    completedOrder: () => server.events.map((k) => k.replace(/^multipart:/, '').replace(base, '')),
    reset: async () => {
      server.events.length = 0;
      for (const Key of await list()) await reader.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }));
    },
  };
  remoteTransportSuite(() => harness);

  it('R-TR-2 s3 uploads a file over 5 MiB as a multipart upload, manifest.json still last', async function () {
    this.timeout(30_000);
    const t = transport();
    const size = 11 * 1024 * 1024 + 17;
    await t.deliver(t.validate(options(), 'o'), makeCtx({ files: [...sampleFiles(), bigFile('big.bin', size)] }));
    assert.ok(server.events.includes(`multipart:${base}big.bin`), `no multipart upload in ${server.events.join(', ')}`);
    assert.equal(server.events.at(-1), `${base}manifest.json`);
    const head = await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${base}big.bin` }));
    assert.equal(head.ContentLength, size);
    await head.Body!.transformToByteArray();
  });

  it('R-TR-3 s3 removes the objects it uploaded when a later file fails', async () => {
    const t = transport();
    const broken = memoryFile('zzz.csv', 'x');
    broken.open = async () => {
      throw new Error('storage read failed');
    };
    const err = await rejection(() =>
      t.deliver(t.validate(options(), 'o'), makeCtx({ files: [...sampleFiles(), broken] })),
    );
    assert.match(err.message, /^S3 upload to bucket exports failed: storage read failed/);
    assert.deepEqual(await list(), []);
  });

  it('R-TR-2 s3 reports a missing bucket clearly', async () => {
    const t = transport();
    const err = await rejection(() => t.deliver(t.validate(options({ bucket: 'nope-bucket' }), 'o'), makeCtx()));
    assert.match(err.message, /S3 bucket nope-bucket does not exist/);
  });
});
