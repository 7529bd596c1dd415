/**
 * The metadata-only sample: realistic index rows for an archive of 400,000 photos and 15,000 keepers, with no
 * pixels, for scale tests of the database and the keeper matching. Written by DuckDB itself with hash-based
 * randomness, so it takes seconds and is the same for a seed.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Db, lit } from '../db/duckdb.js';
import { KEEPER_COLUMNS, PHOTO_COLUMNS } from '../db/corpus.js';
import { checkInt } from '../util/check.js';
import { makeDir } from '../util/fsutil.js';
import type { OnProgress } from '../util/progress.js';

export interface MetadataOptions {
  out: string;
  seed?: number;
  photos?: number;
  keepers?: number;
  onProgress?: OnProgress;
}

export interface MetadataResult {
  dir: string;
  photos: number;
  keeperFiles: number;
  seconds: number;
}

/** Frames per walk on average; the session of a row is its index divided by this. */
const FRAMES_PER_SESSION = 150;

/** A uniform value in [0, 1) from the seed, a SQL expression and a label: the same on every run. */
type Uniform = (expr: string, label: string) => string;

/** The SQL of the photos: walks of FRAMES_PER_SESSION frames over 2011-2026, two bodies, camera settings. */
function photoRowsSql(seed: number, n: number, sessions: number, u: Uniform): string {
  return `
      WITH base AS (
        SELECT i, i // ${FRAMES_PER_SESSION} AS s FROM range(${n}) t(i)
      ), t AS (
        SELECT i, s,
          DATE '2011-03-01' + CAST(s * 5700 // ${sessions} AS INTEGER) AS d,
          7 + CAST(${u('s', 'hour')} * 12 AS INTEGER) AS h,
          ${u('s', 'body')} < 0.7 AS gr3
        FROM base
      )
      SELECT
        ('0x' || substr(sha256('photo:${seed}:' || i), 1, 13))::BIGINT AS photo_id,
        strftime(d, '%Y/%Y-%m/%Y-%m-%d/') || printf('R%07d.JPG', (i % 9999) + 1) AS path,
        sha256('photo:${seed}:' || i) AS sha256,
        CAST(8000000 + ${u('i', 'bytes')} * 5000000 AS BIGINT) AS bytes,
        CAST(d AS TIMESTAMP)
          + to_seconds(h * 3600 + (i % ${FRAMES_PER_SESSION}) * 40 + CAST(${u('i', 'sec')} * 39 AS INTEGER))
          + to_microseconds(CAST(${u('i', 'sub')} * 100 AS INTEGER) * 10000) AS captured_at,
        CASE WHEN month(d) BETWEEN 4 AND 10 THEN '+02:00' ELSE '+01:00' END AS utc_offset,
        printf('R%07d.JPG', (i % 9999) + 1) AS original_filename,
        d AS session_date,
        'RICOH IMAGING COMPANY, LTD.' AS make,
        CASE WHEN gr3 THEN 'RICOH GR III' ELSE 'RICOH GR IIIx' END AS model,
        CASE WHEN gr3 THEN 18.3 ELSE 26.1 END AS focal_length,
        1.0 / (60 * pow(2, CAST(${u('i', 'exp')} * 6 AS INTEGER))) AS exposure_time,
        [2.8, 4.0, 5.6, 8.0, 11.0][1 + CAST(${u('i', 'f')} * 5 AS INTEGER)] AS f_number,
        CAST(100 * pow(2, CAST(${u('i', 'iso')} * 6 AS INTEGER)) AS INTEGER) AS iso,
        6000 AS width, 4000 AS height,
        CAST(CASE WHEN ${u('i', 'rot')} < 0.05 THEN 6 ELSE 1 END AS SMALLINT) AS orientation,
        CAST(NULL AS DOUBLE) AS gps_lat, CAST(NULL AS DOUBLE) AS gps_lon,
        false AS keeper, CAST(NULL AS DOUBLE) AS keeper_score, false AS keeper_edited, CAST(NULL AS VARCHAR) AS preview,
        i, s,
        ${u('i', 'keep')} * 0.6 + ${u('s', 'rich')} * 0.4 AS latent
      FROM t`;
}

/** The SQL of the keeper files: the best photos by a latent taste, each of one kind (EXIF, copy, stripped, ...). */
function keeperRowsSql(seed: number, k: number, u: Uniform): string {
  return `
      WITH chosen AS (
        SELECT *, ${u('i', 'kind')} AS r FROM p ORDER BY latent DESC LIMIT ${k}
      ), kinds AS (
        SELECT *, CASE WHEN r < 0.60 THEN 'exif' WHEN r < 0.72 THEN 'copy' WHEN r < 0.84 THEN 'stripped'
          WHEN r < 0.92 THEN 'shifted' WHEN r < 0.97 THEN 'stripped-renamed' ELSE 'orphan' END AS kind FROM chosen
      ), timed AS (
        SELECT *,
          CASE WHEN kind = 'shifted' THEN captured_at + INTERVAL 1 HOUR
               WHEN kind = 'orphan' THEN captured_at - INTERVAL 400 DAY ELSE captured_at END AS t FROM kinds
      )
      SELECT
        ('0x' || substr(sha256('keeper:${seed}:' || i), 1, 13))::BIGINT AS keeper_id,
        strftime(t, '%Y/%Y-%m/%Y-%m-%d/') || CASE
          WHEN kind = 'stripped-renamed' THEN strftime(t, '%Y-%m-%d') || '_DanteSisofo_print-' || i || '.jpg'
          ELSE strftime(t, '%Y-%m-%d_%H-%M-%S') || '_DanteSisofo_' || original_filename END AS path,
        CASE WHEN kind = 'copy' THEN sha256 ELSE sha256('keeper:${seed}:' || i) END AS sha256,
        bytes, t AS mtime,
        CASE WHEN kind IN ('stripped', 'stripped-renamed') THEN NULL ELSE t END AS captured_at,
        CASE WHEN kind IN ('stripped', 'stripped-renamed') THEN NULL ELSE utc_offset END AS utc_offset,
        CASE WHEN kind = 'stripped-renamed' THEN NULL ELSE original_filename END AS original_filename,
        CASE WHEN kind IN ('stripped', 'stripped-renamed') THEN NULL ELSE make END AS make,
        CASE WHEN kind IN ('stripped', 'stripped-renamed') THEN NULL ELSE model END AS model,
        width, height, orientation,
        kind NOT IN ('stripped', 'stripped-renamed') AS has_exif,
        kind <> 'stripped-renamed' AS name_canonical,
        CASE WHEN kind = 'stripped-renamed' THEN NULL ELSE date_trunc('second', t) END AS name_captured_at,
        CASE WHEN kind = 'stripped-renamed' THEN NULL ELSE 'DanteSisofo' END AS name_author,
        CAST(t AS DATE) AS folder_date, CAST(NULL AS VARCHAR) AS preview,
        CASE WHEN kind = 'orphan' THEN NULL ELSE photo_id END AS true_photo_id, kind, photo_id AS source_photo_id
      FROM timed`;
}

/**
 * Writes `photos.parquet`, `keeper_files.parquet` (both in the data-contract columns) and `keeper_truth.parquet`
 * (keeper path, true photo_id or null, kind) to `<out>/metadata/`.
 */
export async function generateMetadata(options: MetadataOptions): Promise<MetadataResult> {
  const t0 = performance.now();
  const seed = checkInt('--seed', options.seed ?? 7, 0, 0xffffffff);
  const n = checkInt('--photos', options.photos ?? 400_000, 100, 50_000_000);
  const k = checkInt('--keepers', options.keepers ?? 15_000, 1, Math.floor(n / 2));
  const dir = join(resolve(options.out), 'metadata');
  makeDir('--out', dir);
  const sessions = Math.ceil(n / FRAMES_PER_SESSION);
  const u = (expr: string, label: string): string => `(hash(${seed}, ${expr}, '${label}') % 1000000) / 1000000.0`;
  const progress = (done: number): void => options.onProgress?.({ stage: 'metadata', done, total: 4 });
  const db = await Db.open(':memory:');
  try {
    progress(0);
    await db.tempTable('p', photoRowsSql(seed, n, sessions, u));
    progress(1);
    await db.tempTable('k', keeperRowsSql(seed, k, u));
    progress(2);
    await writeParquet(db, dir, () => progress(3));
    const photos = Number(await db.value(`SELECT count(*) FROM read_parquet(${lit(join(dir, 'photos.parquet'))})`));
    const keeperFiles = Number(await db.value('SELECT count(*) FROM k'));
    writeFileSync(
      join(dir, 'metadata.json'),
      JSON.stringify(
        { kind: 'flux-metadata-sample', seed, photos: n, keepers: k, framesPerSession: FRAMES_PER_SESSION },
        null,
        1,
      ),
    );
    progress(4);
    return { dir, photos, keeperFiles, seconds: (performance.now() - t0) / 1000 };
  } finally {
    db.close();
  }
}

/** Writes the scratch tables `p` (photos) and `k` (keeper files) as the index's Parquet files, and the truth. */
async function writeParquet(db: Db, dir: string, onPhotos: () => void): Promise<void> {
  // the columns of the index's tables, in their order; a photo's file time is its capture time
  const photoCols = PHOTO_COLUMNS.map((c) => (c === 'mtime' ? 'captured_at AS mtime' : c)).join(', ');
  // orphans have no original: their frames are dropped from the corpus
  await db.run(`COPY (SELECT ${photoCols} FROM p
    WHERE photo_id NOT IN (SELECT source_photo_id FROM k WHERE kind = 'orphan')
    ORDER BY i) TO ${lit(join(dir, 'photos.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
  onPhotos();
  await db.run(`COPY (SELECT ${KEEPER_COLUMNS.join(', ')} FROM k ORDER BY path)
    TO ${lit(join(dir, 'keeper_files.parquet'))} (FORMAT parquet, COMPRESSION zstd)`);
  await db.run(`COPY (SELECT path, true_photo_id, kind FROM k ORDER BY path)
    TO ${lit(join(dir, 'keeper_truth.parquet'))} (FORMAT parquet)`);
}
