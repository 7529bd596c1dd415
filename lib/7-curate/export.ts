/**
 * The curator's outputs: the picks copied out of the archive with their sidecars (never overwriting, never following
 * a link) and the selection as a CSV in PhotoMapAI's columns.
 */
import { constants, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import type { Db } from '../db/duckdb.js';
import { archiveRoots } from '../db/schema.js';
import { excludedIds } from '../db/curator.js';
import { csvCell } from '../util/csv.js';
import { FluxError } from '../util/check.js';
import { assertOutsideArchive, fileInTheWay, isInside, makeDir, realPath, writeFileAtomic } from '../util/fsutil.js';
import type { CurateResult } from './vote.js';

const SIDECARS = ['.txt', '.caption', '.json'];

export interface ExportReport {
  dir: string;
  copied: Array<{ photoId: number; from: string; to: string; sidecars: string[] }>;
  /** Photos an earlier export already put there, byte for byte (not copied again). */
  already: Array<{ photoId: number; from: string; to: string }>;
  skipped: Array<{ photoId: number; path: string; reason: string }>;
  csv: string;
}

/**
 * Checks an export folder before any work or any change to the database: outside the archive, and a folder, not a
 * file; makes it when it is not there yet. Returns it resolved.
 */
export async function checkExportDir(db: Db, dir: string): Promise<string> {
  const roots = await archiveRoots(db);
  if (!roots.originals)
    throw new FluxError('--export: the database does not record an originals folder (run flux ingest first)');
  const target = resolve(dir);
  assertOutsideArchive('--export', target, roots);
  // the nearest part of the path that exists must be a folder
  const p = fileInTheWay(target);
  if (p) {
    throw new FluxError(
      `--export: ${p} is a file${p === target ? '' : ` (on the way to ${target})`}; ` +
        'name a folder to copy the selection into',
    );
  }
  // made now, so a folder that cannot be made stops the run before anything is saved
  return makeDir('--export', target);
}

/** Same size and bytes. */
function sameBytes(a: string, b: string): boolean {
  try {
    return statSync(a).size === statSync(b).size && readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** A photo's file in the originals and its sidecars, sorted into those that can be copied and those that cannot. */
interface Source {
  src: string;
  rel: string;
  sidecars: string[];
  linkedSidecars: string[];
}

/** Where a selected photo's file is, or why it is not copied. */
function sourceOf(
  rel: string | undefined,
  excluded: boolean,
  originals: string,
  originalsReal: string,
): Source | string {
  if (excluded) return 'excluded';
  if (!rel) return 'not in the index';
  const src = join(originals, rel);
  const kind = fileKind(src);
  if (kind === 'missing') return `source missing: ${src}`;
  // only the archive's own files leave it: a link (to anywhere) is not followed, as ingest does not follow one
  if (kind === 'link' || !isInside(realPath(src), originalsReal))
    return `a symbolic link or outside the originals, not copied: ${src}`;
  const stem = basename(rel, extname(rel));
  const sidecarFiles = SIDECARS.map((e) => join(dirname(src), stem + e)).filter((f) => fileKind(f) !== 'missing');
  return {
    src,
    rel,
    sidecars: sidecarFiles.filter((f) => fileKind(f) === 'file'),
    linkedSidecars: sidecarFiles.filter((f) => fileKind(f) !== 'file'),
  };
}

/**
 * The base name a photo gets in the export folder: `name`, then `{parent}_{name}`, then `{parent}_{name}_{n}`, the
 * first whose image and sidecar names are all free, or taken by an earlier export of the same bytes (`already`).
 */
function chooseName(s: Source, target: string): { base: string; already: boolean } | null {
  const ext = extname(s.rel);
  const stem = basename(s.rel, ext);
  const parent = basename(dirname(s.rel)) || 'root';
  const candidates = (n: number): string =>
    n === 0 ? stem : n === 1 ? `${parent}_${stem}` : `${parent}_${stem}_${n - 1}`;
  for (let n = 0; n < 10_000; n++) {
    const base = candidates(n).replace(/[/\\]/g, '_');
    const names = [base + ext, ...s.sidecars.map((f) => base + extname(f))];
    if (!names.every((x) => isInside(join(target, x), target))) continue;
    if (names.every((x) => !existsSync(join(target, x)))) return { base, already: false };
    // an earlier export of the same photo (and its sidecars) under this name: kept, not copied again
    if (
      sameBytes(s.src, join(target, base + ext)) &&
      s.sidecars.every((f) => sameBytes(f, join(target, base + extname(f))))
    ) {
      return { base, already: true };
    }
  }
  return null;
}

/** Copies one photo and its sidecars under a chosen name, into the report. */
function copyOne(photoId: number, s: Source, target: string, originals: string, report: ExportReport): void {
  const chosen = chooseName(s, target);
  if (!chosen) {
    report.skipped.push({ photoId, path: s.rel, reason: 'no free name' });
    return;
  }
  try {
    const to = join(target, chosen.base + extname(s.rel));
    if (chosen.already) {
      report.already.push({ photoId, from: s.src, to });
    } else {
      copyKeepingTimes(s.src, to);
      const copiedSidecars: string[] = [];
      for (const f of s.sidecars) {
        const dest = join(target, chosen.base + extname(f));
        copyKeepingTimes(f, dest);
        copiedSidecars.push(dest);
      }
      report.copied.push({ photoId, from: s.src, to, sidecars: copiedSidecars });
    }
    for (const f of s.linkedSidecars) {
      report.skipped.push({
        photoId,
        path: relative(originals, f),
        reason: 'a sidecar that is a symbolic link or not a file, not copied',
      });
    }
  } catch (err) {
    report.skipped.push({ photoId, path: s.rel, reason: `copy failed: ${(err as Error).message}` });
  }
}

/**
 * Copies the selected, non-excluded photos (and their same-stem sidecars) into `dir` without ever overwriting:
 * `name.ext`, then `{parent}_{name.ext}`, then `{parent}_{stem}_{n}{ext}`, where a name counts as taken when the
 * image or any of its sidecars' names is; a photo an earlier export put there byte for byte is kept, not copied
 * again. Symbolic links (photos or sidecars) are not followed, and modification times are kept. Writes
 * `selection.csv` beside them (`selection_2.csv`, ... when an earlier export's is there), whose `exported_as` column
 * names the file each photo was copied to.
 */
export async function exportSelection(db: Db, r: CurateResult, dir: string): Promise<ExportReport> {
  const target = await checkExportDir(db, dir);
  const originals = (await archiveRoots(db)).originals as string;
  const originalsReal = realPath(originals);
  const excluded = await excludedIds(db);
  const paths = await photoPaths(db);
  let csvName = 'selection.csv';
  for (let n = 2; existsSync(join(target, csvName)); n++) csvName = `selection_${n}.csv`;
  const report: ExportReport = { dir: target, copied: [], already: [], skipped: [], csv: join(target, csvName) };
  for (const { photoId } of r.selection) {
    const rel = paths.get(photoId);
    const source = sourceOf(rel, excluded.has(photoId), originals, originalsReal);
    if (typeof source === 'string') report.skipped.push({ photoId, path: rel ?? '', reason: source });
    else copyOne(photoId, source, target, originals, report);
  }
  const exported = new Map([...report.copied, ...report.already].map((c) => [c.photoId, basename(c.to)]));
  writeFileAtomic(report.csv, curatorCsv(r, paths, excluded, exported));
  return report;
}

/** What is at a path, without following a link. */
function fileKind(path: string): 'file' | 'link' | 'other' | 'missing' {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/** Copies a file that must not exist yet, keeping its modification time. */
function copyKeepingTimes(from: string, to: string): void {
  copyFileSync(from, to, constants.COPYFILE_EXCL);
  const st = statSync(from);
  // seconds as a number keep sub-millisecond precision that a Date would drop
  utimesSync(to, st.atimeMs / 1000, st.mtimeMs / 1000);
}

/** Every photo's path under the originals, by photo_id (what the curator CSV names). */
export async function photoPaths(db: Db): Promise<Map<number, string>> {
  const rows = await db.all<{ photo_id: number; path: string }>('SELECT photo_id, path FROM photos');
  return new Map(rows.map((x) => [Number(x.photo_id), x.path]));
}

/**
 * PhotoMapAI's CSV columns (Filename and Subfolder of the original) plus photo_id and exported_as, the name an export
 * gave the copy (empty when the photo was not copied): the selection, then the excluded photos. Safe to open in a
 * spreadsheet.
 */
export function curatorCsv(
  r: CurateResult,
  paths: Map<number, string>,
  excluded: ReadonlySet<number>,
  exported: ReadonlyMap<number, string> = new Map(),
): string {
  const head = 'Filename,Subfolder,Count,Frequency(%),Index,Status,photo_id,exported_as';
  const row = (id: number, count: number, freq: number, index: number, status: string): string => {
    const p = paths.get(id) ?? '';
    const cells = [
      basename(p),
      dirname(p) === '.' ? '' : dirname(p),
      count,
      freq,
      index,
      status,
      id,
      exported.get(id) ?? '',
    ];
    return cells.map(csvCell).join(',');
  };
  const included = r.selection
    .filter((s) => !excluded.has(s.photoId))
    .map((s, i) => row(s.photoId, s.votes, s.frequency, i, 'included'));
  const out = [...excluded].sort((a, b) => a - b).map((id, i) => row(id, r.votes.get(id) ?? 0, 0, i, 'excluded'));
  return `${[head, ...included, ...out].join('\n')}\n`;
}
