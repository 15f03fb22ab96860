import { loadCliConfig } from './cli-config.js';
import { copyStorage } from '../infra/storage/copy.js';
import { localStorageOf, s3StorageOf } from '../infra/storage/index.js';
import type { Storage } from '../infra/storage/storage.js';

const USAGE = `usage:
  npm run storage -- copy --to s3      copy every stored object of DATA_DIR/storage to the S3_* bucket
  npm run storage -- copy --to local   copy every object of the S3_* bucket (below S3_PREFIX) to DATA_DIR/storage
Options: --prefix <key prefix> (only part of the keys), --concurrency <n> (default 8).
Each object is verified by size and SHA-256 read back from the target; an interrupted copy can simply be run again
(objects already copied are verified and skipped). Exit code 1 when any object failed.`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** `npm run storage -- copy --to s3|local` (R-SCALE-1): moving an installation between storage backends. */
async function main() {
  const [command, ...rest] = process.argv.slice(2);
  const to = option(rest, 'to');
  const concurrency = Number(option(rest, 'concurrency') ?? 8);
  if (command !== 'copy' || (to !== 's3' && to !== 'local') || !Number.isInteger(concurrency) || concurrency < 1) {
    console.error(USAGE);
    process.exit(2);
  }
  const config = loadCliConfig();
  let s3: ReturnType<typeof s3StorageOf>;
  try {
    s3 = s3StorageOf(config);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  const local = localStorageOf(config);
  const [from, target]: [Storage, Storage] = to === 's3' ? [local, s3] : [s3, local];
  const where = `s3://${config.S3_BUCKET}/${config.S3_PREFIX ? `${config.S3_PREFIX}/` : ''}`;
  console.log(
    to === 's3' ? `copying ${config.DATA_DIR}/storage → ${where}` : `copying ${where} → ${config.DATA_DIR}/storage`,
  );
  try {
    await target.prepare?.();
    await target.check?.();
    let last = 0;
    const totals = await copyStorage(from, target, {
      prefix: option(rest, 'prefix'),
      concurrency,
      onProgress: (p, o) => {
        if (o.action === 'failed') console.error(`FAILED ${o.key}: ${o.error}`);
        const now = Date.now();
        if (now - last >= 1000) {
          last = now;
          console.log(
            `  ${p.copied} copied (${mb(p.bytes)}), ${p.skipped} already there, ${p.failed} failed, ${p.seen} listed`,
          );
        }
      },
    });
    console.log(
      `done: ${totals.copied} copied (${mb(totals.bytes)}), ${totals.skipped} already there and verified, ${totals.failed} failed, ${totals.seen} objects`,
    );
    if (totals.failed > 0) {
      console.error('some objects failed; run the same command again to retry them');
      process.exitCode = 1;
    }
  } finally {
    await s3.close();
  }
}

main().catch((e) => {
  // SDK errors never carry the secret key; the message names the failing request.
  console.error(`storage copy failed: ${(e as Error).message}`);
  process.exit(1);
});
