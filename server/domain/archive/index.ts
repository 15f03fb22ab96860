// Public API of the archive module (deterministic ZIP/TAR layouts, ranged streaming, split plans, ETags).
export type { ArchiveEntry, OpenData } from './entry.js';
export { archiveEtag } from './etag.js';
export type { RangeStreamOptions } from './range-stream.js';
export { planZipParts, ZIP_2GB_LIMIT, ZIP_10MB_LIMIT } from './split-plan.js';
export { computeTarLayout, type TarLayout } from './tar-layout.js';
export { streamTarGz, streamTarRange } from './tar-stream.js';
export {
  computeZipLayout,
  type ZipLayout,
} from './zip-layout.js';
export { streamZipRange } from './zip-stream.js';
