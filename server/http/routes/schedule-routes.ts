import Router from '@koa/router';
import { type PreviewSettings, previewSchedule } from '../../domain/schedules/preview.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { requireUser } from '../middleware/auth.js';
import { readBody } from '../middleware/body.js';

/** `POST …/schedule/preview`: the next fire times of a schedule being edited, by the scheduler's own rules. */
export function scheduleRoutes(deps: {
  sessions: SessionService;
  bodyLimit: number;
  settings: PreviewSettings;
  prefix: string;
}): Router {
  const router = new Router({ prefix: deps.prefix });
  router.post('/preview', requireUser(deps.sessions), async (ctx) => {
    ctx.body = previewSchedule(await readBody(ctx, deps.bodyLimit), deps.settings);
  });
  return router;
}
