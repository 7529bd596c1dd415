/**
 * The filesystem, behind a few functions: walking an archive in a stable order, the read-only guard for the
 * archive folders, and writes that never leave a half-written file behind.
 */
import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  openSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FluxError } from './check.js';

/** The system's code of a failed file operation (ENOENT, EACCES, ...), else its message. */
export const errorCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** True for an error of the system (a failed open, write, mkdir: it has a code such as EACCES), not of the program. */
const isSystemError = (err: unknown): err is NodeJS.ErrnoException =>
  err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && 'syscall' in err;

/** The system's codes of a failed write, in words. */
const WRITE_REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EISDIR: 'it is a folder',
  ENOTEMPTY: 'it is a folder',
  ENAMETOOLONG: 'the name is too long',
  ENOENT: 'the folder it goes into is gone',
};

/**
 * Why a file or folder could not be written at `path`, in words: a part of the path that is a file (ENOTDIR, or
 * EEXIST from making a folder) is named; other codes are said in words, and an unknown one as the system says it.
 */
export function writeReason(path: string, err: unknown): string {
  const code = errorCode(err);
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    const file = fileInTheWay(path);
    if (file) return `${file === resolve(path) ? 'it' : file} is a file, not a folder`;
  }
  return WRITE_REASONS[code] ?? (err as Error).message;
}

/**
 * The file that stands where `path` or a folder on the way to it would have to be (the nearest part of the path that
 * exists, when that is no folder), or null: nothing under `path` can be written then.
 */
export function fileInTheWay(path: string): string | null {
  const above = nearestExisting(path);
  return above && !statSync(above).isDirectory() ? above : null;
}

/** A write the system refused (permission, a file in the way, a full disk): a FluxError naming the path and why. */
export class WriteError extends FluxError {
  constructor(
    readonly path: string,
    /** Why, in words (see {@link writeReason}). */
    readonly reason: string,
  ) {
    super(`cannot write ${path}: ${reason}`);
  }
}

/**
 * Makes a folder and those above it; one that cannot be made is a FluxError naming the option, the folder and why
 * (a file in the way, no permission), where the system's error would be a stack trace.
 */
export function makeDir(option: string, dir: string): string {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
  } catch (err) {
    if (!isSystemError(err)) throw err;
    throw new FluxError(`${option}: cannot make the folder ${abs}: ${writeReason(abs, err)}`);
  }
  return abs;
}

/** A file under a root: its relative path ('/' separated), size and modification time. */
export interface FileEntry {
  path: string;
  bytes: number;
  mtimeMs: number;
}

/** Checks that a folder option names an existing folder; the message names the option. */
export function checkDir(option: string, dir: unknown): string {
  if (typeof dir !== 'string' || dir.length === 0)
    throw new FluxError(`${option}: expected a folder path, received nothing`);
  let st: Stats;
  try {
    st = statSync(dir);
  } catch {
    throw new FluxError(`${option}: folder not found: ${resolve(dir)}`);
  }
  if (!st.isDirectory()) throw new FluxError(`${option}: expected a folder, but ${resolve(dir)} is a file`);
  return resolve(dir);
}

/**
 * Makes sure an output folder exists ({@link makeDir}) and can be written, before a long job rather than after it;
 * the message names the option, the folder, why, and `hint`: what to do.
 */
export function checkWritableDir(option: string, dir: string, hint = ''): string {
  const then = hint ? `; ${hint}` : '';
  let abs: string;
  try {
    abs = makeDir(option, dir);
  } catch (err) {
    throw err instanceof FluxError ? new FluxError(`${err.message}${then}`) : err;
  }
  try {
    accessSync(abs, constants.W_OK);
  } catch (err) {
    if (!isSystemError(err)) throw err;
    throw new FluxError(`${option}: cannot write to ${abs}: ${writeReason(abs, err)}${then}`);
  }
  return abs;
}

/** The path itself or the nearest folder above it that exists (what a write there would meet first), or null. */
export function nearestExisting(path: string): string | null {
  for (let p = resolve(path); ; p = dirname(p)) {
    if (existsSync(p)) return p;
    if (dirname(p) === p) return null;
  }
}

/**
 * Checks that an output file option names a file to write, not an existing folder, in a folder that can be written
 * (or can be made); returns its absolute path.
 */
export function checkOutFile(option: string, file: string, example: string): string {
  const abs = resolve(file);
  // a trailing separator names a folder, even one not there yet
  if (/[\\/]$/.test(file))
    throw new FluxError(`${option}: ${file} names a folder; name the file to write, e.g. ${join(abs, example)}`);
  let st: Stats | null = null;
  try {
    st = statSync(abs);
  } catch {
    // not there yet: it will be written
  }
  if (st?.isDirectory())
    throw new FluxError(`${option}: ${abs} is a folder; name the file to write, e.g. ${join(abs, example)}`);
  // the nearest part of the path above it that exists must be a folder
  const above = fileInTheWay(dirname(abs));
  if (above) throw new FluxError(`${option}: ${above} is a file, so ${abs} cannot be written; name a file in a folder`);
  // and one the file (and any folder on the way) can be written into, said now rather than after the work
  const folder = nearestExisting(dirname(abs));
  if (folder) {
    try {
      accessSync(folder, constants.W_OK);
    } catch (err) {
      if (!isSystemError(err)) throw err;
      throw new FluxError(`${option}: cannot write ${abs}: ${folder}: ${writeReason(folder, err)}`);
    }
  }
  return abs;
}

/** Something below a root that `walk` passed over: a folder it could not list, a link or a special file. */
export interface WalkProblem {
  /** Relative path ('/' separated); a folder's ends in '/'. */
  path: string;
  kind: 'unreadable folder' | 'unreadable file' | 'link' | 'special file' | 'bad name';
  reason: string;
}

/** How far a walk has got: the root's own folders walked of all of them, the files found, the folder last listed. */
export interface WalkProgress {
  done: number;
  total: number;
  files: number;
  folder: string;
}

/**
 * Every regular file below `root`, sorted by path. Symbolic links are not followed (an archive is indexed by its
 * own files, and a link may loop or lead outside it); they, special files and folders that cannot be listed go to
 * `problems` when given, and the walk goes on. A root that cannot be listed is a FluxError naming it. `onFolder`
 * hears of every folder listed: an archive of years of folders takes minutes to walk on a slow drive.
 */
export function walk(root: string, problems?: WalkProblem[], onFolder?: (progress: WalkProgress) => void): FileEntry[] {
  const out: FileEntry[] = [];
  const rel = (abs: string): string => relative(root, abs).split(sep).join('/');
  // the root's own folders are the units of progress (years, in an archive laid out by date)
  let done = 0;
  let total = 0;
  const tell = (folder: string): void => onFolder?.({ done, total, files: out.length, folder });
  const visit = (dir: string): void => {
    let entries;
    try {
      // names as bytes: one that is not UTF-8 would read back as another (its bad bytes replaced) and not be found
      entries = readdirSync(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (err) {
      const code = errorCode(err);
      if (dir === root) throw new FluxError(`cannot list the folder ${root} (${code})`);
      if (!problems) throw err;
      problems.push({ path: `${rel(dir)}/`, kind: 'unreadable folder', reason: `cannot list the folder: ${code}` });
      return;
    }
    const named = entries.map((e) => {
      const name = e.name.toString('utf8');
      return { e, name, utf8: Buffer.from(name, 'utf8').equals(e.name) };
    });
    named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // a folder whose name is not UTF-8 is passed over (below), so it is no unit of progress
    if (dir === root) total = named.filter(({ e, utf8 }) => e.isDirectory() && utf8).length;
    tell(dir === root ? '' : rel(dir));
    for (const { e: entry, name, utf8 } of named) {
      if (!utf8) {
        // its bytes escaped, so two such names stay two problems
        const shown = Array.from(entry.name, (c) => (c < 0x80 ? String.fromCharCode(c) : `\\x${c.toString(16)}`));
        const folder = entry.isDirectory();
        problems?.push({
          path: `${rel(join(dir, shown.join('')))}${folder ? '/' : ''}`,
          kind: 'bad name',
          reason: `the ${folder ? 'folder' : 'file'} name is not valid UTF-8, so it is not indexed${
            folder ? ', nor anything in it' : ''
          }: rename it`,
        });
        continue;
      }
      const abs = join(dir, name);
      if (entry.isDirectory()) {
        visit(abs);
        if (dir === root) {
          done++;
          tell(rel(abs));
        }
      } else if (entry.isFile()) {
        let st: Stats;
        try {
          st = statSync(abs);
        } catch (err) {
          // gone since the folder was listed, or a folder that can be listed but not entered
          if (!problems) throw err;
          problems.push({ path: rel(abs), kind: 'unreadable file', reason: `cannot stat the file: ${errorCode(err)}` });
          continue;
        }
        out.push({ path: rel(abs), bytes: st.size, mtimeMs: st.mtimeMs });
      } else if (entry.isSymbolicLink()) {
        problems?.push({
          path: rel(abs),
          kind: 'link',
          reason: 'symbolic link, not followed: index the real file or folder where it lies',
        });
      } else {
        problems?.push({
          path: rel(abs),
          kind: 'special file',
          reason: 'not a regular file (a pipe, socket or device)',
        });
      }
    }
  };
  visit(root);
  return out;
}

/** True when `path` is `dir` itself or lies below it. */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The path with symbolic links resolved: the real path of its nearest existing ancestor, then the rest as written
 * (a file about to be made has no real path yet, but the folder it goes into has).
 */
export function realPath(path: string): string {
  const abs = resolve(path);
  const rest: string[] = [];
  let at = abs;
  for (;;) {
    try {
      return join(realpathSync(at), ...rest.reverse());
    } catch {
      const up = dirname(at);
      if (up === at) return abs;
      rest.push(basename(at));
      at = up;
    }
  }
}

/**
 * Refuses a write target inside any archive folder: the archive is read-only to the workbench. Compared as written
 * and with symbolic links resolved, so a link into the archive (or an archive reached through one) is refused too.
 */
export function assertOutsideArchive(
  option: string,
  target: string,
  archives: Record<string, string | undefined>,
): void {
  for (const [name, dir] of Object.entries(archives)) {
    if (dir && (isInside(target, dir) || isInside(realPath(target), realPath(dir)))) {
      throw new FluxError(
        `${option}: ${resolve(target)} is inside the archive folder ${name} (${resolve(dir)}); ` +
          'the workbench never writes into the archive, choose a folder outside it',
      );
    }
  }
}

/**
 * Writes a file through a temporary name and a rename, so a crash never leaves a half-written file. `durable` also
 * flushes the file before the rename and the folder after it, so a power cut cannot leave the new name on an empty
 * file either (for the few large files a run's later steps trust: the vector parts). A write the system refuses (no
 * permission, a file where a folder should be, a full disk) is a {@link WriteError} naming the file and why, and
 * leaves no temporary file behind.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, options: { durable?: boolean } = {}): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeAndRename(file, tmp, data, options.durable === true);
  } catch (err) {
    if (!isSystemError(err)) throw err;
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the folder could not be made or entered: there is no temporary file
    }
    throw new WriteError(resolve(file), writeReason(resolve(file), err));
  }
}

function writeAndRename(file: string, tmp: string, data: Uint8Array | string, durable: boolean): void {
  if (!durable) {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
    return;
  }
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** A stable 52-bit integer id (a safe JavaScript number) from a SHA-256 hex digest. */
export function idFromSha(sha256hex: string): number {
  return parseInt(sha256hex.slice(0, 13), 16);
}

/** SHA-256 hex digest of bytes or text. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
