import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Where the embedded PostgreSQL of one DATA_DIR keeps its binaries and its data, and how to reach it.
 *
 * - Not root: PostgreSQL runs as us, from the binaries in node_modules, with its data in DATA_DIR/pg.
 * - Root: PostgreSQL refuses to run as root and runs as the `postgres` system user, which cannot be assumed to reach
 *   the checkout or DATA_DIR (a clone under /root or in a `mktemp -d` folder is 0700). Rather than opening those
 *   folders up, the binaries are hard-linked (copied across file systems) into SYSTEM_DIR/bin/<package@version>, and
 *   the cluster lives in SYSTEM_DIR/clusters/<hash of DATA_DIR's real path>/pgdata, owned by `postgres`. DATA_DIR
 *   keeps a marker naming that folder, so a moved DATA_DIR keeps its database.
 *
 * The marker also holds the cluster's password (random per cluster, 0600 in DATA_DIR): a process of another
 * DATA_DIR cannot even log in to this cluster, let alone mistake it for its own.
 */
export interface ClusterLayout {
  /** PostgreSQL's data directory (real path: what `SHOW data_directory` answers). */
  pgdata: string;
  /** Folder with bin/initdb and bin/postgres (and lib/, share/ beside them). */
  binDir: string;
  /** The user PostgreSQL runs as when we are root. */
  runAs: { uid: number; gid: number } | null;
  user: string;
  password: string;
  /** The folder outside DATA_DIR that holds this cluster (root only); throwaway clusters (tests) remove it. */
  external: string | null;
}

const SYSTEM_DIR = '/var/lib/export-manager';
export const MARKER = 'embedded-postgres.json';
const USER = 'export_manager';
// Clusters created before the marker existed were initialised with this password.
const LEGACY_PASSWORD = 'export_manager';
const OWNER_FILE = 'data-dir';

interface Marker {
  pgdata?: string;
  password: string;
}

const exec = promisify(execFile);

class LayoutError extends Error {}

export async function resolveLayout(dataDir: string, opts: { systemDir?: string } = {}): Promise<ClusterLayout> {
  const systemDir = opts.systemDir ?? SYSTEM_DIR;
  // Everything in DATA_DIR is the service's own; only PostgreSQL's folder may need to be reachable by `postgres`.
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const realDataDir = await realpath(dataDir);
  const markerFile = path.join(realDataDir, MARKER);
  const marker = await readMarker(markerFile);
  const packageBin = await packagedBinaries();
  const root = process.getuid?.() === 0;
  const inPlace = path.join(realDataDir, 'pg');

  if (!root) {
    if (marker?.pgdata && marker.pgdata !== inPlace) {
      throw new LayoutError(
        `DATA_DIR ${realDataDir} keeps its embedded PostgreSQL in ${marker.pgdata}, which was created as root; start as root, or set DATABASE_URL.`,
      );
    }
    const password =
      marker?.password ?? (existsSync(path.join(inPlace, 'PG_VERSION')) ? LEGACY_PASSWORD : newPassword());
    if (!marker) await writeMarker(markerFile, { password });
    return { pgdata: inPlace, binDir: packageBin.dir, runAs: null, user: USER, password, external: null };
  }

  const runAs = await postgresUser();
  const binDir = await installBinaries(packageBin, path.join(systemDir, 'bin'));
  // A cluster from before this layout (DATA_DIR/pg, made reachable by opening DATA_DIR up) stays where it is.
  if (!marker?.pgdata && existsSync(path.join(inPlace, 'PG_VERSION'))) {
    const password = marker?.password ?? LEGACY_PASSWORD;
    if (!marker) await writeMarker(markerFile, { password });
    return { pgdata: inPlace, binDir, runAs, user: USER, password, external: null };
  }
  let external: string;
  let password: string;
  const clusters = path.join(systemDir, 'clusters');
  if (marker?.pgdata) {
    // The marker only ever names a folder of ours: a marker edited to name another folder must not get it
    // chowned to `postgres` (or emptied by an initdb retry).
    external = path.dirname(marker.pgdata);
    if (
      path.basename(marker.pgdata) !== 'pgdata' ||
      path.dirname(external) !== clusters ||
      !/^[0-9a-f]{20}$/.test(path.basename(external))
    ) {
      throw new LayoutError(
        `${markerFile} names ${marker.pgdata}, which is not a cluster folder under ${clusters}; restore or delete the marker.`,
      );
    }
    password = marker.password;
    await claimCluster(external, realDataDir);
  } else {
    external = path.join(clusters, createHash('sha256').update(realDataDir).digest('hex').slice(0, 20));
    password = newPassword();
    await mkdir(external, { recursive: true, mode: 0o755 });
    // A cluster left behind by an earlier DATA_DIR at this very path (its marker deleted) is not ours to reuse.
    await rm(path.join(external, 'pgdata'), { recursive: true, force: true });
    await writeFile(path.join(external, OWNER_FILE), `${realDataDir}\n`, { mode: 0o644 });
    await writeMarker(markerFile, { pgdata: path.join(external, 'pgdata'), password });
  }
  const pgdata = path.join(external, 'pgdata');
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  await chown(pgdata, runAs.uid, runAs.gid);
  return { pgdata, binDir, runAs, user: USER, password, external };
}

/**
 * The marker points at a cluster whose owner file names the DATA_DIR that created it. Another path there means
 * DATA_DIR was moved (adopt it) or copied (the original still points at it: refuse, two DATA_DIRs never share).
 */
async function claimCluster(external: string, realDataDir: string): Promise<void> {
  const ownerFile = path.join(external, OWNER_FILE);
  const owner = (await readFile(ownerFile, 'utf8').catch(() => '')).trim();
  if (owner === realDataDir) return;
  // The cluster folder was removed (someone cleaned /var/lib): a new, empty cluster is made in its place.
  await mkdir(external, { recursive: true, mode: 0o755 });
  const original = owner ? await readMarker(path.join(owner, MARKER)).catch(() => null) : null;
  if (original?.pgdata && path.dirname(original.pgdata) === external) {
    throw new LayoutError(
      `DATA_DIR ${realDataDir} looks like a copy of ${owner}, whose embedded PostgreSQL (${external}) it would share; delete ${path.join(realDataDir, MARKER)} to give it a database of its own.`,
    );
  }
  await writeFile(ownerFile, `${realDataDir}\n`, { mode: 0o644 });
}

async function readMarker(file: string): Promise<Marker | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const parsed = JSON.parse(text) as Partial<Marker>;
  if (typeof parsed.password !== 'string' || (parsed.pgdata !== undefined && typeof parsed.pgdata !== 'string')) {
    throw new LayoutError(`${file} is damaged; restore it, or remove it together with the database it points to.`);
  }
  return parsed as Marker;
}

async function writeMarker(file: string, marker: Marker): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, file);
}

const newPassword = () => randomBytes(24).toString('base64url');

/** The PostgreSQL binaries of `embedded-postgres` for this platform (an optional dependency of that package). */
async function packagedBinaries(): Promise<{ dir: string; key: string }> {
  const name = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let postgres: string;
  try {
    ({ postgres } = (await import(name)) as { postgres: string });
  } catch {
    throw new LayoutError(
      `The embedded PostgreSQL has no binaries for ${os.platform()}-${os.arch()} (${name}); set DATABASE_URL.`,
    );
  }
  const dir = path.dirname(path.dirname(postgres));
  const { version } = JSON.parse(await readFile(path.join(dir, '..', 'package.json'), 'utf8')) as { version: string };
  return { dir, key: `${os.platform()}-${os.arch()}-${version}` };
}

/** uid/gid of the `postgres` system user, created (as embedded-postgres did) when missing. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const lookup = async () => {
    const [uid, gid] = await Promise.all([exec('id', ['-u', 'postgres']), exec('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await lookup();
  } catch {
    try {
      await exec('useradd', [
        '--system',
        '--user-group',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        'postgres',
      ]);
    } catch (e) {
      throw new LayoutError(
        `PostgreSQL cannot run as root and the system user postgres could not be created (${(e as Error).message.trim()}).`,
      );
    }
    return lookup();
  }
}

/**
 * SYSTEM_DIR/bin/<platform-arch-version>, filled once per package version. Root-owned, not group/world-writable
 * files are hard-linked (no copy of 60 MB per version); anything else is copied, so `postgres` never executes a
 * file some other account could change. Built under a temporary name and renamed: concurrent starts share it.
 */
async function installBinaries(source: { dir: string; key: string }, binRoot: string): Promise<string> {
  const target = path.join(binRoot, source.key);
  if (existsSync(path.join(target, '.complete'))) return target;
  await mkdir(binRoot, { recursive: true, mode: 0o755 });
  const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await cloneTree(source.dir, temp);
    await writeFile(path.join(temp, '.complete'), '');
    await rename(temp, target).catch(async (e: NodeJS.ErrnoException) => {
      // Someone else finished first; theirs is identical.
      if (!existsSync(path.join(target, '.complete'))) throw e;
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return target;
}

async function cloneTree(from: string, to: string): Promise<void> {
  await mkdir(to, { mode: 0o755 });
  await chmod(to, 0o755);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) await cloneTree(src, dst);
    else if (entry.isSymbolicLink()) await symlink(await readlink(src), dst);
    else if (entry.isFile()) {
      const st = await lstat(src);
      // Linked files keep their mode, so they must already be readable (and, if executable, executable) by others.
      const othersCan = (st.mode & 0o004) !== 0 && ((st.mode & 0o100) === 0 || (st.mode & 0o001) !== 0);
      const linkable = st.uid === 0 && (st.mode & 0o022) === 0 && othersCan;
      const linked =
        linkable &&
        (await link(src, dst).then(
          () => true,
          () => false,
        ));
      if (!linked) {
        await copyFile(src, dst);
        await chmod(dst, (st.mode & 0o755) | 0o444);
      }
    }
  }
}
