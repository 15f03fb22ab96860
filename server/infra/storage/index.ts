import path from 'node:path';
import type { Config } from '../../config.js';
import { LocalStorage } from './local-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage } from './storage.js';

/** The local folder backend: DATA_DIR/storage. */
export const localStorageOf = (config: Config): LocalStorage => new LocalStorage(path.join(config.DATA_DIR, 'storage'));

/** The bucket the S3_* variables name (whatever STORAGE says: `npm run storage -- copy` needs both). */
export function s3StorageOf(config: Config): S3Storage {
  if (!config.S3_BUCKET) throw new Error('S3_BUCKET is not set: name the bucket (and S3_ENDPOINT, credentials) first');
  return new S3Storage({
    endpoint: config.S3_ENDPOINT || undefined,
    region: config.S3_REGION,
    bucket: config.S3_BUCKET,
    prefix: config.S3_PREFIX,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    accessKeyId: config.S3_ACCESS_KEY_ID || undefined,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY || undefined,
  });
}

/** The storage backend the configuration names: a folder under DATA_DIR, or an S3-compatible bucket (R-SCALE-1). */
export function createStorage(config: Config): Storage {
  return config.STORAGE === 's3' ? s3StorageOf(config) : localStorageOf(config);
}
