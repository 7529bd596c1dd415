/**
 * The corpus tables: what ingest found under the archive folders (originals, keepers, inbox), the ledger of every
 * file it saw, and what could not be indexed. Their DDL, and the writes and lookups ingest and the metadata sample
 * need; later stages add columns (matching, scores), these stay.
 */
import { join } from 'node:path';
import { lit, type Db } from './duckdb.js';
import {
  col,
  columnNames,
  createTables,
  inList,
  valuesOf,
  type ColumnSpec,
  type TableSpec,
  type Values,
} from './table.js';

/** The three folder trees the workbench reads. */
export type Root = 'originals' | 'keepers' | 'inbox';

// ---- the columns the three photo tables share, each described once

/** The file a row was read from. */
const FILE_COLUMNS = (root: string): ColumnSpec[] => [
  col('path', 'VARCHAR NOT NULL', `relative to the ${root} root, '/' separated`),
  col('sha256', 'VARCHAR NOT NULL', 'SHA-256 of the file bytes'),
  col('bytes', 'BIGINT NOT NULL'),
  col('mtime', 'TIMESTAMP', 'file modification time'),
];
const CAPTURED_AT = col('captured_at', 'TIMESTAMP', 'camera-local DateTimeOriginal with sub-seconds');
const UTC_OFFSET = col('utc_offset', 'VARCHAR', 'OffsetTimeOriginal, when present');
const ORIGINAL_FILENAME = col('original_filename', 'VARCHAR', 'the camera file name, e.g. R0001234.JPG');
/** The camera body, from EXIF. */
const CAMERA = [col('make', 'VARCHAR'), col('model', 'VARCHAR')];
/** The exposure settings, from EXIF. */
const SETTINGS = [
  col('focal_length', 'DOUBLE', 'millimetres'),
  col('exposure_time', 'DOUBLE', 'seconds'),
  col('f_number', 'DOUBLE'),
  col('iso', 'INTEGER'),
];
/** The stored picture's size and EXIF orientation. */
const PIXELS = [
  col('width', 'INTEGER', 'stored pixel size, before EXIF orientation'),
  col('height', 'INTEGER'),
  col('orientation', 'SMALLINT', 'EXIF orientation (1 upright, 6 and 8 turned)'),
];
const GPS = [col('gps_lat', 'DOUBLE'), col('gps_lon', 'DOUBLE')];
const PREVIEW = col('preview', 'VARCHAR', 'preview cache file, relative to the workspace');

/**
 * The EXIF-derived columns, each once, with the ingest field that fills it. A table takes the ones it has; ingest
 * builds one set of values per photo from this list.
 */
export const EXIF_COLUMNS: ReadonlyArray<readonly [column: string, field: string]> = [
  ['captured_at', 'capturedAt'],
  ['utc_offset', 'utcOffset'],
  ['make', 'make'],
  ['model', 'model'],
  ['focal_length', 'focalLength'],
  ['exposure_time', 'exposureTime'],
  ['f_number', 'fNumber'],
  ['iso', 'iso'],
  ['orientation', 'orientation'],
  ['gps_lat', 'gpsLat'],
  ['gps_lon', 'gpsLon'],
];

// ---- the tables

const META: TableSpec = {
  name: 'meta',
  note: 'settings of the database: schema version, workspace, archive roots, models used',
  columns: [col('key', 'VARCHAR PRIMARY KEY'), col('value', 'VARCHAR')],
};

const FILES: TableSpec = {
  name: 'files',
  note: 'every file seen under a root, with what became of it: the resume and skip ledger',
  columns: [
    col('root', 'VARCHAR NOT NULL', 'originals | keepers | inbox'),
    col('path', 'VARCHAR NOT NULL', "relative to the root, '/' separated"),
    col('bytes', 'BIGINT NOT NULL'),
    col('mtime_ms', 'DOUBLE NOT NULL'),
    col('sha256', 'VARCHAR'),
    col('status', 'VARCHAR NOT NULL', 'ok | duplicate | skipped | failed'),
    col('reason', 'VARCHAR'),
  ],
  key: ['root', 'path'],
};

/** The photos of the originals archive, one row per distinct content. */
export const PHOTOS: TableSpec = {
  name: 'photos',
  note: 'the originals: one row per distinct photo (identical copies are in corpus_duplicates)',
  columns: [
    col('photo_id', 'BIGINT PRIMARY KEY', 'from the SHA-256 of the bytes: stable across runs and machines'),
    ...FILE_COLUMNS('originals'),
    CAPTURED_AT,
    UTC_OFFSET,
    ORIGINAL_FILENAME,
    col('session_date', 'DATE', 'the walk: the capture day, else the day folder'),
    ...CAMERA,
    ...SETTINGS,
    ...PIXELS,
    ...GPS,
    col('keeper', 'BOOLEAN DEFAULT false', 'a keeper file was matched to this photo'),
    col('keeper_score', 'DOUBLE'),
    col('keeper_edited', 'BOOLEAN DEFAULT false'),
    PREVIEW,
  ],
};

const CORPUS_DUPLICATES: TableSpec = {
  name: 'corpus_duplicates',
  note: 'other copies of identical bytes in the originals',
  columns: [
    col('path', 'VARCHAR PRIMARY KEY'),
    col('sha256', 'VARCHAR NOT NULL'),
    col('photo_id', 'BIGINT NOT NULL', 'the copy that was kept'),
  ],
};

/** The photographer's keeper files (exported edits, copies), one row per file. */
export const KEEPER_FILES: TableSpec = {
  name: 'keeper_files',
  note: 'the keepers: one row per file in the keepers tree',
  columns: [
    col('keeper_id', 'BIGINT PRIMARY KEY', 'from the relative path and the content: stable across runs'),
    ...FILE_COLUMNS('keepers'),
    CAPTURED_AT,
    UTC_OFFSET,
    col('original_filename', 'VARCHAR', 'from the canonical name, else from the base name'),
    ...CAMERA,
    ...PIXELS,
    col('has_exif', 'BOOLEAN'),
    col('name_canonical', 'BOOLEAN', 'the name parsed as YYYY-MM-DD_HH-MM-SS_Name_R0001234.JPG'),
    col('name_captured_at', 'TIMESTAMP'),
    col('name_author', 'VARCHAR'),
    col('folder_date', 'DATE'),
    PREVIEW,
  ],
};

/** New photos not in the archive yet. */
export const INBOX_PHOTOS: TableSpec = {
  name: 'inbox_photos',
  note: 'the inbox: new photos to score, one row per file and content',
  columns: [
    col('inbox_id', 'BIGINT PRIMARY KEY', 'from the path and the content: a reused name is a new photo'),
    ...FILE_COLUMNS('inbox'),
    CAPTURED_AT,
    ORIGINAL_FILENAME,
    ...CAMERA,
    ...SETTINGS,
    ...PIXELS,
    PREVIEW,
  ],
};

const INGEST_ERRORS: TableSpec = {
  name: 'ingest_errors',
  note: 'files that could not be indexed, and why',
  columns: [
    col('root', 'VARCHAR NOT NULL'),
    col('path', 'VARCHAR NOT NULL'),
    col('stage', 'VARCHAR NOT NULL', 'walk | scan | read | decode'),
    col('message', 'VARCHAR NOT NULL'),
  ],
  key: ['root', 'path'],
};

const INGEST_WARNINGS: TableSpec = {
  name: 'ingest_warnings',
  note: 'photos indexed with something the photographer should know (image data decoded only past damage)',
  columns: [col('root', 'VARCHAR NOT NULL'), col('path', 'VARCHAR NOT NULL'), col('message', 'VARCHAR NOT NULL')],
  key: ['root', 'path'],
};

/** The corpus tables, in the order they are made. */
export const CORPUS_TABLES: readonly TableSpec[] = [
  META,
  FILES,
  PHOTOS,
  CORPUS_DUPLICATES,
  KEEPER_FILES,
  INBOX_PHOTOS,
  INGEST_ERRORS,
  INGEST_WARNINGS,
];

/** Creates the corpus tables that do not exist yet. */
export async function ensureCorpusSchema(db: Db): Promise<void> {
  await createTables(db, CORPUS_TABLES);
}

/** The columns of `photos`, in order (the metadata-only sample writes exactly these). */
export const PHOTO_COLUMNS: readonly string[] = columnNames(PHOTOS);
/** The columns of `keeper_files`, in order. */
export const KEEPER_COLUMNS: readonly string[] = columnNames(KEEPER_FILES);
/** The photo columns ingest writes (the keeper flags keep their defaults). */
const PHOTO_INGEST_COLUMNS = PHOTO_COLUMNS.filter((c) => !['keeper', 'keeper_score', 'keeper_edited'].includes(c));

// ---- meta

/** Creates the `meta` table when it is not there (ensureSchema makes it first, to record the schema version). */
export async function ensureMetaTable(db: Db): Promise<void> {
  await createTables(db, [META]);
}

/** Sets one `meta` entry. */
export async function setMeta(db: Db, key: string, value: string): Promise<void> {
  await db.run('INSERT OR REPLACE INTO meta VALUES (?, ?)', [key, value]);
}

// ---- the ledger and what could not be indexed

/** A `files` row: what became of one file. */
export interface LedgerEntry {
  path: string;
  bytes: number;
  mtime_ms: number;
  sha256: string | null;
  status: 'ok' | 'duplicate' | 'skipped' | 'failed';
  reason: string | null;
}

/** What the ledger says of a root's files. */
export async function ledger(db: Db, root: Root): Promise<Map<string, LedgerEntry>> {
  const rows = await db.all<LedgerEntry>(
    'SELECT path, bytes, mtime_ms, sha256, status, reason FROM files WHERE root = ?',
    [root],
  );
  return new Map(rows.map((r) => [r.path, r]));
}

/** Records what became of files (the ledger row is what makes a file count as done). */
export async function writeLedger(db: Db, root: Root, entries: readonly LedgerEntry[]): Promise<void> {
  await db.insert(
    'files',
    ['root', 'path', 'bytes', 'mtime_ms', 'sha256', 'status', 'reason'],
    entries.map((e) => [root, e.path, e.bytes, e.mtime_ms, e.sha256, e.status, e.reason]),
    'INSERT OR REPLACE',
  );
}

/** A file that could not be indexed. */
export interface IngestError {
  path: string;
  stage: string;
  message: string;
}

/** Records files that could not be indexed. */
export async function writeIngestErrors(db: Db, root: Root, errors: readonly IngestError[]): Promise<void> {
  await db.insert(
    'ingest_errors',
    ['root', 'path', 'stage', 'message'],
    errors.map((e) => [root, e.path, e.stage, e.message]),
    'INSERT OR REPLACE',
  );
}

/** Replaces what the folder walk of a root passed over (listed afresh on every run). */
export async function replaceWalkErrors(
  db: Db,
  root: Root,
  errors: ReadonlyArray<Omit<IngestError, 'stage'>>,
): Promise<void> {
  await db.transaction(async () => {
    await db.run(`DELETE FROM ingest_errors WHERE root = ? AND stage = 'walk'`, [root]);
    await writeIngestErrors(
      db,
      root,
      errors.map((e) => ({ ...e, stage: 'walk' })),
    );
  });
}

/** Records photos indexed with a warning. */
export async function writeIngestWarnings(
  db: Db,
  root: Root,
  warnings: ReadonlyArray<{ path: string; message: string }>,
): Promise<void> {
  await db.insert(
    'ingest_warnings',
    ['root', 'path', 'message'],
    warnings.map((w) => [root, w.path, w.message]),
  );
}

/** Drops the errors and warnings of files about to be read again. */
export async function clearFileProblems(db: Db, root: Root, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  await db.run(`DELETE FROM ingest_errors WHERE root = ? AND path IN (${inList(paths.length)})`, [root, ...paths]);
  await db.run(`DELETE FROM ingest_warnings WHERE root = ? AND path IN (${inList(paths.length)})`, [root, ...paths]);
}

/** The table each root's photos are in. */
const PHOTO_TABLE: Record<Root, string> = { originals: 'photos', keepers: 'keeper_files', inbox: 'inbox_photos' };

/** Drops what the index says about files gone from a root; photo rows of the originals (and their labels) stay. */
export async function forgetFiles(db: Db, root: Root, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  await db.transaction(async () => {
    for (let i = 0; i < paths.length; i += 500) {
      const part = paths.slice(i, i + 500);
      const list = inList(part.length);
      await db.run(`DELETE FROM files WHERE root = ? AND path IN (${list})`, [root, ...part]);
      await clearFileProblems(db, root, part);
      const table = root === 'originals' ? 'corpus_duplicates' : PHOTO_TABLE[root];
      await db.run(`DELETE FROM ${table} WHERE path IN (${list})`, part);
    }
  });
}

/** One problem of the index, for `flux errors` and ingest's report. */
export interface FileProblem {
  /** error: not indexed (ingest_errors); warning: indexed past damage (ingest_warnings); embed: not embedded. */
  kind: 'error' | 'warning' | 'embed';
  root: string;
  path: string;
  stage: string;
  message: string;
}

/** The files ingest could not index (errors) and the photos indexed with a warning, by root and path. */
export async function ingestProblems(db: Db, roots?: readonly Root[]): Promise<FileProblem[]> {
  const where = roots ? `WHERE root IN (${inList(roots.length)})` : '';
  return db.all<FileProblem>(
    `SELECT * FROM (
      SELECT 'error' AS kind, root, path, stage, message FROM ingest_errors
      UNION ALL SELECT 'warning', root, path, 'damaged', message FROM ingest_warnings) ${where}
    ORDER BY kind, CASE root WHEN 'originals' THEN 0 WHEN 'keepers' THEN 1 ELSE 2 END, path`,
    roots ? [...roots] : [],
  );
}

// ---- photo rows

/** Values for a `photos` row, by column (the keeper flags are left to their defaults). */
export type PhotoValues = Values;

/** The stored copy of some photos, by id. */
export async function photosById(
  db: Db,
  ids: readonly number[],
): Promise<Map<number, { path: string; sha256: string }>> {
  if (ids.length === 0) return new Map();
  const rows = await db.all<{ photo_id: number; path: string; sha256: string }>(
    `SELECT photo_id, path, sha256 FROM photos WHERE photo_id IN (${inList(ids.length)})`,
    [...ids],
  );
  return new Map(rows.map((r) => [r.photo_id, r]));
}

/** Inserts new photo rows. */
export async function insertPhotos(db: Db, rows: readonly PhotoValues[]): Promise<void> {
  await db.insert('photos', PHOTO_INGEST_COLUMNS, valuesOf(PHOTO_INGEST_COLUMNS, rows));
}

/** Moves a photo row to another copy of the same bytes (its file columns follow; its labels stay). */
export async function movePhoto(db: Db, id: number, to: PhotoValues): Promise<void> {
  await db.run('UPDATE photos SET path = ?, mtime = ?, original_filename = ?, session_date = ? WHERE photo_id = ?', [
    to.path ?? null,
    to.mtime ?? null,
    to.original_filename ?? null,
    to.session_date ?? null,
    id,
  ]);
}

/** Drops what re-read paths of the originals said about duplicates. */
export async function dropDuplicates(db: Db, paths: readonly string[]): Promise<void> {
  if (paths.length) await db.run(`DELETE FROM corpus_duplicates WHERE path IN (${inList(paths.length)})`, [...paths]);
}

/** Records other copies of stored photos. */
export async function writeDuplicates(
  db: Db,
  rows: ReadonlyArray<{ path: string; sha256: string; photo_id: number }>,
): Promise<void> {
  await db.insert(
    'corpus_duplicates',
    ['path', 'sha256', 'photo_id'],
    rows.map((r) => [r.path, r.sha256, r.photo_id]),
    'INSERT OR REPLACE',
  );
}

/** Marks the ledger rows of the originals that are duplicates (and only those); returns how many there are. */
export async function markDuplicates(db: Db): Promise<number> {
  const n = Number(await db.value('SELECT count(*) FROM corpus_duplicates'));
  await db.run(`UPDATE files SET status = 'duplicate' WHERE root = 'originals'
    AND path IN (SELECT path FROM corpus_duplicates)`);
  await db.run(`UPDATE files SET status = 'ok' WHERE root = 'originals' AND status = 'duplicate'
    AND path NOT IN (SELECT path FROM corpus_duplicates)`);
  return n;
}

/** Replaces the rows of the keeper or inbox files read again. */
export async function replaceFileRows(
  db: Db,
  root: 'keepers' | 'inbox',
  paths: readonly string[],
  rows: readonly Values[],
): Promise<void> {
  const table = PHOTO_TABLE[root];
  if (paths.length) await db.run(`DELETE FROM ${table} WHERE path IN (${inList(paths.length)})`, [...paths]);
  const columns = columnNames(root === 'keepers' ? KEEPER_FILES : INBOX_PHOTOS);
  await db.insert(table, columns, valuesOf(columns, rows));
}

// ---- the metadata-only sample

/**
 * Replaces the photo and keeper rows with those of a metadata-only sample folder (photos.parquet,
 * keeper_files.parquet).
 */
export async function loadMetadataRows(db: Db, dir: string, onStep: (done: number) => void): Promise<void> {
  await db.transaction(async () => {
    await db.run('DELETE FROM photos');
    await db.run(`INSERT INTO photos BY NAME SELECT * FROM read_parquet(${lit(join(dir, 'photos.parquet'))})`);
    onStep(1);
    await db.run('DELETE FROM keeper_files');
    await db.run(`INSERT INTO keeper_files BY NAME
      SELECT * FROM read_parquet(${lit(join(dir, 'keeper_files.parquet'))})`);
    await setMeta(db, 'source', `metadata:${dir}`);
  });
}

/** How many photo and keeper rows the index holds. */
export async function corpusCounts(db: Db): Promise<{ photos: number; keeperFiles: number }> {
  return {
    photos: Number(await db.value('SELECT count(*) FROM photos')),
    keeperFiles: Number(await db.value('SELECT count(*) FROM keeper_files')),
  };
}
