import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_SOURCES = path.join(ROOT, 'web');
export const WEB_BUILT = path.join(ROOT, 'dist', 'web', 'index.html');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Tests that look at the served page need the built bundle; a fresh clone (`npm ci && npm test`) has none, and a
 * stale one would test old sources. Builds with the project's own `npm run build:web` when missing or older than web/.
 */
export function ensureWebBundle(): void {
  if (existsSync(WEB_BUILT) && statSync(WEB_BUILT).mtimeMs >= newest(WEB_SOURCES)) return;
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.ts'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 180_000,
    },
  );
}
