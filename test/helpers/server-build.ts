import { execFileSync } from 'node:child_process';

let built = false;

/**
 * Compiles the server into dist/ for the tests that start it as a real process (`node dist/server/main.js`), once per
 * test run: they all run in one mocha process, and each compiling it again cost the suite over a minute. The page's
 * bundle is not needed by them (tests of the page build it themselves, test/helpers/web-bundle.ts).
 */
export function buildServerOnce(): void {
  if (built) return;
  execFileSync('npm', ['run', 'build:server', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  built = true;
}
