import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository documents itself: every relative link of README.md and docs/*.md names a file of this repository,
 * and none of them points outside it (a clone has nothing beside it).
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('documentation links', () => {
  for (const page of pages) {
    it(`${page}: relative links resolve to files inside the repository`, () => {
      const text = readFileSync(join(root, page), 'utf8');
      const broken: string[] = [];
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split('#')[0];
        if (target === '' || /^[a-z]+:/i.test(target)) continue; // an anchor on the same page, or an absolute URL
        const file = resolve(dirname(join(root, page)), decodeURIComponent(target));
        if (relative(root, file).startsWith('..') || !existsSync(file)) broken.push(m[1]);
      }
      assert.deepEqual(broken, []);
      assert.doesNotMatch(text, /\.\.\/shared|\/work\/shared/, 'no reference to a folder outside the repository');
    });
  }
});
