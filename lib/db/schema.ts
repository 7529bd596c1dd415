/**
 * The data contract. DuckDB is the single store; later stages add tables and columns, these names stay.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FluxError } from '../util/check.js';
import type { Db } from './duckdb.js';

/** Bumped when a table changes shape; recorded in `meta`. */
export const SCHEMA_VERSION = 1;

const TABLES = `
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);

-- every file seen under a root, with what became of it: the resume and skip ledger
CREATE TABLE IF NOT EXISTS files (
  root VARCHAR NOT NULL,            -- originals | keepers | inbox
  path VARCHAR NOT NULL,            -- relative to the root, '/' separated
  bytes BIGINT NOT NULL,
  mtime_ms DOUBLE NOT NULL,
  sha256 VARCHAR,
  status VARCHAR NOT NULL,          -- ok | duplicate | skipped | failed
  reason VARCHAR,
  PRIMARY KEY (root, path)
);

CREATE TABLE IF NOT EXISTS photos (
  photo_id BIGINT PRIMARY KEY,      -- from the SHA-256 of the bytes: stable across runs and machines
  path VARCHAR NOT NULL,            -- relative to the originals root
  sha256 VARCHAR NOT NULL,
  bytes BIGINT NOT NULL,
  mtime TIMESTAMP,
  captured_at TIMESTAMP,            -- camera-local DateTimeOriginal with sub-seconds
  utc_offset VARCHAR,               -- OffsetTimeOriginal, when present
  original_filename VARCHAR,        -- R0001234.JPG
  session_date DATE,
  make VARCHAR,
  model VARCHAR,
  focal_length DOUBLE,
  exposure_time DOUBLE,
  f_number DOUBLE,
  iso INTEGER,
  width INTEGER,                    -- stored pixel size, before EXIF orientation
  height INTEGER,
  orientation SMALLINT,
  gps_lat DOUBLE,
  gps_lon DOUBLE,
  keeper BOOLEAN DEFAULT false,
  keeper_score DOUBLE,
  keeper_edited BOOLEAN DEFAULT false,
  preview VARCHAR                   -- preview cache file, relative to the workspace
);

CREATE TABLE IF NOT EXISTS corpus_duplicates (
  path VARCHAR PRIMARY KEY,
  sha256 VARCHAR NOT NULL,
  photo_id BIGINT NOT NULL          -- the copy that was kept
);

CREATE TABLE IF NOT EXISTS keeper_files (
  keeper_id BIGINT PRIMARY KEY,     -- from the relative path: stable across runs
  path VARCHAR NOT NULL,            -- relative to the keepers root
  sha256 VARCHAR NOT NULL,
  bytes BIGINT NOT NULL,
  mtime TIMESTAMP,
  captured_at TIMESTAMP,
  utc_offset VARCHAR,
  original_filename VARCHAR,        -- from the canonical name, else from the base name
  make VARCHAR,
  model VARCHAR,
  width INTEGER,
  height INTEGER,
  orientation SMALLINT,
  has_exif BOOLEAN,
  name_canonical BOOLEAN,           -- the name parsed as YYYY-MM-DD_HH-MM-SS_Name_R0001234.JPG
  name_captured_at TIMESTAMP,
  name_author VARCHAR,
  folder_date DATE,
  preview VARCHAR
);

CREATE TABLE IF NOT EXISTS inbox_photos (
  inbox_id BIGINT PRIMARY KEY,
  path VARCHAR NOT NULL,            -- relative to the inbox root
  sha256 VARCHAR NOT NULL,
  bytes BIGINT NOT NULL,
  mtime TIMESTAMP,
  captured_at TIMESTAMP,
  original_filename VARCHAR,
  make VARCHAR,
  model VARCHAR,
  focal_length DOUBLE,
  exposure_time DOUBLE,
  f_number DOUBLE,
  iso INTEGER,
  width INTEGER,
  height INTEGER,
  orientation SMALLINT,
  preview VARCHAR
);

CREATE TABLE IF NOT EXISTS ingest_errors (
  root VARCHAR NOT NULL,
  path VARCHAR NOT NULL,
  stage VARCHAR NOT NULL,           -- walk | scan | read | decode
  message VARCHAR NOT NULL,
  PRIMARY KEY (root, path)
);

-- photos indexed with something the photographer should know (image data decoded only past damage)
CREATE TABLE IF NOT EXISTS ingest_warnings (
  root VARCHAR NOT NULL,
  path VARCHAR NOT NULL,
  message VARCHAR NOT NULL,
  PRIMARY KEY (root, path)
);
`;

/** The context features the rankers use, in order (columns of the views `photo_context` and `inbox_context`). */
export const CONTEXT_NAMES: readonly string[] = Object.freeze([
  'hour_sin', 'hour_cos', 'weekend', 'season_sin', 'season_cos', 'focal_length', 'log_exposure', 'log_iso', 'f_number',
  'log_session_frames', 'session_minutes', 'session_position',
]);

/**
 * Context features of each photo from EXIF and its session, for the rankers: time of day and season as angles,
 * weekday, camera settings on log scales, and where in its walk the frame was taken. Inbox photos have no session
 * date of their own: their walk is their capture day.
 */
function contextView(view: string, table: string, id: string, session: string): string {
  return `
CREATE OR REPLACE VIEW ${view} AS
SELECT ${id},
  hour(captured_at) + minute(captured_at) / 60.0 AS hour,
  sin(2 * pi() * (hour(captured_at) + minute(captured_at) / 60.0) / 24) AS hour_sin,
  cos(2 * pi() * (hour(captured_at) + minute(captured_at) / 60.0) / 24) AS hour_cos,
  isodow(captured_at) AS weekday,
  CASE WHEN isodow(captured_at) >= 6 THEN 1.0 WHEN captured_at IS NOT NULL THEN 0.0 END AS weekend,
  sin(2 * pi() * dayofyear(captured_at) / 365.25) AS season_sin,
  cos(2 * pi() * dayofyear(captured_at) / 365.25) AS season_cos,
  focal_length,
  ln(exposure_time) AS log_exposure,
  ln(iso) AS log_iso,
  f_number,
  -- photos without a day are no walk of their own: their walk features are missing, not one walk of them all
  CASE WHEN ${session} IS NOT NULL THEN count(*) OVER (PARTITION BY ${session}) END AS session_frames,
  CASE WHEN ${session} IS NOT NULL THEN ln(count(*) OVER (PARTITION BY ${session})) END AS log_session_frames,
  CASE WHEN ${session} IS NOT NULL THEN date_diff('second', min(captured_at) OVER (PARTITION BY ${session}), max(captured_at) OVER (PARTITION BY ${session})) / 60.0 END AS session_minutes,
  CASE WHEN ${session} IS NOT NULL THEN (row_number() OVER (PARTITION BY ${session} ORDER BY captured_at, ${id}) - 1)
    / greatest(1, count(*) OVER (PARTITION BY ${session}) - 1) END AS session_position
FROM ${table}`;
}

/** Creates the tables that do not exist yet and records the schema version. */
export async function ensureSchema(db: Db): Promise<void> {
  await db.run(TABLES);
  await db.run(contextView('photo_context', 'photos', 'photo_id', 'session_date'));
  await db.run(contextView('inbox_context', 'inbox_photos', 'inbox_id', 'CAST(captured_at AS DATE)'));
  await db.run(`INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)`, [String(SCHEMA_VERSION)]);
}

/** The archive folders ingest recorded (`originals`, `keepers`, `inbox` -> path): places the workbench never writes. */
export async function archiveRoots(db: Db): Promise<Record<string, string>> {
  const rows = await db.all<{ key: string; value: string }>(`SELECT key, value FROM meta WHERE key LIKE 'root.%'`);
  return Object.fromEntries(rows.map((r) => [r.key.slice('root.'.length), r.value]));
}

/** The workspace recorded by ingest (where the previews are), else the database's folder. */
export async function workspaceOf(db: Db): Promise<string> {
  const ws = await db.value<string>(`SELECT value FROM meta WHERE key = 'workspace'`).catch(() => null);
  if (ws === null) return dirname(db.file);
  // recorded relative to the database's folder when it lies there (the default), so the two can move together
  const abs = resolve(dirname(db.file), ws);
  if (!existsSync(abs)) {
    throw new FluxError(`${db.file}: its workspace (previews, embeddings) ${abs} is not there; was it moved? ` +
      `Move it back, or run flux ingest --db ${db.file} --workspace NEW_FOLDER with the same archive folders to rebuild the previews there`);
  }
  return abs;
}
