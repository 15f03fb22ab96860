import { link, lstat, mkdir, open, realpath, rename, rm, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { invalidValue } from '../errors.js';
import { cancelled, permanentError, toTransportError, TransportError } from './failure.js';
import { deliveryOrder, foldersOf, partPath, runFolder } from './layout.js';
import type { DeliveryContext, Transport } from './transport.js';
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

/** The root containing `p` (roots never nest: see createDirectoryTransport). */
const rootOf = (roots: readonly string[], p: string): string | undefined => roots.find((root) => within(p, root));

/** Hard links are unsupported on some mounts (SMB, some FUSE); there the run folder's exclusivity has to do. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** What one attempt created, so a failure removes exactly that and nothing another delivery wrote. */
class Created {
  readonly files: string[] = [];
  readonly dirs: string[] = [];

  /** mkdir of one folder; false when it existed already (then it is not ours). */
  async dir(p: string): Promise<boolean> {
    try {
      await mkdir(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    this.dirs.push(p);
    return true;
  }

  /**
   * Every missing folder from `from` (exclusive) down to `to`, each checked to resolve inside `inside` before
   * anything is created in it, so a symlink on the way cannot lead a mkdir elsewhere.
   */
  async dirsBetween(from: string, to: string, inside: string, onOutside: () => Error): Promise<void> {
    let current = from;
    for (const segment of path.relative(from, to).split(path.sep).filter(Boolean)) {
      current = path.join(current, segment);
      await this.dir(current);
      if (!within(await realpath(current), inside)) throw onOutside();
    }
  }

  async undo(): Promise<void> {
    for (const f of [...this.files].reverse()) await rm(f, { force: true }).catch(() => {});
    // rmdir, not rm -r: a folder that is not empty holds something this attempt did not write.
    for (const d of [...this.dirs].reverse()) await rmdir(d).catch(() => {});
  }
}

/** `final` made to name the completed `temp`, never replacing an existing file (EEXIST instead). */
async function publish(temp: string, final: string): Promise<void> {
  try {
    await link(temp, final);
  } catch (err) {
    if (!NO_LINKS.has(String((err as NodeJS.ErrnoException).code))) throw err;
    // Without links: the run folder was created exclusively by this attempt, so nobody else writes there.
    if (await lstat(final).then(() => true, () => false)) throw Object.assign(new Error(`${final} exists`), { code: 'EEXIST' });
    await rename(temp, final);
    return;
  }
  await unlink(temp);
}

/**
 * `directory`: writes into a local folder below one of the admin's TRANSPORT_DIRECTORY_ROOTS, confined to a folder of
 * the export's owner (R-ROB-6): `options.path` = `<root>/<rest>` is delivered to `<root>/<owner id>/<rest>/<export
 * name>/<run timestamp>/`, so two users with the same export name and path never share a folder.
 *
 * Nothing that exists is ever replaced: the run folder is created exclusively (if it exists — another export of the
 * same owner and name started in the same second — `<run timestamp>.<run id>` is used), files are written with
 * exclusive create and published by hard link, and a failed attempt removes only the files and folders it created.
 *
 * Validation checks the path lexically; delivery checks it again after resolving symlinks (realpath), so a symlink
 * inside a root cannot point the delivery elsewhere. A symlink swapped in between the check and the writes (a race
 * needing write access to the root) is not defended against.
 */
export function createDirectoryTransport(roots: readonly string[]): Transport<DirectoryOptions> {
  const normalisedRoots = roots.filter((r) => path.isAbsolute(r)).map((r) => path.resolve(r));
  // Each owner writes below `<root>/<owner id>/`: with nested roots, owner 9's `<outer>/7/x` would be owner 7's
  // `<inner>/x`. The configuration refuses them (TRANSPORT_DIRECTORY_ROOTS); this guards other callers.
  for (const inner of normalisedRoots) {
    if (normalisedRoots.some((outer) => outer !== inner && within(inner, outer)))
      throw new Error(`directory transport roots must not nest: ${inner}`);
  }

  const checkLexical = (p: string, at: string) => {
    if (!rootOf(normalisedRoots, path.resolve(p))) {
      throw invalidValue(at, `Attribute ${at} must be below one of the allowed directories`, {
        allowed: normalisedRoots,
      });
    }
  };

  // Permanent: the roots or the symlinks changed since the path was saved; a retry would meet the same folders.
  const outside = (p: string) => permanentError(`The directory ${p} resolves outside the allowed directories`);

  /** The run folder, created exclusively by this attempt. */
  async function runFolderOf(base: string, ctx: DeliveryContext, created: Created): Promise<string> {
    const first = path.join(base, runFolder('', ctx));
    await created.dirsBetween(base, path.dirname(first), base, () => outside(base));
    for (const candidate of [first, `${first}.${ctx.runId}`]) {
      if (await created.dir(candidate)) return candidate;
    }
    throw new TransportError(`The run folder ${first} exists already and was not created by this delivery`);
  }

  return {
    type: 'directory',
    optionsSchema: schema,
    secretOptions: [],
    validate(options, at) {
      const parsed = parseWith(schema, options, at);
      checkLexical(parsed.path, `${at}.path`);
      return { path: path.resolve(parsed.path) };
    },
    hosts: () => [],
    async deliver(options, ctx) {
      const { signal } = ctx;
      const created = new Created();
      try {
        if (ctx.ownerId === undefined) throw new TransportError('The directory delivery has no owner folder');
        const requested = path.resolve(options.path);
        const root = rootOf(normalisedRoots, requested);
        if (!root) throw outside(options.path);
        const realRoot = await realpath(root).catch(() => {
          throw new TransportError(`The directory ${root} does not exist`);
        });
        const ownerDir = path.join(realRoot, String(ctx.ownerId));
        const base = path.join(ownerDir, path.relative(root, requested));
        // Symlinks below the root can only come from someone with shell access, but deliveries stay inside anyway.
        await created.dirsBetween(realRoot, ownerDir, realRoot, () => outside(options.path));
        await created.dirsBetween(ownerDir, base, ownerDir, () => outside(options.path));
        if (!within(await realpath(base), ownerDir)) throw outside(options.path);
        const target = await runFolderOf(base, ctx, created);
        if (!within(await realpath(target), ownerDir)) throw outside(options.path);
        const files = deliveryOrder(ctx.files);
        for (const dir of foldersOf(files)) await created.dir(path.join(target, dir));
        for (const file of files) {
          if (signal.aborted) throw cancelled('Directory');
          const temp = path.join(target, partPath(file.path));
          const final = path.join(target, file.path);
          // 'wx': a new file, never one that exists, never through a symlink; only then is it ours to remove.
          const handle = await open(temp, 'wx', 0o644);
          created.files.push(temp);
          // Opened right before pipeline takes it: a failure in between would leave its file handles open.
          const source = await file.open(signal).catch(async (err) => {
            await handle.close().catch(() => {});
            throw err;
          });
          await pipeline(source, handle.createWriteStream(), { signal });
          await publish(temp, final);
          created.files.push(final);
        }
        ctx.log('directory delivery finished', { path: target, files: files.length });
      } catch (err) {
        await created.undo();
        throw toTransportError(err, `Writing to the directory ${options.path} failed`, signal, 'Directory', []);
      }
    },
  };
}
