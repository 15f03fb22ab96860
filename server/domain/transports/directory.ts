import { createWriteStream } from 'node:fs';
import { mkdir, realpath, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { invalidValue } from '../errors.js';
import { cancelled, toTransportError, TransportError } from './failure.js';
import { deliveryOrder, foldersOf, partPath, runFolder } from './layout.js';
import type { Transport } from './transport.js';
import { parseWith } from './validation.js';

export interface DirectoryOptions {
  path: string;
}

const schema = z.strictObject({
  path: z
    .string()
    .min(1)
    .max(4096)
    .refine((p) => path.isAbsolute(p) && !p.includes('\u0000'), 'must be an absolute path'),
});

const within = (child: string, root: string): boolean => {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** The deepest existing ancestor of `p`, resolved through symlinks. */
async function realAncestor(p: string): Promise<string> {
  let current = p;
  for (;;) {
    try {
      return path.join(await realpath(current), path.relative(current, p));
    } catch (err) {
      const parent = path.dirname(current);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw err;
      current = parent;
    }
  }
}

/**
 * `directory`: writes into a local folder below one of the admin's TRANSPORT_DIRECTORY_ROOTS.
 * Validation checks the path lexically; delivery checks it again after resolving symlinks (realpath), so a symlink
 * inside a root cannot point the delivery elsewhere. A symlink swapped in between the check and the writes (a race
 * needing write access to the root) is not defended against.
 */
export function createDirectoryTransport(roots: readonly string[]): Transport<DirectoryOptions> {
  const normalisedRoots = roots.filter((r) => path.isAbsolute(r)).map((r) => path.resolve(r));

  const checkLexical = (p: string, at: string) => {
    if (!normalisedRoots.some((root) => within(path.resolve(p), root))) {
      throw invalidValue(at, `Attribute ${at} must be below one of the allowed directories`, {
        allowed: normalisedRoots,
      });
    }
  };

  return {
    type: 'directory',
    secretOptions: [],
    validate(options, at) {
      const parsed = parseWith(schema, options, at);
      checkLexical(parsed.path, `${at}.path`);
      return { path: path.resolve(parsed.path) };
    },
    hosts: () => [],
    async deliver(options, ctx) {
      const { signal } = ctx;
      let runDir: string | null = null;
      try {
        checkLexical(options.path, 'path');
        const realRoots = await Promise.all(normalisedRoots.map((r) => realpath(r).catch(() => null)));
        const base = await realAncestor(options.path);
        if (!realRoots.some((root) => root !== null && within(base, root))) {
          throw new TransportError(`The directory ${options.path} resolves outside the allowed directories`);
        }
        const target = path.join(base, runFolder('', ctx));
        // The run folder may exist from an earlier attempt of the same run (the lead retries); it is ours either way.
        await mkdir(target, { recursive: true });
        runDir = target;
        const resolved = await realpath(target);
        if (!realRoots.some((root) => root !== null && within(resolved, root))) {
          throw new TransportError(`The directory ${options.path} resolves outside the allowed directories`);
        }
        const files = deliveryOrder(ctx.files);
        for (const dir of foldersOf(files)) await mkdir(path.join(target, dir), { recursive: true });
        for (const file of files) {
          if (signal.aborted) throw cancelled('Directory');
          const temp = path.join(target, partPath(file.path));
          // A leftover from a crashed attempt is removed (rm unlinks a symlink, never its target), then 'wx'
          // guarantees we write a new file rather than through a pre-existing file or symlink.
          await rm(temp, { force: true });
          // Opened right before pipeline takes it: a failure in between would leave its file handles open.
          const source = await file.open(signal);
          await pipeline(source, createWriteStream(temp, { flags: 'wx', mode: 0o644 }), { signal });
          await rename(temp, path.join(target, file.path));
        }
        ctx.log('directory delivery finished', { path: target, files: files.length });
      } catch (err) {
        if (runDir) await rm(runDir, { recursive: true, force: true }).catch(() => {});
        throw toTransportError(err, `Writing to the directory ${options.path} failed`, signal, 'Directory', []);
      }
    },
  };
}
