import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createLogCapture } from '../helpers/log-capture.js';

/**
 * The suite's leak check (test/helpers/log-capture.ts) can fail: a secret planted in a child process's output is
 * reported. Each case uses a capture of its own, so the planted secrets never reach the run's capture and the suite
 * stays green.
 */
describe('the log leak check of the test suite (issue 12)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'em-leak-check-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A real child process printing `script`'s lines, its output fed to a fresh capture. */
  async function childLeaks(script: string, secrets: string[] = []) {
    const capture = createLogCapture(path.join(dir, `${Math.random()}.jsonl`));
    for (const s of secrets) capture.remember(s);
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    capture.child(child, 'planted');
    await once(child, 'close');
    return capture.leaks();
  }

  it('reports a secret a test used when a child process logs it, even split across writes', async () => {
    const secret = 'planted-passkey-7d1c44e0';
    // Two writes with a pause between them arrive as two chunks: the check must still see one line.
    const script = `
      process.stdout.write('{"level":30,"msg":"request","url":"/x/${secret.slice(0, 10)}');
      setTimeout(() => process.stdout.write('${secret.slice(10)}/a.zip"}\\n'), 50);`;
    const { leaks } = await childLeaks(script, [secret]);
    expect(leaks.join('\n')).to.include('a secret used by a test appears in').and.include(secret);
  });

  it('reports a query token, a password field and a bearer credential on stderr', async () => {
    const script = `
      console.error('{"msg":"GET /api/v1/session?token=abcdef"}');
      console.error('{"password":"hunter2-hunter2"}');
      console.error('Authorization: Bearer abcdefgh12345678');`;
    const { leaks } = await childLeaks(script);
    expect(leaks.map((l) => l.split(':')[0])).to.have.members(['query token', 'password field', 'bearer credential']);
  });

  it('is quiet about redacted lines', async () => {
    const script = `
      console.log('{"msg":"GET /api/v1/export/1/download/***/a.zip?token=***","password":"***"}');
      console.log('last line without a newline');`;
    const { lines, leaks } = await childLeaks(script, ['a-secret-never-printed']);
    expect(leaks).to.deep.equal([]);
    expect(lines).to.equal(3); // the capture's own marker and the two lines
  });
});
