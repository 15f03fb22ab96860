import type Router from '@koa/router';
import type { Config } from '../../config.js';
import type { AssetService } from '../../domain/assets/asset-service.js';
import type { ObjectService } from '../../domain/objects/object-service.js';
import type { SessionService } from '../../domain/sessions/sessions.js';
import { assetRoutes } from './asset-routes.js';
import { objectRoutes } from './object-routes.js';
import { type SearchPage, searchRoutes } from './search-routes.js';

/**
 * Bulk object bodies carry up to 1,000 objects (R-DATA-1), more than an export body's 1 MiB allows; this is the
 * limit for `PUT /api/v1/db/<objecttype>` (or BODY_LIMIT when that is configured higher).
 */
const OBJECTS_BODY_LIMIT = 32 * 1024 * 1024;

/** The routers of what exports export (R-DATA): objects, assets and the search preview. */
export function dataRouters(deps: {
  objects: ObjectService;
  assets: AssetService;
  searchPage: SearchPage;
  sessions: SessionService;
  config: Config;
}): Router[] {
  const { sessions, config } = deps;
  return [
    objectRoutes({
      objects: deps.objects,
      sessions,
      // A body must be able to carry one object of OBJECT_MAX_BYTES (and its envelope), whatever the other limits say.
      bodyLimit: Math.max(OBJECTS_BODY_LIMIT, config.BODY_LIMIT, config.OBJECT_MAX_BYTES + 64 * 1024),
      maxObjectBytes: config.OBJECT_MAX_BYTES,
    }),
    assetRoutes({ assets: deps.assets, sessions, uploadLimit: config.UPLOAD_LIMIT }),
    searchRoutes({ searchPage: deps.searchPage, sessions, bodyLimit: config.BODY_LIMIT }),
  ];
}
