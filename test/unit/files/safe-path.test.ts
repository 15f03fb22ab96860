import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import fc from 'fast-check';
import { isAppError } from '../../../server/domain/errors.js';
import { isWithin, realpathWithin, resolveExportPath } from '../../../server/domain/files/safe-path.js';
import { runs } from '../../helpers/thorough.js';

const rejects = (raw: string) => {
  try {
    resolveExportPath(raw);
  } catch (e) {
    expect(isAppError(e) && e.code === 'error.api.invalid_value' && e.parameters.path === 'path', raw).to.equal(true);
    return;
  }
  expect.fail(`accepted ${JSON.stringify(raw)}`);
};

describe('domain/files safe-path (R-FILE-8)', () => {
  it('R-FILE-8 decodes exactly once and keeps ordinary names, incl. Unicode', () => {
    expect(resolveExportPath('')).to.equal('');
    expect(resolveExportPath('/')).to.equal('');
    expect(resolveExportPath('a/b.txt')).to.equal('a/b.txt');
    expect(resolveExportPath('folder/')).to.equal('folder');
    expect(resolveExportPath('a%20b/c%2Bd.txt')).to.equal('a b/c+d.txt');
    expect(resolveExportPath('Gr%C3%BC%C3%9Fe/%F0%9F%98%80.png')).to.equal('Grüße/😀.png');
    expect(resolveExportPath('Grüße/中文.txt')).to.equal('Grüße/中文.txt');
    expect(resolveExportPath('...')).to.equal('...');
    expect(resolveExportPath('a..b/..c')).to.equal('a..b/..c');
    expect(resolveExportPath('%25')).to.equal('%');
    // Double encoding stays literal: a file really named "%2e%2e", never "..".
    expect(resolveExportPath('%252e%252e')).to.equal('%2e%2e');
    expect(resolveExportPath('%252e%252e/%252fetc')).to.equal('%2e%2e/%2fetc');
    // Look-alikes are ordinary characters, not separators or dots.
    expect(resolveExportPath('a\u2215..\uff0e\uff0e')).to.equal('a\u2215..\uff0e\uff0e');
  });

  it('R-FILE-8 rejects traversal, absolute paths, backslashes, NUL/control chars, encoded separators, bad encoding', () => {
    const payloads = [
      '..',
      '../',
      '../etc/passwd',
      'a/../b',
      'a/..',
      './a',
      'a/./b',
      '.',
      '%2e%2e',
      '%2e%2e/',
      '%2E%2E/etc',
      '.%2e/x',
      '%2e./x',
      '%2e',
      'a/%2e%2e/b',
      '..%2f',
      '..%2Fetc',
      'a%2fb',
      'a%2F..%2Fb',
      '%2f',
      '%2fetc%2fpasswd',
      '..%5c',
      'a%5cb',
      '%5C..%5C',
      '/etc/passwd',
      '//etc',
      '%2Fetc',
      '/a',
      '//',
      'C:\\',
      'C:\\Windows',
      'C:/Windows',
      'c:',
      'a\\..\\b',
      '..\\x',
      'a\\b',
      'a/%00',
      '%00',
      'a\u0000b',
      'a/%0a',
      '%0d%0a',
      '%7f',
      '%1b[31m',
      'a\tb',
      '%c2%85',
      '%',
      '%2',
      '%zz',
      'a%2',
      '%%32%65',
      '%c3%28',
      '%ed%a0%80',
      '%ff',
      '%c0%ae%c0%ae',
      'a//b',
      '/a//',
      'a///',
      'x/\ud800',
    ];
    for (const p of payloads) rejects(p);
  });

  it('R-FILE-8 whatever the input, an accepted path has no "..", ".", empty or absolute segment', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('.', '/', '\\', '%', '2', 'e', 'f', 'E', 'F', 'c', '5', 'a', '0') }),
        (raw) => {
          let out: string;
          try {
            out = resolveExportPath(raw);
          } catch {
            return;
          }
          if (out === '') return;
          expect(out.startsWith('/')).to.equal(false);
          for (const seg of out.split('/')) expect(['', '.', '..']).to.not.include(seg);
          expect(out).to.not.include('\\');
          expect(path.posix.normalize(out)).to.equal(out);
        },
      ),
      { numRuns: runs(2000) },
    );
  });

  it('R-FILE-8 isWithin is lexical and prefix-safe', () => {
    expect(isWithin('/data/exp', '/data/exp')).to.equal(true);
    expect(isWithin('/data/exp', '/data/exp/a/b')).to.equal(true);
    expect(isWithin('/data/exp/', '/data/exp/..foo')).to.equal(true);
    expect(isWithin('/data/exp', '/data/exp2/a')).to.equal(false);
    expect(isWithin('/data/exp', '/data')).to.equal(false);
    expect(isWithin('/data/exp', '/data/exp/../x')).to.equal(false);
    expect(isWithin('/data/exp', '/etc/passwd')).to.equal(false);
  });

  it('R-FILE-8 realpathWithin defeats symlinks that point outside the export', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'safe-path-'));
    try {
      const root = path.join(dir, 'export');
      mkdirSync(path.join(root, 'sub'), { recursive: true });
      writeFileSync(path.join(root, 'sub', 'ok.txt'), 'ok');
      writeFileSync(path.join(dir, 'secret.txt'), 'secret');
      symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'leak.txt'));
      symlinkSync(dir, path.join(root, 'up'));
      symlinkSync(path.join(root, 'sub'), path.join(root, 'inside'));
      expect(await realpathWithin(root, 'sub/ok.txt')).to.equal(path.join(root, 'sub', 'ok.txt'));
      expect(await realpathWithin(root, 'inside/ok.txt')).to.equal(path.join(root, 'sub', 'ok.txt'));
      for (const rel of ['leak.txt', 'up/secret.txt']) {
        const err = await realpathWithin(root, rel).then(
          () => null,
          (e: unknown) => e,
        );
        expect(isAppError(err), rel).to.equal(true);
      }
      const missing = await realpathWithin(root, 'nope').catch((e: NodeJS.ErrnoException) => e.code);
      expect(missing).to.equal('ENOENT');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
