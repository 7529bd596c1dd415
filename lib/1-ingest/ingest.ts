/**
 * Ingest: index the originals, the keepers and an inbox into DuckDB. Each file is read exactly once; that one
 * buffer feeds SHA-256, EXIF and a shrink-on-load decode into the preview cache. Rows land in transactions of a
 * batch, after their previews, so a killed run resumes with no half-written and no lost rows.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, extname, join, basename, relative, resolve } from 'node:path';
import { Db, lit, type SqlValue } from '../db/duckdb.js';
import { archiveRoots, ensureSchema, workspaceOf } from '../db/schema.js';
import { checkInt, FluxError } from '../util/check.js';
import { assertOutsideArchive, checkDir, idFromSha, isInside, realPath, sha256, walk, writeFileAtomic, type FileEntry, type WalkProblem } from '../util/fsutil.js';
import { throttle, type OnProgress } from '../util/progress.js';
import { readExif, type ExifFields } from './exif.js';
import { makePreview, notJpegReason, readSize } from './image.js';
import { folderDate, isPlainRicohName, parseCanonicalName, ricohName } from './names.js';

/** The three folder trees the workbench reads. */
export type Root = 'originals' | 'keepers' | 'inbox';

/** Options of `ingest`. */
export interface IngestOptions {
  originals?: string;
  keepers?: string;
  inbox?: string;
  /** The DuckDB file; created when missing. */
  db: string;
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
  /** Folders that could not be listed, links and special files: passed over and listed in ingest_errors (stage `walk`). */
  passedOver: number;
  /** Photos indexed past damaged image data or a damaged EXIF block, listed in ingest_warnings. */
  warned: number;
}

/** The folders the workbench writes in a workspace. */
const WORKSPACE_FOLDERS = ['previews', 'embeddings', 'reports'];

/** What `ingest` did. */
export interface IngestReport {
  db: string;
  workspace: string;
  roots: RootReport[];
  seconds: number;
}

type Outcome =
  | { kind: 'photo'; entry: FileEntry; sha: string; exif: ExifFields; width: number; height: number; preview: string; warning?: string | null }
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
    return { kind: 'failed', entry, stage: 'scan', message: `not a JPEG file (extension ${ext || 'none'}); only JPEG photos are indexed`, sha: null };
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
  try {
    // a damage warning is kept beside the preview, so a later copy of the same bytes (or the same file touched) hears it too
    const warningFile = previewFile.replace(/\.jpg$/, '.warning.txt');
    if (existsSync(previewFile)) {
      // identical bytes were decoded before: the preview is already in the cache
      const size = await readSize(buf);
      return { kind: 'photo', entry, sha, exif, preview, ...size, warning: existsSync(warningFile) ? readFileSync(warningFile, 'utf8') : null };
    }
    const out = await makePreview(buf);
    if (out.warning) writeFileAtomic(warningFile, out.warning);
    writeFileAtomic(previewFile, out.jpeg);
    return { kind: 'photo', entry, sha, exif, preview, width: out.width, height: out.height, warning: out.warning };
  } catch (err) {
    return { kind: 'failed', entry, stage: 'decode', message: decodeFailure(buf, err as Error), sha };
  }
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

const PHOTO_COLS = ['photo_id', 'path', 'sha256', 'bytes', 'mtime', 'captured_at', 'utc_offset', 'original_filename',
  'session_date', 'make', 'model', 'focal_length', 'exposure_time', 'f_number', 'iso', 'width', 'height', 'orientation',
  'gps_lat', 'gps_lon', 'preview'] as const;

function sessionDate(exif: ExifFields, path: string): string | null {
  return exif.capturedAt ? exif.capturedAt.slice(0, 10) : folderDate(path);
}

function photoRow(o: Extract<Outcome, { kind: 'photo' }>): SqlValue[] {
  const e = o.exif;
  return [idFromSha(o.sha), o.entry.path, o.sha, o.entry.bytes, ts(o.entry.mtimeMs), e.capturedAt, e.utcOffset,
    ricohName(basename(o.entry.path)) ?? basename(o.entry.path), sessionDate(e, o.entry.path), e.make, e.model,
    e.focalLength, e.exposureTime, e.fNumber, round(e.iso), o.width, o.height, e.orientation, e.gpsLat, e.gpsLon,
    o.preview];
}

const KEEPER_COLS = ['keeper_id', 'path', 'sha256', 'bytes', 'mtime', 'captured_at', 'utc_offset', 'original_filename',
  'make', 'model', 'width', 'height', 'orientation', 'has_exif', 'name_canonical', 'name_captured_at', 'name_author',
  'folder_date', 'preview'] as const;

function keeperRow(o: Extract<Outcome, { kind: 'photo' }>): SqlValue[] {
  const e = o.exif;
  const name = basename(o.entry.path);
  const canon = parseCanonicalName(name);
  return [idFromSha(sha256(`keepers:${o.entry.path}`)), o.entry.path, o.sha, o.entry.bytes, ts(o.entry.mtimeMs),
    e.capturedAt, e.utcOffset, canon?.originalFilename ?? ricohName(name), e.make, e.model, o.width, o.height,
    e.orientation, e.hasExif, canon !== null, canon?.capturedAt ?? null, canon?.author ?? null, folderDate(o.entry.path),
    o.preview];
}

const INBOX_COLS = ['inbox_id', 'path', 'sha256', 'bytes', 'mtime', 'captured_at', 'original_filename', 'make', 'model',
  'focal_length', 'exposure_time', 'f_number', 'iso', 'width', 'height', 'orientation', 'preview'] as const;

function inboxRow(o: Extract<Outcome, { kind: 'photo' }>): SqlValue[] {
  const e = o.exif;
  // the id follows the content: a new photo under a reused name (the next card) is a new photo, with its own vector
  return [idFromSha(sha256(`inbox:${o.entry.path}:${o.sha}`)), o.entry.path, o.sha, o.entry.bytes, ts(o.entry.mtimeMs),
    e.capturedAt, ricohName(basename(o.entry.path)) ?? basename(o.entry.path), e.make, e.model, e.focalLength,
    e.exposureTime, e.fNumber, round(e.iso), o.width, o.height, e.orientation, o.preview];
}

const inList = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** Upserts the originals of one batch; identical bytes share one photo row, the other copies go to corpus_duplicates. */
async function writePhotos(db: Db, photos: Extract<Outcome, { kind: 'photo' }>[]): Promise<void> {
  if (photos.length === 0) return;
  const paths = photos.map((p) => p.entry.path);
  // a re-read path may have changed content: drop what it said before
  await db.run(`DELETE FROM corpus_duplicates WHERE path IN (${inList(paths.length)})`, paths);
  const ids = [...new Set(photos.map((p) => idFromSha(p.sha)))];
  const existing = new Map((await db.all<{ photo_id: number; path: string; sha256: string }>(
    `SELECT photo_id, path, sha256 FROM photos WHERE photo_id IN (${inList(ids.length)})`, ids))
    .map((r) => [r.photo_id, r]));
  const groups = new Map<number, Extract<Outcome, { kind: 'photo' }>[]>();
  for (const p of photos) {
    const id = idFromSha(p.sha);
    groups.set(id, [...(groups.get(id) ?? []), p]);
  }
  const inserts: SqlValue[][] = [];
  const dups: SqlValue[][] = [];
  for (const [id, group] of groups) {
    const old = existing.get(id);
    let best = group[0] as Extract<Outcome, { kind: 'photo' }>;
    for (const p of group) if (preferredCopy(p.entry.path, best.entry.path) === p.entry.path) best = p;
    if (old && old.sha256 !== best.sha) throw new FluxError(`photo_id collision between ${old.path} and ${best.entry.path}`);
    if (old && preferredCopy(old.path, best.entry.path) === old.path) {
      for (const p of group) if (p.entry.path !== old.path) dups.push([p.entry.path, p.sha, id]);
      continue;
    }
    for (const p of group) if (p !== best) dups.push([p.entry.path, p.sha, id]);
    if (old) {
      // the new copy is preferred: the row moves to it and the old copy becomes a duplicate
      dups.push([old.path, old.sha256, id]);
      const row = photoRow(best);
      await db.run('UPDATE photos SET path = ?, mtime = ?, original_filename = ?, session_date = ? WHERE photo_id = ?',
        [row[1] as string, row[4] as string, row[7] as string, row[8] as string | null, id]);
    } else {
      inserts.push(photoRow(best));
    }
  }
  await db.insert('photos', PHOTO_COLS, inserts);
  await db.insert('corpus_duplicates', ['path', 'sha256', 'photo_id'], dups, 'INSERT OR REPLACE');
}

/** What is wrong with a photo that was indexed all the same: damaged image data, a damaged EXIF block, or both. */
function warningOf(p: Extract<Outcome, { kind: 'photo' }>): string | null {
  const parts: string[] = [];
  if (p.warning) parts.push(`decoded past damaged image data, the picture may be partly grey or garbled: ${p.warning}`);
  if (p.exif.exifDamage) {
    parts.push(`damaged EXIF block (${p.exif.exifDamage}): ${p.exif.hasExif ? 'indexed with the fields that could be read' : 'indexed as without EXIF (no capture time, camera or orientation)'}`);
  }
  return parts.length ? parts.join('; ') : null;
}

async function writeBatch(db: Db, root: Root, batch: Outcome[]): Promise<void> {
  await db.transaction(async () => {
    const paths = batch.map((o) => o.entry.path);
    await db.run(`DELETE FROM ingest_errors WHERE root = ? AND path IN (${inList(paths.length)})`, [root, ...paths]);
    await db.run(`DELETE FROM ingest_warnings WHERE root = ? AND path IN (${inList(paths.length)})`, [root, ...paths]);
    const photos = batch.filter((o): o is Extract<Outcome, { kind: 'photo' }> => o.kind === 'photo');
    if (root === 'originals') await writePhotos(db, photos);
    if (root === 'keepers' || root === 'inbox') {
      const [table, cols, rowOf] = root === 'keepers'
        ? ['keeper_files', KEEPER_COLS, keeperRow] as const : ['inbox_photos', INBOX_COLS, inboxRow] as const;
      await db.run(`DELETE FROM ${table} WHERE path IN (${inList(paths.length)})`, paths);
      await db.insert(table, cols, photos.map(rowOf));
    }
    await db.insert('ingest_warnings', ['root', 'path', 'message'], photos.flatMap((p) => {
      const message = warningOf(p);
      return message ? [[root, p.entry.path, message]] : [];
    }));
    const failed = batch.filter((o): o is Extract<Outcome, { kind: 'failed' }> => o.kind === 'failed');
    await db.insert('ingest_errors', ['root', 'path', 'stage', 'message'],
      failed.map((f) => [root, f.entry.path, f.stage, f.message]));
    // the ledger row is written last, in the same transaction: it is what makes a file count as done
    await db.insert('files', ['root', 'path', 'bytes', 'mtime_ms', 'sha256', 'status', 'reason'], batch.map((o) => [
      root, o.entry.path, o.entry.bytes, o.entry.mtimeMs, o.kind === 'skipped' ? null : o.sha,
      o.kind === 'photo' ? 'ok' : o.kind, o.kind === 'skipped' ? o.reason : o.kind === 'failed' ? o.message : null,
    ]), 'INSERT OR REPLACE');
  });
}

/** Drops what the index says about files that are gone from a root; photo rows (and their labels) are kept. */
async function forgetVanished(db: Db, root: Root, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  await db.transaction(async () => {
    for (let i = 0; i < paths.length; i += 500) {
      const part = paths.slice(i, i + 500);
      const list = inList(part.length);
      await db.run(`DELETE FROM files WHERE root = ? AND path IN (${list})`, [root, ...part]);
      await db.run(`DELETE FROM ingest_errors WHERE root = ? AND path IN (${list})`, [root, ...part]);
      await db.run(`DELETE FROM ingest_warnings WHERE root = ? AND path IN (${list})`, [root, ...part]);
      if (root === 'originals') await db.run(`DELETE FROM corpus_duplicates WHERE path IN (${list})`, part);
      if (root === 'keepers') await db.run(`DELETE FROM keeper_files WHERE path IN (${list})`, part);
      if (root === 'inbox') await db.run(`DELETE FROM inbox_photos WHERE path IN (${list})`, part);
    }
  });
}

/** Runs `fn` over `items` with at most `limit` in flight, calling `sink` with each result as it completes. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>, sink: (r: R) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await sink(await fn(item));
    }
  });
  await Promise.all(lanes);
}

async function ingestRoot(db: Db, root: Root, dir: string, workspace: string, opts: Required<Pick<IngestOptions, 'concurrency' | 'batchSize'>>,
  onProgress: OnProgress): Promise<RootReport> {
  const problems: WalkProblem[] = [];
  const entries = walk(dir, problems);
  const unlisted = problems.filter((p) => p.kind === 'unreadable folder').map((p) => p.path);
  const unstatted = new Set(problems.filter((p) => p.kind === 'unreadable file').map((p) => p.path));
  const known = new Map((await db.all<{ path: string; bytes: number; mtime_ms: number; status: string; reason: string | null; sha256: string | null }>(
    'SELECT path, bytes, mtime_ms, status, reason, sha256 FROM files WHERE root = ?', [root])).map((r) => [r.path, r]));
  const onDisk = new Set(entries.map((e) => e.path));
  // a file that could not be looked at this time, or is in a folder that could not be listed, is not gone
  const vanished = [...known.keys()].filter((p) => !onDisk.has(p) && !unstatted.has(p) && !unlisted.some((f) => p.startsWith(f)));
  await forgetVanished(db, root, vanished);
  // what the walk passed over is listed afresh on every run (after forgetting: a file may have become a link)
  await db.transaction(async () => {
    await db.run(`DELETE FROM ingest_errors WHERE root = ? AND stage = 'walk'`, [root]);
    await db.insert('ingest_errors', ['root', 'path', 'stage', 'message'], problems.map((p) => [root, p.path, 'walk', p.reason]), 'INSERT OR REPLACE');
  });
  const todo = entries.filter((e) => {
    const k = known.get(e.path);
    if (!k || k.bytes !== e.bytes || k.mtime_ms !== e.mtimeMs) return true;
    // a file that could not be read (permissions, a drive that went away) is tried again; a bad file is not
    if (k.status === 'failed') return (k.reason ?? '').startsWith(CANNOT_READ);
    // an indexed photo whose preview is not in the workspace (a new or emptied workspace) is read again to make it
    return (k.status === 'ok' || k.status === 'duplicate') && k.sha256 !== null && !existsSync(join(workspace, previewPath(k.sha256)));
  });
  const report: RootReport = {
    root, dir, files: entries.length, unchanged: entries.length - todo.length, ok: 0, duplicate: 0, skipped: 0, failed: 0, vanished: vanished.length, passedOver: problems.length, warned: 0,
  };
  let pending: Outcome[] = [];
  let writing = Promise.resolve();
  let done = 0;
  const flush = (): Promise<void> => {
    const batch = pending;
    pending = [];
    writing = writing.then(() => (batch.length ? writeBatch(db, root, batch) : undefined));
    return writing;
  };
  onProgress({ stage: root, done: 0, total: todo.length });
  await pool(todo, opts.concurrency, (e) => processFile(dir, e, workspace), async (o) => {
    pending.push(o);
    if (o.kind === 'photo') {
      report.ok++;
      if (warningOf(o)) report.warned++;
    }
    else if (o.kind === 'skipped') report.skipped++;
    else report.failed++;
    onProgress({ stage: root, done: ++done, total: todo.length, detail: o.entry.path });
    // the writer runs behind the decoders; waiting on it here keeps memory bounded
    if (pending.length >= opts.batchSize) await flush();
  });
  await flush();
  if (root === 'originals') {
    report.duplicate = Number(await db.value('SELECT count(*) FROM corpus_duplicates'));
    await db.run(`UPDATE files SET status = 'duplicate' WHERE root = 'originals' AND path IN (SELECT path FROM corpus_duplicates)`);
    await db.run(`UPDATE files SET status = 'ok' WHERE root = 'originals' AND status = 'duplicate' AND path NOT IN (SELECT path FROM corpus_duplicates)`);
  }
  return report;
}

/** Indexes the given roots into the database. Unchanged files (same size and mtime) are skipped. */
export async function ingest(options: IngestOptions): Promise<IngestReport> {
  const t0 = performance.now();
  const roots: Array<[Root, string]> = [];
  for (const root of ['originals', 'keepers', 'inbox'] as const) {
    const dir = options[root];
    if (dir !== undefined) roots.push([root, checkDir(`--${root}`, dir)]);
  }
  if (roots.length === 0) throw new FluxError('ingest: expected at least one of --originals, --keepers, --inbox, received none');
  // the trees are separate: one inside another would index the same files twice, as photos and as keepers
  for (const [a, da] of roots) {
    for (const [b, db] of roots) {
      if (a !== b && isInside(realPath(da), realPath(db))) {
        throw new FluxError(`--${a}: ${da} ${realPath(da) === realPath(db) ? 'is the same folder as' : 'lies inside'} --${b} ${db}; the originals, keepers and inbox must be separate folders`);
      }
    }
  }
  const archives = Object.fromEntries(roots.map(([r, d]) => [`--${r}`, d]));
  const dbFile = resolve(options.db);
  assertOutsideArchive('--db', dbFile, archives);
  if (options.workspace !== undefined) assertOutsideArchive('--workspace', options.workspace, archives);
  const opts = {
    concurrency: checkInt('--concurrency', options.concurrency ?? availableParallelism() + 1, 1, 64),
    batchSize: checkInt('batchSize', options.batchSize ?? 64, 1, 100_000),
  };
  const onProgress = throttle(options.onProgress);
  const db = await Db.open(dbFile);
  try {
    await ensureSchema(db);
    // a database indexed before keeps its workspace unless another is asked for (a new one has its own folder), and
    // its trees stay apart from the ones given now (a keepers folder inside the originals given on an earlier run is
    // refused too)
    const workspace = options.workspace !== undefined ? resolve(options.workspace) : await workspaceOf(db);
    const before = await archiveRoots(db);
    for (const [a, da] of roots) {
      for (const [b, dbDir] of Object.entries(before)) {
        if (a !== b && (isInside(realPath(da), realPath(dbDir)) || isInside(realPath(dbDir), realPath(da)))) {
          throw new FluxError(`--${a}: ${da} overlaps the ${b} folder ${dbDir} this database indexed before; the originals, keepers and inbox must be separate folders`);
        }
      }
    }
    assertOutsideArchive('--workspace', workspace, { ...archives, ...before });
    // nor inside (or around) the folders the workbench writes in its workspace: a tree there would take in its own files
    for (const [a, da] of roots) {
      for (const own of WORKSPACE_FOLDERS.map((f) => join(workspace, f))) {
        if (isInside(realPath(da), realPath(own)) || isInside(realPath(own), realPath(da))) {
          const how = realPath(da) === realPath(own) ? 'is' : isInside(realPath(da), realPath(own)) ? 'lies inside' : 'holds';
          throw new FluxError(`--${a}: ${da} ${how} the workspace folder ${own}, where the workbench writes its ${basename(own)}; choose a folder outside the workspace's own folders`);
        }
      }
    }
    const reports: RootReport[] = [];
    for (const [root, dir] of roots) reports.push(await ingestRoot(db, root, dir, workspace, opts, onProgress));
    // relative to the database's folder when inside it, so the database and its workspace can be moved together
    const rel = relative(dirname(dbFile), workspace);
    mkdirSync(workspace, { recursive: true });
    await db.run(`INSERT OR REPLACE INTO meta VALUES ('workspace', ?)`, [isInside(workspace, dirname(dbFile)) ? rel || '.' : workspace]);
    for (const [root, dir] of roots) await db.run(`INSERT OR REPLACE INTO meta VALUES (?, ?)`, [`root.${root}`, dir]);
    return { db: dbFile, workspace, roots: reports, seconds: (performance.now() - t0) / 1000 };
  } finally {
    db.close();
  }
}

/** Options of `ingestMetadata`. */
export interface MetadataIngestOptions {
  /** A folder written by `flux sample --metadata-only` (the folder or its `metadata/` subfolder). */
  dir: string;
  db: string;
  onProgress?: OnProgress;
}

/**
 * Builds the index from a metadata-only sample: the same tables as a real ingest, with no files behind them
 * (there are no previews). Existing photo and keeper rows are replaced.
 */
export async function ingestMetadata(options: MetadataIngestOptions): Promise<{ db: string; photos: number; keeperFiles: number; seconds: number }> {
  const t0 = performance.now();
  let dir = checkDir('--from-metadata', options.dir);
  if (!existsSync(join(dir, 'photos.parquet')) && existsSync(join(dir, 'metadata', 'photos.parquet'))) dir = join(dir, 'metadata');
  for (const f of ['photos.parquet', 'keeper_files.parquet']) {
    if (!existsSync(join(dir, f))) throw new FluxError(`--from-metadata: ${join(dir, f)} not found; write it with flux sample --metadata-only --out DIR`);
  }
  const db = await Db.open(options.db);
  try {
    await ensureSchema(db);
    options.onProgress?.({ stage: 'metadata', done: 0, total: 2 });
    await db.transaction(async () => {
      await db.run('DELETE FROM photos');
      await db.run(`INSERT INTO photos BY NAME SELECT * FROM read_parquet(${lit(join(dir, 'photos.parquet'))})`);
      options.onProgress?.({ stage: 'metadata', done: 1, total: 2 });
      await db.run('DELETE FROM keeper_files');
      await db.run(`INSERT INTO keeper_files BY NAME SELECT * FROM read_parquet(${lit(join(dir, 'keeper_files.parquet'))})`);
      await db.run(`INSERT OR REPLACE INTO meta VALUES ('source', ?)`, [`metadata:${dir}`]);
    });
    options.onProgress?.({ stage: 'metadata', done: 2, total: 2 });
    const photos = Number(await db.value('SELECT count(*) FROM photos'));
    const keeperFiles = Number(await db.value('SELECT count(*) FROM keeper_files'));
    return { db: db.file, photos, keeperFiles, seconds: (performance.now() - t0) / 1000 };
  } finally {
    db.close();
  }
}
