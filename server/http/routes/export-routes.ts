import Router from '@koa/router';
import type { Context } from 'koa';
import { invalidValue } from '../../domain/errors.js';
import { presentExport, presentList, type TransportsView } from '../../domain/exports/export-presenter.js';
import { parseExportBody } from '../../domain/exports/export-schema.js';
import type { ViewParts } from '../../domain/exports/export-repo.js';
import type { ExportService } from '../../domain/exports/export-service.js';
import { parseViewParts } from '../../domain/exports/view-query.js';
import { currentUser } from '../middleware/auth.js';
import { readBody } from '../middleware/body.js';

/** `<export-id>` must be a positive integer; anything else is malformed input, not a missing export. */
export function exportIdOf(ctx: Context): number {
  const raw = ctx.params.id;
  if (!/^[1-9]\d{0,15}$/.test(raw ?? '')) throw invalidValue('export-id', 'The export id must be a positive integer');
  return Number(raw);
}

/** R-EXP-1..12: CRUD and actions. Handlers only parse, call the service for the current user, and present. */
export function exportRoutes(deps: { exports: ExportService; bodyLimit: number; transportsView: TransportsView }) {
  const { exports: service, bodyLimit } = deps;
  const router = new Router();
  /**
   * The export as GET shows it. With transports, the export (its `_log`) and the delivery states are read from one
   * snapshot: otherwise a client polling for "delivered" could see a finished delivery without its log entry.
   */
  const present = async (ownerId: number, id: number, parts?: ViewParts) => {
    const view = await service.view(ownerId, id, undefined, parts);
    if (view.row.transports.length === 0) return presentExport(view, deps.transportsView);
    return service.inSnapshot(async (trx) =>
      presentExport(await service.view(ownerId, id, trx, parts), (row) => deps.transportsView(row, trx)),
    );
  };
  // Mutations return the export as GET shows it, read after their transaction committed.
  const full = async (ctx: Context, row: { id: number; owner_id: number }) => {
    ctx.body = await present(row.owner_id, row.id);
  };

  router.get('/', async (ctx) => {
    const r = await service.list(currentUser(ctx).id, ctx.query);
    ctx.body = { limit: r.limit, offset: r.offset, count: r.count, objects: presentList(r.rows) };
  });

  router.put('/', async (ctx) => {
    const body = parseExportBody(await readBody(ctx, bodyLimit));
    await full(ctx, await service.create(currentUser(ctx).id, body));
  });

  router.get('/:id', async (ctx) => {
    const parts = parseViewParts(ctx.query);
    ctx.body = await present(currentUser(ctx).id, exportIdOf(ctx), parts);
  });

  router.post('/:id', async (ctx) => {
    const id = exportIdOf(ctx);
    const body = parseExportBody(await readBody(ctx, bodyLimit));
    const start = ctx.query.start === '1' || ctx.query.start === 'true';
    await full(ctx, await service.update(currentUser(ctx).id, id, body, start));
  });

  router.delete('/:id', async (ctx) => {
    const id = exportIdOf(ctx);
    await service.remove(currentUser(ctx).id, id);
    ctx.body = { _id: id, deleted: true };
  });

  const action = (name: string, fn: (owner: number, id: number) => ReturnType<ExportService['get']>) =>
    router.post(`/:id/${name}`, async (ctx) => full(ctx, await fn(currentUser(ctx).id, exportIdOf(ctx))));
  action('start', (o, id) => service.start(o, id));
  action('stop', (o, id) => service.stop(o, id));
  action('reset_status', (o, id) => service.resetStatus(o, id));
  action('passkey', (o, id) => service.rotatePasskey(o, id));

  return router;
}
