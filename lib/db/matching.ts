/**
 * The matching tables: the match columns of `keeper_files`, `match_candidates` (what the review sheet lists),
 * `match_sessions` (clock offsets per walk), `match_verifications` (alignment, overlap and residuals per keeper and
 * candidate), `match_calibration` (the similarity thresholds learnt per vector
 * source), `match_decisions` (the photographer's accept / reject / none, keyed by keeper path and content so they
 * survive re-ingest), and the keeper flags matching sets on `photos`. DDL, the typed writes, and the lookups the
 * matching stage needs.
 */
import { lit, type Db } from './duckdb.js';
import { tableColumns } from './table.js';

/** A corpus photo as matching sees it (time as `YYYY-MM-DD HH:MM:SS.ffffff`). */
export interface MatchPhoto {
  id: number;
  t: string | null;
  name: string | null;
  day: string | null;
  sha: string;
  path: string;
  preview: string | null;
  /** The camera model in its EXIF, or null. */
  model: string | null;
}

/** A keeper file as matching sees it, with its current match. */
export interface MatchKeeper {
  id: number;
  path: string;
  sha: string;
  t: string | null;
  nameT: string | null;
  name: string | null;
  folderDay: string | null;
  /** The camera model in its EXIF, or null. */
  model: string | null;
  preview: string | null;
  status: string | null;
  matched: number | null;
  method: string | null;
}

/** One stored decision of the photographer. */
export interface MatchDecisionRow {
  keeper_path: string;
  keeper_sha256: string;
  photo_id: number;
  decision: string;
}

/** What one run decided for one keeper. */
export interface KeeperOutcome {
  keeperId: number;
  photo: number | null;
  method: string | null;
  similarity: number | null;
  status: string;
  offset: number;
  reason: string | null;
  candidates: ReadonlyArray<{ id: number; similarity: number | null; note: string }>;
}

/** The thresholds one run learnt (or fell back to) for a vector source. */
export interface CalibrationRow {
  /** Where the vectors came from: `model:<id>` or `thumbnail`. */
  source: string;
  link: number;
  review: number;
  margin: number;
  calibrated: boolean;
  /** Similarities of true pairs whose bytes differ (re-encodes, edits), linked by steps 1-3. */
  truePairs: number[];
  /** Per linked keeper, the highest similarity to another frame of the same session. */
  siblings: number[];
}

const MATCH_COLUMNS = [
  'matched_photo_id BIGINT',
  'match_method VARCHAR',
  'match_similarity DOUBLE',
  'match_status VARCHAR',
  'clock_offset_seconds DOUBLE',
  'review_reason VARCHAR',
];

/** Adds the columns and tables matching writes (keeper_files itself is created with the corpus tables). */
export async function ensureMatchSchema(db: Db): Promise<void> {
  for (const col of MATCH_COLUMNS) await db.run(`ALTER TABLE keeper_files ADD COLUMN IF NOT EXISTS ${col}`);
  // rewritten by every run: a table from before offsets were per camera is made again with the camera column
  const cols = await tableColumns(db, 'match_sessions');
  if (cols.length > 0 && !cols.includes('camera')) await db.run('DROP TABLE match_sessions');
  await db.run(`CREATE TABLE IF NOT EXISTS match_sessions (day DATE, camera VARCHAR, clock_offset_seconds DOUBLE,
    links INTEGER, agreeing INTEGER, PRIMARY KEY (day, camera))`);
  await db.run(`CREATE TABLE IF NOT EXISTS match_candidates (keeper_id BIGINT, rank INTEGER, photo_id BIGINT,
    similarity DOUBLE, note VARCHAR, PRIMARY KEY (keeper_id, rank))`);
  // the photographer's decisions, keyed by the keeper file's path and content so they survive re-ingest and re-runs
  await db.run(`CREATE TABLE IF NOT EXISTS match_decisions (keeper_path VARCHAR, keeper_sha256 VARCHAR, photo_id BIGINT,
    decision VARCHAR, decided_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (keeper_path, keeper_sha256, photo_id))`);
  // what verification by alignment measured per (keeper, candidate): the transform keeper -> candidate at the work
  // size, the overlap, and the residuals after the tone fit
  await db.run(`CREATE TABLE IF NOT EXISTS match_verifications (keeper_id BIGINT, photo_id BIGINT, scale DOUBLE,
    angle_degrees DOUBLE, dx DOUBLE, dy DOUBLE, overlap DOUBLE, ncc DOUBLE, residual DOUBLE, worst_tile DOUBLE,
    shift DOUBLE, verified BOOLEAN, tiles_x INTEGER, tile_residuals DOUBLE[], PRIMARY KEY (keeper_id, photo_id))`);
  // the worst-tile bar verification learnt from the archive, with the evidence (positives: metadata links against
  // their photo; negatives: against the frame shot nearest to it in a burst)
  await db.run(`CREATE TABLE IF NOT EXISTS match_verify_calibration (work_size INTEGER PRIMARY KEY, worst_tile DOUBLE,
    ratio DOUBLE, calibrated BOOLEAN, positives DOUBLE[], negatives DOUBLE[],
    computed_at TIMESTAMP DEFAULT current_timestamp)`);
  // the largest per-tile shift (px) a lone verified candidate may ask for
  await db.run('ALTER TABLE match_verify_calibration ADD COLUMN IF NOT EXISTS shift DOUBLE');
  // what the edits leave at their worst: a candidate about to be linked that is beyond both goes to review
  await db.run('ALTER TABLE match_verify_calibration ADD COLUMN IF NOT EXISTS edits_worst_tile DOUBLE');
  await db.run('ALTER TABLE match_verify_calibration ADD COLUMN IF NOT EXISTS edits_ncc DOUBLE');
  await db.run(`CREATE TABLE IF NOT EXISTS match_calibration (source VARCHAR PRIMARY KEY, link DOUBLE, review DOUBLE,
    margin DOUBLE, calibrated BOOLEAN, true_pairs DOUBLE[], siblings DOUBLE[],
    computed_at TIMESTAMP DEFAULT current_timestamp)`);
}

const TIME = `'%Y-%m-%d %H:%M:%S.%f'`;

/** Every corpus photo with what matching compares: time, camera name, day, content hash, preview. */
export function matchPhotos(db: Db): Promise<MatchPhoto[]> {
  return db.all<MatchPhoto>(`SELECT photo_id AS id, strftime(captured_at, ${TIME}) AS t, original_filename AS name,
    CAST(session_date AS VARCHAR) AS day, sha256 AS sha, path, preview, model FROM photos`);
}

/** Every keeper file, by path, with its current match. */
export function matchKeepers(db: Db): Promise<MatchKeeper[]> {
  return db.all<MatchKeeper>(`SELECT keeper_id AS id, path, sha256 AS sha, strftime(captured_at, ${TIME}) AS t,
    strftime(name_captured_at, ${TIME}) AS nameT, original_filename AS name, CAST(folder_date AS VARCHAR) AS folderDay,
    model, preview, match_status AS status, matched_photo_id AS matched, match_method AS method
    FROM keeper_files ORDER BY path`);
}

/** The photographer's stored decisions. */
export function matchDecisions(db: Db): Promise<MatchDecisionRow[]> {
  return db.all<MatchDecisionRow>('SELECT * FROM match_decisions');
}

/** Content hashes of byte-identical copies ingest folded into one photo. */
export function corpusDuplicates(db: Db): Promise<Array<{ sha256: string; photo_id: number }>> {
  return db.all<{ sha256: string; photo_id: number }>('SELECT sha256, photo_id FROM corpus_duplicates');
}

/**
 * Cosine similarities of (keeper, photo) pairs from the view-0 vectors in two Parquet globs, computed inside DuckDB
 * so 400,000 photo vectors cost a join, not a transfer.
 */
export async function vectorSimilarities(
  db: Db,
  keepersGlob: string,
  photosGlob: string,
  pairs: ReadonlyArray<readonly [number, number]>,
): Promise<Array<{ k: number; p: number; s: number }>> {
  await db.run('CREATE OR REPLACE TEMP TABLE sim_pairs (keeper_id BIGINT, photo_id BIGINT)');
  await db.appendPairs('sim_pairs', pairs);
  const rows = await db.all<{ k: number; p: number; s: number }>(`SELECT sp.keeper_id AS k, sp.photo_id AS p,
    list_cosine_similarity(kv.vector, pv.vector) AS s FROM sim_pairs sp
    JOIN read_parquet(${lit(keepersGlob)}) kv ON kv.keeper_id = sp.keeper_id AND kv.view = 0
    JOIN read_parquet(${lit(photosGlob)}) pv ON pv.photo_id = sp.photo_id AND pv.view = 0`);
  await db.run('DROP TABLE sim_pairs');
  return rows;
}

/**
 * Writes one run in one transaction: the keepers' rows, their candidates, the walks' clock offsets, the calibration,
 * and the keeper flags on photos (a linked photo is a keeper; edited when no linked keeper file has its bytes).
 */
export async function writeMatchRun(
  db: Db,
  run: {
    outcomes: readonly KeeperOutcome[];
    sessions: ReadonlyArray<{ day: string; camera: string; seconds: number; links: number; agreeing: number }>;
    calibration: CalibrationRow;
  },
): Promise<void> {
  await db.transaction(async () => {
    // one bulk update through a temporary table: 15,000 single-row updates would take most of a minute
    await db.run(`CREATE OR REPLACE TEMP TABLE match_out (keeper_id BIGINT, photo BIGINT, method VARCHAR,
      similarity DOUBLE, status VARCHAR, off DOUBLE, reason VARCHAR)`);
    await db.insert(
      'match_out',
      ['keeper_id', 'photo', 'method', 'similarity', 'status', 'off', 'reason'],
      run.outcomes.map((o) => [o.keeperId, o.photo, o.method, o.similarity, o.status, o.offset, o.reason]),
    );
    await db.run(`UPDATE keeper_files SET matched_photo_id = o.photo, match_method = o.method,
      match_similarity = o.similarity, match_status = o.status, clock_offset_seconds = o.off, review_reason = o.reason
      FROM match_out o WHERE keeper_files.keeper_id = o.keeper_id`);
    await db.run('DELETE FROM match_candidates WHERE keeper_id IN (SELECT keeper_id FROM match_out)');
    await db.run('DROP TABLE match_out');
    await db.insert(
      'match_candidates',
      ['keeper_id', 'rank', 'photo_id', 'similarity', 'note'],
      run.outcomes.flatMap((o) => o.candidates.map((c, i) => [o.keeperId, i + 1, c.id, c.similarity, c.note])),
    );
    await db.run('DELETE FROM match_sessions');
    await db.insert(
      'match_sessions',
      ['day', 'camera', 'clock_offset_seconds', 'links', 'agreeing'],
      run.sessions.map((o) => [o.day, o.camera, o.seconds, o.links, o.agreeing]),
    );
    const c = run.calibration;
    await db.run(
      `INSERT OR REPLACE INTO match_calibration
      (source, link, review, margin, calibrated, true_pairs, siblings)
      VALUES (?, ?, ?, ?, ?, ?::DOUBLE[], ?::DOUBLE[])`,
      [c.source, c.link, c.review, c.margin, c.calibrated, JSON.stringify(c.truePairs), JSON.stringify(c.siblings)],
    );
    await db.run(`UPDATE photos SET keeper = false, keeper_edited = false,
      keeper_score = CASE WHEN keeper_score = 1.0 THEN NULL ELSE keeper_score END WHERE keeper`);
    await db.run(`UPDATE photos SET keeper = true, keeper_score = 1.0,
      keeper_edited = NOT EXISTS (SELECT 1 FROM keeper_files k2 WHERE k2.matched_photo_id = photos.photo_id
        AND k2.match_status = 'matched' AND k2.sha256 = photos.sha256)
      WHERE photo_id IN (SELECT matched_photo_id FROM keeper_files WHERE match_status = 'matched')`);
  });
}

/** Every keeper file's match, by path. */
export function keeperMatches(db: Db): Promise<
  Array<{
    path: string;
    match_method: string | null;
    match_status: string;
    review_reason: string | null;
  }>
> {
  return db.all('SELECT path, match_method, match_status, review_reason FROM keeper_files ORDER BY path');
}

/** Keeper files ingest could not read as photos, with the reason (root keepers; not sidecars or walk problems). */
export async function unreadableKeepers(db: Db): Promise<Array<{ path: string; reason: string }>> {
  return db.all<{ path: string; reason: string }>(`SELECT path, message AS reason FROM ingest_errors
    WHERE root = 'keepers' AND stage <> 'walk' ORDER BY path`);
}

/** One row of the review queue: a keeper in review or unmatched, and one of its candidates (or none). */
export interface ReviewQueueRow {
  keeper_id: number;
  keeper_path: string;
  keeper_preview: string | null;
  keeper_time: string | null;
  reason: string | null;
  rank: number | null;
  photo_id: number | null;
  photo_path: string | null;
  photo_preview: string | null;
  photo_time: string | null;
  similarity: number | null;
  note: string | null;
  /** Verification by alignment of this candidate, when it was verified. */
  scale: number | null;
  angle_degrees: number | null;
  overlap: number | null;
  residual: number | null;
  worst_tile: number | null;
  verified: boolean | null;
  tiles_x: number | null;
  tile_residuals: Array<number | null> | null;
}

/** Keepers in review or unmatched with their candidates, except those the photographer said have no original. */
export function reviewQueue(db: Db): Promise<ReviewQueueRow[]> {
  return db.all<ReviewQueueRow>(`SELECT k.keeper_id, k.path AS keeper_path, k.preview AS keeper_preview,
    strftime(coalesce(k.captured_at, k.name_captured_at), '%Y-%m-%d %H:%M:%S') AS keeper_time,
    k.review_reason AS reason,
    c.rank, c.photo_id, p.path AS photo_path, p.preview AS photo_preview,
    strftime(p.captured_at, ${TIME}) AS photo_time, c.similarity, c.note, v.scale, v.angle_degrees, v.overlap,
    v.residual, v.worst_tile, v.verified, v.tiles_x, v.tile_residuals
    FROM keeper_files k LEFT JOIN match_candidates c USING (keeper_id) LEFT JOIN photos p ON p.photo_id = c.photo_id
    LEFT JOIN match_verifications v ON v.keeper_id = k.keeper_id AND v.photo_id = c.photo_id
    WHERE k.match_status IN ('review', 'unmatched') AND NOT EXISTS (SELECT 1 FROM match_decisions d
      WHERE d.keeper_path = k.path AND d.keeper_sha256 = k.sha256 AND d.decision = 'none')
    ORDER BY k.match_status, k.path, c.rank`);
}

/** A keeper file as a decision names it. */
export interface DecisionKeeper {
  id: number;
  path: string;
  sha256: string;
}

/** The keeper file at a path (relative to the keepers root), or null. */
export async function keeperByPath(db: Db, path: string): Promise<DecisionKeeper | null> {
  const rows = await db.all<DecisionKeeper>('SELECT keeper_id AS id, path, sha256 FROM keeper_files WHERE path = ?', [
    path,
  ]);
  return rows[0] ?? null;
}

/** The keeper file with an id, or null. */
export async function keeperById(db: Db, id: number): Promise<DecisionKeeper | null> {
  return (
    (
      await db.all<DecisionKeeper>('SELECT keeper_id AS id, path, sha256 FROM keeper_files WHERE keeper_id = ?', [id])
    )[0] ?? null
  );
}

/** The photo_id when a photo has this id, else null. */
export function photoIdExists(db: Db, id: number): Promise<number | null> {
  return db.value<number>('SELECT photo_id FROM photos WHERE photo_id = ?', [id]);
}

/** The newest photo at a path, or null. */
export function photoIdAtPath(db: Db, path: string): Promise<number | null> {
  return db.value<number>('SELECT photo_id FROM photos WHERE path = ? ORDER BY photo_id DESC LIMIT 1', [path]);
}

/**
 * Stores one decision. A keeper has one answer: `none` (stored with `noOriginal` as the photo) withdraws earlier
 * accepts; an accept withdraws an earlier `none` and accepts of other photos; a reject stands beside either.
 */
export async function storeDecision(
  db: Db,
  keeper: DecisionKeeper,
  photo: number,
  decision: 'accept' | 'reject' | 'none',
): Promise<void> {
  const who = [keeper.path, keeper.sha256];
  if (decision === 'none') {
    await db.run(
      `DELETE FROM match_decisions WHERE keeper_path = ? AND keeper_sha256 = ?
      AND decision IN ('accept', 'none')`,
      who,
    );
    await db.run('INSERT INTO match_decisions (keeper_path, keeper_sha256, photo_id, decision) VALUES (?, ?, ?, ?)', [
      ...who,
      photo,
      'none',
    ]);
    return;
  }
  await db.run(
    `INSERT OR REPLACE INTO match_decisions (keeper_path, keeper_sha256, photo_id, decision)
    VALUES (?, ?, ?, ?)`,
    [...who, photo, decision],
  );
  if (decision === 'accept') {
    await db.run(
      `DELETE FROM match_decisions WHERE keeper_path = ? AND keeper_sha256 = ?
      AND (decision = 'none' OR decision = 'accept' AND photo_id <> ?)`,
      [...who, photo],
    );
  }
}

/** One verification as stored. */
export interface VerificationRow {
  keeperId: number;
  photoId: number;
  scale: number;
  angleDegrees: number;
  dx: number;
  dy: number;
  overlap: number;
  ncc: number;
  residual: number;
  worstTile: number;
  shift: number;
  verified: boolean;
  /** The residual map: tiles across, and the per-tile residuals row by row. */
  tilesX: number;
  tileResiduals: number[];
}

const VERIFICATION_COLUMNS = [
  'keeper_id',
  'photo_id',
  'scale',
  'angle_degrees',
  'dx',
  'dy',
  'overlap',
  'ncc',
  'residual',
  'worst_tile',
  'shift',
  'verified',
  'tiles_x',
  'tile_residuals',
];

/** Stores verifications, replacing earlier ones of the same (keeper, candidate). */
export async function writeVerifications(db: Db, rows: readonly VerificationRow[]): Promise<void> {
  if (rows.length === 0) return;
  // the map goes in as a JSON list cast by DuckDB (a NaN tile, outside the overlap, as null)
  const tuple = `(${VERIFICATION_COLUMNS.map((c) => (c === 'tile_residuals' ? '?::DOUBLE[]' : '?')).join(', ')})`;
  for (const r of rows) {
    await db.run(`INSERT OR REPLACE INTO match_verifications (${VERIFICATION_COLUMNS.join(', ')}) VALUES ${tuple}`, [
      r.keeperId,
      r.photoId,
      r.scale,
      r.angleDegrees,
      r.dx,
      r.dy,
      r.overlap,
      r.ncc,
      r.residual,
      r.worstTile,
      r.shift,
      r.verified,
      r.tilesX,
      JSON.stringify(r.tileResiduals.map((x) => (Number.isFinite(x) ? x : null))),
    ]);
  }
}

/** The stored verifications of one keeper, best (smallest worst tile) first. */
export function keeperVerifications(db: Db, keeperId: number): Promise<VerificationRow[]> {
  return db.all<VerificationRow>(
    `SELECT keeper_id AS keeperId, photo_id AS photoId, scale,
    angle_degrees AS angleDegrees, dx, dy, overlap, ncc, residual, worst_tile AS worstTile, shift, verified,
    tiles_x AS tilesX, tile_residuals AS tileResiduals FROM match_verifications WHERE keeper_id = ?
    ORDER BY worst_tile`,
    [keeperId],
  );
}

/** Stores the verification thresholds of a run. */
export async function writeVerifyCalibration(
  db: Db,
  workSize: number,
  c: {
    worstTile: number;
    shift: number;
    edits: { worstTile: number; ncc: number };
    ratio: number;
    calibrated: boolean;
    positives: number[];
    negatives: number[];
  },
): Promise<void> {
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  await db.run(
    `INSERT OR REPLACE INTO match_verify_calibration (work_size, worst_tile, shift, edits_worst_tile, edits_ncc, ratio,
    calibrated, positives, negatives) VALUES (?, ?, ?, ?, ?, ?, ?, ?::DOUBLE[], ?::DOUBLE[])`,
    [
      workSize,
      c.worstTile,
      finite(c.shift),
      finite(c.edits.worstTile),
      finite(c.edits.ncc),
      c.ratio,
      c.calibrated,
      JSON.stringify(c.positives),
      JSON.stringify(c.negatives),
    ],
  );
}
