/**
 * The filesystem, behind a few functions: walking an archive in a stable order, the read-only guard for the
 * archive folders, and writes that never leave a half-written file behind.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readdirSync, renameSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { FluxError } from './check.js';

/** A file under a root: its relative path ('/' separated), size and modification time. */
export interface FileEntry {
  path: string;
  bytes: number;
  mtimeMs: number;
}

/** Checks that a folder option names an existing folder; the message names the option. */
export function checkDir(option: string, dir: unknown): string {
  if (typeof dir !== 'string' || dir.length === 0) throw new FluxError(`${option}: expected a folder path, received nothing`);
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
 * Makes sure an output folder exists and can be written, before a long job rather than after it; the message names
 * the option and what to do.
 */
export function checkWritableDir(option: string, dir: string, hint = ''): string {
  const abs = resolve(dir);
  try {
    mkdirSync(abs, { recursive: true });
    accessSync(abs, constants.W_OK);
  } catch (err) {
    throw new FluxError(`${option}: cannot write to ${abs} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})${hint ? `; ${hint}` : ''}`);
  }
  return abs;
}

/** Every regular file below `root`, sorted by path; symbolic links are not followed. */
export function walk(root: string): FileEntry[] {
  const out: FileEntry[] = [];
  const visit = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const abs = join(dir, entry.name);
      if (entry.isDirectory()) visit(abs);
      else if (entry.isFile()) {
        const st = statSync(abs);
        out.push({ path: relative(root, abs).split(sep).join('/'), bytes: st.size, mtimeMs: st.mtimeMs });
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

/** Refuses a write target inside any archive folder: the archive is read-only to the workbench. */
export function assertOutsideArchive(option: string, target: string, archives: Record<string, string | undefined>): void {
  for (const [name, dir] of Object.entries(archives)) {
    if (dir && isInside(target, dir)) {
      throw new FluxError(`${option}: ${resolve(target)} is inside the archive folder ${name} (${resolve(dir)}); ` +
        'the workbench never writes into the archive, choose a folder outside it');
    }
  }
}

/** Writes a file through a temporary name and a rename, so a crash never leaves a half-written file. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** A stable 52-bit integer id (a safe JavaScript number) from a SHA-256 hex digest. */
export function idFromSha(sha256hex: string): number {
  return parseInt(sha256hex.slice(0, 13), 16);
}

/** SHA-256 hex digest of bytes or text. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
