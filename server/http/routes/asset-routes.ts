import type { Readable } from 'node:stream';
import Router from '@koa/router';
import busboy from 'busboy';
import type { Context } from 'koa';
import { presentAsset } from '../../domain/assets/asset-repo.js';
import { type AssetService, uploadInterrupted } from '../../domain/assets/asset-service.js';
import { apiError, isAppError, payloadTooLarge } from '../../domain/errors.js';
import { parseObjectId } from '../../domain/objects/object-input.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { currentUser, requireUser } from '../middleware/auth.js';
import { assetPutQuery, query, queryOf } from '../query.js';

/**
 * The first file part of a multipart/form-data request as a stream, with the part's file name. Further parts are
 * drained. busboy's own size limit is not used: the asset service counts bytes for raw and multipart alike.
 */
function firstFilePart(ctx: Context): Promise<{ stream: Readable; filename: string }> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: ctx.req.headers, limits: { files: 1 } });
    } catch (e) {
      reject(apiError('invalid_content', `The multipart body is malformed: ${(e as Error).message}`, { path: '' }));
      return;
    }
    let found = false;
    bb.on('file', (_name, stream, info) => {
      if (found) {
        stream.resume();
        return;
      }
      found = true;
      resolve({ stream, filename: info.filename ?? '' });
    });
    bb.on('error', (e) => {
      if (!found) reject(apiError('invalid_content', `The multipart body is malformed: ${(e as Error).message}`, { path: '' }));
    });
    bb.on('close', () => {
      if (!found) reject(apiError('attribute_expected', 'The multipart body has no file part', { path: 'file' }));
    });
    ctx.req.on('close', () => {
      if (!ctx.req.complete) bb.destroy(uploadInterrupted());
    });
    ctx.req.pipe(bb);
  });
}

/** R-DATA-2: `POST /api/v1/eas/put?filename=<name>` (raw body or multipart) and `GET /api/v1/eas/<id>`. */
export function assetRoutes(deps: { assets: AssetService; sessions: SessionService; uploadLimit: number }) {
  const router = new Router({ prefix: '/api/v1/eas' });
  router.use(requireUser(deps.sessions));

  router.post('/put', query(assetPutQuery), async (ctx) => {
    const limit = deps.uploadLimit;
    const declared = Number(ctx.get('content-length') || 0);
    if (declared > limit) {
      ctx.set('Connection', 'close');
      throw payloadTooLarge(limit);
    }
    const named = queryOf(ctx, assetPutQuery).filename;
    let source: Readable = ctx.req;
    let filename = named;
    if (ctx.is('multipart/form-data')) {
      const part = await firstFilePart(ctx);
      source = part.stream;
      filename = named ?? part.filename;
    } else if (!filename) {
      throw apiError('attribute_expected', 'The query parameter filename is required for a raw upload', { path: 'filename' });
    }
    try {
      ctx.body = presentAsset(await deps.assets.store(currentUser(ctx).id, filename ?? 'file', source, limit));
    } catch (e) {
      // The rest of an oversized body is not read: close the connection instead of draining it.
      if (isAppError(e) && e.status === 413) ctx.set('Connection', 'close');
      throw e;
    }
  });

  router.get('/:id', async (ctx) => {
    ctx.body = presentAsset(await deps.assets.get(currentUser(ctx).id, parseObjectId(ctx.params.id)));
  });
  return router;
}
