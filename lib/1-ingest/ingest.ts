/**
 * Ingest: index the originals, the keepers and an inbox into DuckDB. Each file is read exactly once; that one
 * buffer feeds SHA-256, EXIF and a shrink-on-load decode into the preview cache. Rows land in transactions of a
 * batch, after their previews, so a killed run resumes with no half-written and no lost rows.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, extname, join, basename, relative, resolve } from 'node:path';
import type { Db, SqlValue } from '../db/duckdb.js';
import {
  clearFileProblems,
  corpusCounts,
  dropDuplicates,
  EXIF_COLUMNS,
  forgetFiles,
  ingestProblems,
  insertPhotos,
  ledger,
  loadMetadataRows,
  markDuplicates,
  movePhoto,
  photosById,
  replaceFileRows,
  replaceWalkErrors,
  setMeta,
  writeDuplicates,
  writeIngestErrors,
  writeIngestWarnings,
  writeLedger,
  type FileProblem,
  type Root,
} from '../db/corpus.js';
import { archiveRoots, ensureSchema, workspaceOf } from '../db/schema.js';
import type { Values } from '../db/table.js';
import { checkInt, FluxError } from '../util/check.js';
import { plural } from '../util/text.js';
import {
  assertOutsideArchive,
  checkDir,
  idFromSha,
  isInside,
  makeDir,
  fileInTheWay,
  realPath,
  sha256,
  walk,
  writeFileAtomic,
  WriteError,
  type FileEntry,
  type WalkProblem,
} from '../util/fsutil.js';
import { throttle, type OnProgress } from '../util/progress.js';
import { readExif, type ExifFields } from './exif.js';
import { makePreview, notJpegReason, readSize } from './image.js';
import { folderDate, isPlainRicohName, parseCanonicalName, ricohName } from './names.js';

/** The three folder trees the workbench reads. */
export type { Root };

/** Options of `ingest`. */
export interface IngestOptions {
  originals?: string;
  keepers?: string;
  inbox?: string;
  /** Where the preview cache lives; default: the database's folder. */
  workspace?: string;
  /** Files in flight at once; default: cores + 1. */
  concurrency?: number;
  /** Files per committed transaction; default 64. */
  batchSize?: number;
  onProgress?: OnProgress;
}

/** What became of one root's files. */
export interface RootReport {
  root: Root;
  dir: string;
  files: number;
  unchanged: number;
  ok: number;
  duplicate: number;
  skipped: number;
  failed: number;
  vanished: number;
  /** Folders that could not be listed, links and special files: passed over, listed in ingest_errors (stage `walk`). */
  passedOver: number;
  /** Photos indexed past damaged image data or a damaged EXIF block, listed in ingest_warnings. */
  warned: number;
  /** Files with a JPEG extension found under the root (new, changed or unchanged). */
  jpegs: number;
}

/** The folders the workbench writes in a workspace. */
const WORKSPACE_FOLDERS = ['previews', 'embeddings', 'reports'];

/** What `ingest` did. */
export interface IngestReport {
  db: string;
  workspace: string;
  roots: RootReport[];
  /**
   * What the index holds against the files of these roots, from all runs: the files not indexed (ingest_errors),
   * then the photos indexed with a warning (ingest_warnings).
   */
  problems: FileProblem[];
  seconds: number;
}

type Outcome =
  | {
      kind: 'photo';
      entry: FileEntry;
      sha: string;
      exif: ExifFields;
      width: number;
      height: number;
      preview: string;
      warning?: string | null;
    }
  | { kind: 'skipped'; entry: FileEntry; reason: string }
  | { kind: 'failed'; entry: FileEntry; stage: string; message: string; sha: string | null };

const JPEG_EXT = new Set(['.jpg', '.jpeg']);

// files that live beside photos and are not photos: recorded as skipped, not as errors
const SIDECAR_EXT = new Set(['.xmp', '.aae', '.thm', '.txt', '.json', '.caption', '.dng', '.raw', '.ini', '.db']);
const SIDECAR_NAMES = new Set(['.ds_store', 'thumbs.db', 'desktop.ini']);

/** The preview cache file of some content, relative to the workspace. */
export function previewPath(sha: string): string {
  return `previews/${sha.slice(0, 2)}/${sha}.jpg`;
}

/** Which copy of identical files is kept: a plain camera name first, then the shortest path, then by path. */
export function preferredCopy(a: string, b: string): string {
  const rank = (p: string): [number, number] => [isPlainRicohName(basename(p)) ? 0 : 1, p.length];
  const [ra, rb] = [rank(a), rank(b)];
  if (ra[0] !== rb[0]) return ra[0] < rb[0] ? a : b;
  if (ra[1] !== rb[1]) return ra[1] < rb[1] ? a : b;
  return a <= b ? a : b;
}

function classify(entry: FileEntry): Outcome | null {
  const name = basename(entry.path);
  const ext = extname(name).toLowerCase();
  if (SIDECAR_NAMES.has(name.toLowerCase()) || name.startsWith('._') || SIDECAR_EXT.has(ext)) {
    return { kind: 'skipped', entry, reason: `not a photo: ${ext || name} file beside the photos` };
  }
  if (!JPEG_EXT.has(ext)) {
    const message = `not a JPEG file (extension ${ext || 'none'}); only JPEG photos are indexed`;
    return { kind: 'failed', entry, stage: 'scan', message, sha: null };
  }
  if (entry.bytes === 0) return { kind: 'failed', entry, stage: 'read', message: 'empty file (0 bytes)', sha: null };
  return null;
}

/** How the message of a file that could not be read begins (such files are tried again on the next run). */
const CANNOT_READ = 'cannot read: ';

async function processFile(dir: string, entry: FileEntry, workspace: string): Promise<Outcome> {
  const early = classify(entry);
  if (early) return early;
  let buf: Buffer;
  try {
    buf = await readFile(join(dir, entry.path));
  } catch (err) {
    return { kind: 'failed', entry, stage: 'read', message: `${CANNOT_READ}${(err as Error).message}`, sha: null };
  }
  const sha = sha256(buf);
  const bad = notJpegReason(buf);
  if (bad) return { kind: 'failed', entry, stage: 'decode', message: bad, sha };
  const exif = await readExif(buf);
  const preview = previewPath(sha);
  const previewFile = join(workspace, preview);
  // a damage warning is kept beside the preview, so a later copy of the same bytes (or the same file touched)
  // hears it too
  const warningFile = previewFile.replace(/\.jpg$/, '.warning.txt');
  let out: Awaited<ReturnType<typeof makePreview>>;
  try {
    if (existsSync(previewFile)) {
      // identical bytes were decoded before: the preview is already in the cache
      const size = await readSize(buf);
      const warning = existsSync(warningFile) ? readFileSync(warningFile, 'utf8') : null;
      return { kind: 'photo', entry, sha, exif, preview, ...size, warning };
    }
    out = await makePreview(buf);
  } catch (err) {
    return { kind: 'failed', entry, stage: 'decode', message: decodeFailure(buf, err as Error), sha };
  }
  try {
    if (out.warning) writeFileAtomic(warningFile, out.warning);
    writeFileAtomic(previewFile, out.jpeg);
  } catch (err) {
    // the workspace, not the photo: the run stops (its finished batches are kept) and the next run resumes here
    throw new FluxError(
      `cannot write the preview of ${join(dir, entry.path)} to ${previewFile} (${err instanceof WriteError ? err.reason : (err as Error).message}); ` +
        'make room in the workspace or give another, then run flux ingest again: it resumes where this run stopped',
    );
  }
  return { kind: 'photo', entry, sha, exif, preview, width: out.width, height: out.height, warning: out.warning };
}

/**
 * A stable reason for a JPEG that does not decode. A file cut short (no end-of-image marker) says so; otherwise
 * libvips' first line is kept (its error text is shared between threads, so "Unknown error" gets a fixed wording).
 */
export function decodeFailure(buf: Uint8Array, err: Error): string {
  let end = buf.length;
  while (end > 0 && (buf[end - 1] === 0x00 || buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
  if (end < 2 || buf[end - 2] !== 0xff || buf[end - 1] !== 0xd9) {
    return `cannot decode JPEG: truncated (no end-of-image marker; the file stops at ${buf.length} bytes)`;
  }
  const first = err.message.split('\n')[0]?.trim() ?? '';
  return `cannot decode JPEG: damaged image data${first && !/unknown error/i.test(first) ? ` (${first})` : ''}`;
}

const ts = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
const round = (v: number | null): number | null => (v === null ? null : Math.round(v));

type Photo = Extract<Outcome, { kind: 'photo' }>;

/** The EXIF columns of a photo (each table keeps the ones it has), and its file and pixel size. */
function commonValues(o: Photo): Values {
  const fields = o.exif as unknown as Record<string, SqlValue>;
  const exif = Object.fromEntries(EXIF_COLUMNS.map(([column, field]) => [column, fields[field] ?? null]));
  return {
    ...exif,
    iso: round(o.exif.iso),
    path: o.entry.path,
    sha256: o.sha,
    bytes: o.entry.bytes,
    mtime: ts(o.entry.mtimeMs),
    width: o.width,
    height: o.height,
    preview: o.preview,
  };
}

/** The camera file name of a photo's path, else its base name. */
const cameraName = (path: string): string => ricohName(basename(path)) ?? basename(path);

function photoValues(o: Photo): Values {
  return {
    ...commonValues(o),
    photo_id: idFromSha(o.sha),
    original_filename: cameraName(o.entry.path),
    session_date: o.exif.capturedAt ? o.exif.capturedAt.slice(0, 10) : folderDate(o.entry.path),
  };
}

function keeperValues(o: Photo): Values {
  const name = basename(o.entry.path);
  const canon = parseCanonicalName(name);
  return {
    ...commonValues(o),
    // the id follows the content too: a keeper exported again under its name is another picture, embedded and
    // matched again (the photographer's match decisions are kept by path and content)
    keeper_id: idFromSha(sha256(`keepers:${o.entry.path}:${o.sha}`)),
    original_filename: canon?.originalFilename ?? ricohName(name),
    has_exif: o.exif.hasExif,
    name_canonical: canon !== null,
    name_captured_at: canon?.capturedAt ?? null,
    name_author: canon?.author ?? null,
    folder_date: folderDate(o.entry.path),
  };
}

function inboxValues(o: Photo): Values {
  // the id follows the content: a new photo under a reused name (the next card) is a new photo, with its own vector
  return {
    ...commonValues(o),
    inbox_id: idFromSha(sha256(`inbox:${o.entry.path}:${o.sha}`)),
    original_filename: cameraName(o.entry.path),
  };
}

/**
 * Upserts the originals of one batch; identical bytes share one photo row, the other copies go to corpus_duplicates.
 * A row whose file is no longer under `dir` (the photographer moved it) moves to the copy found now, whatever
 * copy would be preferred.
 */
async function writePhotos(db: Db, photos: Photo[], dir: string): Promise<void> {
  if (photos.length === 0) return;
  // a re-read path may have changed content: drop what it said before
  await dropDuplicates(
    db,
    photos.map((p) => p.entry.path),
  );
  const existing = await photosById(db, [...new Set(photos.map((p) => idFromSha(p.sha)))]);
  const groups = new Map<number, Photo[]>();
  for (const p of photos) {
    const id = idFromSha(p.sha);
    groups.set(id, [...(groups.get(id) ?? []), p]);
  }
  const inserts: Values[] = [];
  const dups: Array<{ path: string; sha256: string; photo_id: number }> = [];
  for (const [id, group] of groups) {
    const old = existing.get(id);
    let best = group[0] as Photo;
    for (const p of group) if (preferredCopy(p.entry.path, best.entry.path) === p.entry.path) best = p;
    if (old && old.sha256 !== best.sha) {
      throw new FluxError(`photo_id collision between ${old.path} and ${best.entry.path}`);
    }
    const copy = (p: Photo): { path: string; sha256: string; photo_id: number } => ({
      path: p.entry.path,
      sha256: p.sha,
      photo_id: id,
    });
    const oldThere = old !== undefined && existsSync(join(dir, old.path));
    if (old && oldThere && preferredCopy(old.path, best.entry.path) === old.path) {
      for (const p of group) if (p.entry.path !== old.path) dups.push(copy(p));
      continue;
    }
    for (const p of group) if (p !== best) dups.push(copy(p));
    if (old) {
      // the new copy is preferred, or the old one is gone: the row moves to it (an old copy still there becomes a
      // duplicate)
      if (oldThere) dups.push({ path: old.path, sha256: old.sha256, photo_id: id });
      await movePhoto(db, id, photoValues(best));
    } else {
      inserts.push(photoValues(best));
    }
  }
  await insertPhotos(db, inserts);
  await writeDuplicates(db, dups);
}

/** What is wrong with a photo that was indexed all the same: damaged image data, a damaged EXIF block, or both. */
function warningOf(p: Photo): string | null {
  const parts: string[] = [];
  if (p.warning) parts.push(`decoded past damaged image data, the picture may be partly grey or garbled: ${p.warning}`);
  if (p.exif.exifDamage) {
    const how = p.exif.hasExif
      ? 'indexed with the fields that could be read'
      : 'indexed as without EXIF (no capture time, camera or orientation)';
    parts.push(`damaged EXIF block (${p.exif.exifDamage}): ${how}`);
  }
  return parts.length ? parts.join('; ') : null;
}

async function writeBatch(db: Db, root: Root, dir: string, batch: Outcome[]): Promise<void> {
  await db.transaction(async () => {
    const paths = batch.map((o) => o.entry.path);
    await clearFileProblems(db, root, paths);
    const photos = batch.filter((o): o is Photo => o.kind === 'photo');
    if (root === 'originals') await writePhotos(db, photos, dir);
    else await replaceFileRows(db, root, paths, photos.map(root === 'keepers' ? keeperValues : inboxValues));
    await writeIngestWarnings(
      db,
      root,
      photos.flatMap((p) => {
        const message = warningOf(p);
        return message ? [{ path: p.entry.path, message }] : [];
      }),
    );
    const failed = batch.filter((o): o is Extract<Outcome, { kind: 'failed' }> => o.kind === 'failed');
    await writeIngestErrors(
      db,
      root,
      failed.map((f) => ({ path: f.entry.path, stage: f.stage, message: f.message })),
    );
    // the ledger row is written last, in the same transaction: it is what makes a file count as done
    await writeLedger(
      db,
      root,
      batch.map((o) => ({
        path: o.entry.path,
        bytes: o.entry.bytes,
        mtime_ms: o.entry.mtimeMs,
        sha256: o.kind === 'skipped' ? null : o.sha,
        status: o.kind === 'photo' ? 'ok' : o.kind,
        reason: o.kind === 'skipped' ? o.reason : o.kind === 'failed' ? o.message : null,
      })),
    );
  });
}

/** Runs `fn` over `items` with at most `limit` in flight, calling `sink` with each result as it completes. */
async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  sink: (r: R) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await sink(await fn(item));
    }
  });
  await Promise.all(lanes);
}

/** A root's files as found on disk, what the index knew of them, and which of them need reading. */
interface RootScan {
  entries: FileEntry[];
  problems: WalkProblem[];
  vanished: string[];
  todo: FileEntry[];
}

/** Walks a root and compares it with the ledger: what vanished, and what is new, changed or to be tried again. */
async function scanRoot(db: Db, root: Root, dir: string, workspace: string, onProgress: OnProgress): Promise<RootScan> {
  const problems: WalkProblem[] = [];
  const stage = `listing ${root}`;
  // a root without folders is listed at once
  const entries = walk(dir, problems, (p) => {
    if (p.total > 0) onProgress({ stage, done: p.done, total: p.total, detail: `${p.files} files ${p.folder}` });
  });
  const unlisted = problems.filter((p) => p.kind === 'unreadable folder').map((p) => p.path);
  const unstatted = new Set(problems.filter((p) => p.kind === 'unreadable file').map((p) => p.path));
  const known = await ledger(db, root);
  const onDisk = new Set(entries.map((e) => e.path));
  // a file that could not be looked at this time, or is in a folder that could not be listed, is not gone
  const vanished = [...known.keys()].filter(
    (p) => !onDisk.has(p) && !unstatted.has(p) && !unlisted.some((f) => p.startsWith(f)),
  );
  const todo = entries.filter((e) => {
    const k = known.get(e.path);
    if (!k || k.bytes !== e.bytes || k.mtime_ms !== e.mtimeMs) return true;
    // a file that could not be read (permissions, a drive that went away) is tried again; a bad file is not
    if (k.status === 'failed') return (k.reason ?? '').startsWith(CANNOT_READ);
    // an indexed photo whose preview is not in the workspace (a new or emptied workspace) is read again to make it
    return (
      (k.status === 'ok' || k.status === 'duplicate') &&
      k.sha256 !== null &&
      !existsSync(join(workspace, previewPath(k.sha256)))
    );
  });
  return { entries, problems, vanished, todo };
}

type Limits = Required<Pick<IngestOptions, 'concurrency' | 'batchSize'>>;

async function ingestRoot(
  db: Db,
  root: Root,
  dir: string,
  workspace: string,
  opts: Limits,
  onProgress: OnProgress,
): Promise<RootReport> {
  const { entries, problems, vanished, todo } = await scanRoot(db, root, dir, workspace, onProgress);
  const jpegs = entries.filter((e) => JPEG_EXT.has(extname(e.path).toLowerCase())).length;
  // a folder without any photo where photos were indexed (a drive not mounted, a wrong path, an empty card) would
  // forget every one of them: refused, and nothing is forgotten
  if (jpegs === 0 && vanished.length > 0) {
    throw new FluxError(
      `--${root}: no JPEG found in ${dir} (looked in it and every folder below it); the ` +
        `${plural(vanished.length, 'file')} indexed as the ${root} before ${vanished.length === 1 ? 'is' : 'are'} kept`,
    );
  }
  await forgetFiles(db, root, vanished);
  // what the walk passed over is listed afresh on every run (after forgetting: a file may have become a link)
  await replaceWalkErrors(
    db,
    root,
    problems.map((p) => ({ path: p.path, message: p.reason })),
  );
  const report: RootReport = {
    root,
    dir,
    files: entries.length,
    unchanged: entries.length - todo.length,
    ok: 0,
    duplicate: 0,
    skipped: 0,
    failed: 0,
    vanished: vanished.length,
    passedOver: problems.length,
    warned: 0,
    jpegs,
  };
  let pending: Outcome[] = [];
  let writing = Promise.resolve();
  let done = 0;
  const flush = (): Promise<void> => {
    const batch = pending;
    pending = [];
    writing = writing.then(() => (batch.length ? writeBatch(db, root, dir, batch) : undefined));
    return writing;
  };
  onProgress({ stage: root, done: 0, total: todo.length });
  await pool(
    todo,
    opts.concurrency,
    (e) => processFile(dir, e, workspace),
    async (o) => {
      pending.push(o);
      if (o.kind === 'photo') {
        report.ok++;
        if (warningOf(o)) report.warned++;
      } else if (o.kind === 'skipped') report.skipped++;
      else report.failed++;
      onProgress({ stage: root, done: ++done, total: todo.length, detail: o.entry.path });
      // the writer runs behind the decoders; waiting on it here keeps memory bounded
      if (pending.length >= opts.batchSize) await flush();
    },
  );
  await flush();
  if (root === 'originals') report.duplicate = await markDuplicates(db);
  return report;
}

/**
 * The archive folders of the options, checked before anything is opened or written: each must exist, they must be
 * separate, and the database file (when it is a file) lies outside them.
 */
export function ingestRoots(options: IngestOptions, dbFile: string): Array<[Root, string]> {
  const roots: Array<[Root, string]> = [];
  for (const root of ['originals', 'keepers', 'inbox'] as const) {
    const dir = options[root];
    if (dir !== undefined) roots.push([root, checkDir(`--${root}`, dir)]);
  }
  if (roots.length === 0) {
    throw new FluxError('ingest: expected at least one of --originals, --keepers, --inbox, received none');
  }
  // the trees are separate: one inside another would index the same files twice, as photos and as keepers
  for (const [a, da] of roots) {
    for (const [b, db] of roots) {
      if (a !== b && isInside(realPath(da), realPath(db))) {
        const how = realPath(da) === realPath(db) ? 'is the same folder as' : 'lies inside';
        throw new FluxError(
          `--${a}: ${da} ${how} --${b} ${db}; ` + 'the originals, keepers and inbox must be separate folders',
        );
      }
    }
  }
  const archives = Object.fromEntries(roots.map(([r, d]) => [`--${r}`, d]));
  if (dbFile !== ':memory:') assertOutsideArchive('--db', resolve(dbFile), archives);
  if (options.workspace !== undefined) assertOutsideArchive('--workspace', options.workspace, archives);
  return roots;
}

/**
 * The options of a run, checked before the database is opened (a wrong one leaves no new database file behind): the
 * archive folders (see {@link ingestRoots}), the files in flight and the files per transaction.
 */
export function ingestSettings(
  options: IngestOptions,
  dbFile: string,
): { roots: Array<[Root, string]>; concurrency: number; batchSize: number } {
  // a workspace under a file could never be made
  const above = options.workspace === undefined ? null : fileInTheWay(options.workspace);
  if (above) {
    const ws = resolve(options.workspace as string);
    throw new FluxError(`--workspace: ${above === ws ? ws : `${above}, on the way to ${ws},`} is a file, not a folder`);
  }
  return {
    roots: ingestRoots(options, dbFile),
    concurrency: checkInt('--concurrency', options.concurrency ?? availableParallelism() + 1, 1, 64),
    batchSize: checkInt('batchSize', options.batchSize ?? 64, 1, 100_000),
  };
}

/**
 * The workspace, checked against the folders: a database indexed before keeps its workspace unless another is asked
 * for, and its trees stay apart from the ones given now (a keepers folder inside the originals given on an earlier
 * run is refused too); no tree lies inside (or around) the folders the workbench writes in its workspace.
 */
async function checkedWorkspace(db: Db, roots: Array<[Root, string]>, options: IngestOptions): Promise<string> {
  const workspace = options.workspace !== undefined ? resolve(options.workspace) : await workspaceOf(db);
  const before = await archiveRoots(db);
  // one archive per database: its photos' paths are read against the folder it indexed (the inbox may change)
  for (const [root, dir] of roots) {
    const was = before[root];
    if (root !== 'inbox' && was !== undefined && realPath(was) !== realPath(dir)) {
      throw new FluxError(
        `--${root}: this database indexed the ${root} at ${was}, not ${dir}; a database holds one archive: ` +
          `give another --db for another archive`,
      );
    }
  }
  for (const [a, da] of roots) {
    for (const [b, dbDir] of Object.entries(before)) {
      if (a !== b && (isInside(realPath(da), realPath(dbDir)) || isInside(realPath(dbDir), realPath(da)))) {
        throw new FluxError(
          `--${a}: ${da} overlaps the ${b} folder ${dbDir} this database indexed before; ` +
            'the originals, keepers and inbox must be separate folders',
        );
      }
    }
  }
  const archives = Object.fromEntries(roots.map(([r, d]) => [`--${r}`, d]));
  assertOutsideArchive('--workspace', workspace, { ...archives, ...before });
  for (const [a, da] of roots) {
    for (const own of WORKSPACE_FOLDERS.map((f) => join(workspace, f))) {
      if (isInside(realPath(da), realPath(own)) || isInside(realPath(own), realPath(da))) {
        const how =
          realPath(da) === realPath(own) ? 'is' : isInside(realPath(da), realPath(own)) ? 'lies inside' : 'holds';
        throw new FluxError(
          `--${a}: ${da} ${how} the workspace folder ${own}, where the workbench writes its ` +
            `${basename(own)}; choose a folder outside the workspace's own folders`,
        );
      }
    }
  }
  return workspace;
}

/**
 * Indexes the given roots into an open database. Unchanged files (same size and mtime) are skipped. The database
 * stays open; the caller closes it.
 */
export async function ingest(db: Db, options: IngestOptions): Promise<IngestReport> {
  const t0 = performance.now();
  const { roots, ...opts } = ingestSettings(options, db.file);
  const onProgress = throttle(options.onProgress);
  await ensureSchema(db);
  const workspace = await checkedWorkspace(db, roots, options);
  const reports: RootReport[] = [];
  for (const [root, dir] of roots) reports.push(await ingestRoot(db, root, dir, workspace, opts, onProgress));
  // relative to the database's folder when inside it, so the database and its workspace can be moved together
  const dbDir = dirname(db.file);
  makeDir('--workspace', workspace);
  await setMeta(db, 'workspace', isInside(workspace, dbDir) ? relative(dbDir, workspace) || '.' : workspace);
  for (const [root, dir] of roots) await setMeta(db, `root.${root}`, dir);
  const problems = await ingestProblems(
    db,
    roots.map(([root]) => root),
  );
  return { db: db.file, workspace, roots: reports, problems, seconds: (performance.now() - t0) / 1000 };
}

/** Options of `ingestMetadata`. */
export interface MetadataIngestOptions {
  /** A folder written by `flux sample --metadata-only` (the folder or its `metadata/` subfolder). */
  dir: string;
  onProgress?: OnProgress;
}

/** What `ingestMetadata` loaded. */
export interface MetadataIngestReport {
  db: string;
  photos: number;
  keeperFiles: number;
  seconds: number;
}

/**
 * The folder of a metadata-only sample's Parquet files (the folder given or its `metadata/` subfolder), checked
 * before the database is opened.
 */
export function metadataDir(given: string): string {
  let dir = checkDir('--from-metadata', given);
  if (!existsSync(join(dir, 'photos.parquet')) && existsSync(join(dir, 'metadata', 'photos.parquet'))) {
    dir = join(dir, 'metadata');
  }
  for (const f of ['photos.parquet', 'keeper_files.parquet']) {
    if (!existsSync(join(dir, f))) {
      throw new FluxError(
        `--from-metadata: ${join(dir, f)} not found; ` + 'write it with flux sample --metadata-only --out DIR',
      );
    }
  }
  return dir;
}

/**
 * Builds the index from a metadata-only sample: the same tables as a real ingest, with no files behind them
 * (there are no previews). Existing photo and keeper rows are replaced.
 */
export async function ingestMetadata(db: Db, options: MetadataIngestOptions): Promise<MetadataIngestReport> {
  const t0 = performance.now();
  const dir = metadataDir(options.dir);
  await ensureSchema(db);
  options.onProgress?.({ stage: 'metadata', done: 0, total: 2 });
  await loadMetadataRows(db, dir, (done) => options.onProgress?.({ stage: 'metadata', done, total: 2 }));
  options.onProgress?.({ stage: 'metadata', done: 2, total: 2 });
  return { db: db.file, ...(await corpusCounts(db)), seconds: (performance.now() - t0) / 1000 };
}
