/**
 * Module rules, checked by `npm run lint` (dependency-cruiser). Type-only imports count: a type that names a
 * higher module ties the layers just as a call does. A folder and its own parent are not a cycle (runs/ may use
 * server/domain/errors.ts); the rule domain-kernel-is-a-leaf keeps those parent files below every folder.
 *
 *   npx depcruise server                                   the rules
 *   npx depcruise --output-type text server/domain          the module graph
 *   npx depcruise --output-type text --collapse '^server/domain/[^/]+/' server/domain   the folder graph
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No module reaches itself through its imports.',
      severity: 'error',
      from: { path: '^server/' },
      to: { circular: true },
    },
    {
      name: 'no-circular-domain-folders',
      comment:
        'The folders of server/domain (exports, runs, files, transports, schedules, ...) form layers: no folder reaches ' +
        'itself through another. A lower folder that needs a higher one gets it injected by server/compose.ts.',
      severity: 'error',
      scope: 'folder',
      from: { path: '^server/(domain|infra)/' },
      to: { circular: true },
    },
    {
      name: 'domain-not-to-http',
      comment: 'The domain knows nothing of HTTP: routes call it, never the other way round.',
      severity: 'error',
      from: { path: '^server/domain/' },
      to: { path: '^server/http/' },
    },
    {
      name: 'infra-not-to-domain',
      comment: 'Infrastructure (database, storage, logging, metrics) is below the domain.',
      severity: 'error',
      from: { path: '^server/infra/' },
      to: { path: '^server/(domain|http)/' },
    },
    {
      name: 'domain-kernel-is-a-leaf',
      comment:
        'The files directly in server/domain (errors, text, rows, event-log, storage-keys, ...) are shared by every ' +
        'folder of the domain, so they import none of them. rows.ts is the one exception: the stored definition of an ' +
        'export is typed by exports/export-schema.ts, and rows.ts imports only that type.',
      severity: 'error',
      from: { path: '^server/domain/[^/]+$', pathNot: '^server/domain/rows\\.ts$' },
      to: { path: '^server/domain/[^/]+/' },
    },
  ],
  options: {
    // TypeScript 7 has no compiler API for dependency-cruiser to parse with; swc parses the sources instead.
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    // Only the server's own modules: seeds/ (which main.ts runs) is demo data, not a layer of the server.
    includeOnly: '^server/',
  },
};
