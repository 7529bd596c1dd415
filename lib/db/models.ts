/**
 * Model and score tables: `ranker_comparison` (every ranker's test metrics from the last `flux train`), the model
 * folders recorded in `meta` (`keeper_model`, `keeper_scored_dir`, `keeper_scored_by`), the score columns of
 * `photos` (keeper_score, model_score, raw_score, keeper_band, score_reason, surfaced; added by the first scoring),
 * and `inbox_scores` (the last scored inbox).
 */
import { existsSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import type { Db, SqlValue } from './duckdb.js';

/** Which model a database names: the last one trained, or the one whose scores `photos` holds. */
export type ModelKey = 'keeper_model' | 'keeper_scored_dir';

/**
 * Records a model folder in the database both relative to the database's own folder and absolute: a project moved or
 * copied whole finds its own models by the first, a database moved on its own finds the model by the second.
 */
export async function recordModelDir(db: Db, key: ModelKey, dir: string): Promise<void> {
  const abs = resolve(dir);
  await db.run('INSERT OR REPLACE INTO meta VALUES (?, ?)', [
    key,
    JSON.stringify({ rel: relative(dirname(db.file), abs) || '.', abs }),
  ]);
}

/**
 * A model folder the database recorded, as an absolute path: where the relative record points when that folder is
 * there, else the absolute record (older databases recorded a plain absolute path); null when none was recorded.
 */
export async function recordedModelDir(db: Db, key: ModelKey): Promise<string | null> {
  const v = await db.value<string>('SELECT value FROM meta WHERE key = ?', [key]);
  if (!v) return null;
  if (!v.startsWith('{')) return resolve(dirname(db.file), v);
  const { rel, abs } = JSON.parse(v) as { rel: string; abs: string };
  const near = resolve(dirname(db.file), rel);
  return existsSync(near) || !existsSync(abs) ? near : abs;
}

/** One row of `ranker_comparison`: a model's metric on the test walks (or out of fold over all walks). */
export interface ComparisonRow {
  keeperModel: string;
  model: string;
  arch: string;
  featureSet: string;
  winner: boolean;
  valAp: number | null;
  metric: string;
  value: number | null;
  lo: number | null;
  hi: number | null;
  calibration: string | null;
}

const COMPARISON_DDL = `CREATE OR REPLACE TABLE ranker_comparison (keeper_model VARCHAR, model VARCHAR, arch VARCHAR,
  feature_set VARCHAR, winner BOOLEAN, val_ap DOUBLE, metric VARCHAR, value DOUBLE, lo DOUBLE, hi DOUBLE,
  calibration VARCHAR)`;

/** Replaces the comparison table with the rows of the last training. */
export async function writeRankerComparison(db: Db, rows: readonly ComparisonRow[]): Promise<void> {
  await db.run(COMPARISON_DDL);
  await db.insert(
    'ranker_comparison',
    ['keeper_model', 'model', 'arch', 'feature_set', 'winner', 'val_ap', 'metric', 'value', 'lo', 'hi', 'calibration'],
    rows.map((r): SqlValue[] => [
      r.keeperModel,
      r.model,
      r.arch,
      r.featureSet,
      r.winner,
      r.valAp,
      r.metric,
      r.value,
      r.lo,
      r.hi,
      r.calibration,
    ]),
  );
}

/** One photo's score as stored in `photos` and `inbox_scores`. */
export interface StoredScore {
  id: number;
  score: number | null;
  model: number | null;
  raw: number | null;
  band: string;
  reason: string | null;
  surfaced: boolean;
}

const SCORE_COLUMNS = [
  'keeper_band VARCHAR',
  'score_reason VARCHAR',
  'model_score DOUBLE',
  'raw_score DOUBLE',
  'surfaced BOOLEAN',
];

/**
 * Writes every photo's score into `photos` in one transaction, and records which model scored them (its id and
 * folder), so the database says where its scores came from.
 */
export async function writePhotoScores(
  db: Db,
  rows: readonly StoredScore[],
  modelId: string,
  modelDir: string,
): Promise<void> {
  await db.transaction(async () => {
    for (const c of SCORE_COLUMNS) await db.run(`ALTER TABLE photos ADD COLUMN IF NOT EXISTS ${c}`);
    await db.run(`CREATE OR REPLACE TEMP TABLE new_scores (photo_id BIGINT, s DOUBLE, m DOUBLE, raw DOUBLE,
      band VARCHAR,
      reason VARCHAR, surfaced BOOLEAN)`);
    await db.append(
      'new_scores',
      ['bigint', 'double', 'double', 'double', 'varchar', 'varchar', 'boolean'],
      rows.map((r) => [r.id, r.score, r.model, r.raw, r.band, r.reason, r.surfaced]),
    );
    await db.run(`UPDATE photos SET keeper_score = n.s, model_score = n.m, raw_score = n.raw, keeper_band = n.band,
      score_reason = n.reason, surfaced = n.surfaced FROM new_scores n WHERE photos.photo_id = n.photo_id`);
    await db.run('DROP TABLE new_scores');
    await db.run(`INSERT OR REPLACE INTO meta VALUES ('keeper_scored_by', ?)`, [modelId]);
    await recordModelDir(db, 'keeper_scored_dir', modelDir);
  });
}

/** One inbox photo's score, by its path relative to the inbox. */
export interface InboxScore {
  path: string;
  score: number | null;
  band: string;
  surfaced: boolean;
  reason: string | null;
  raw: number | null;
}

/**
 * Replaces `inbox_scores` with the photos of the inbox scored now, by `modelId` (trained at `trainedAt`, UTC: the
 * review decisions made before then were its training rows), at `scoredAt` (UTC, seconds).
 */
export async function writeInboxScores(
  db: Db,
  rows: readonly InboxScore[],
  model: { id: string; trainedAt: string | null },
  scoredAt: string,
): Promise<void> {
  // in one transaction: a run killed half way leaves the last scores, never an empty table
  await db.transaction(async () => {
    await db.run(`CREATE OR REPLACE TABLE inbox_scores (path VARCHAR PRIMARY KEY, keeper_score DOUBLE, band VARCHAR,
      surfaced BOOLEAN, reason VARCHAR, raw_score DOUBLE, keeper_model VARCHAR, scored_at TIMESTAMP,
      model_trained_at TIMESTAMP)`);
    const trained = model.trainedAt ? model.trainedAt.replace('T', ' ').replace('Z', '') : null;
    await db.append(
      'inbox_scores',
      ['varchar', 'double', 'varchar', 'boolean', 'varchar', 'double', 'varchar', 'varchar', 'varchar'],
      rows.map((r) => [r.path, r.score, r.band, r.surfaced, r.reason, r.raw, model.id, scoredAt, trained]),
    );
  });
}

/**
 * Inbox photos that are byte for byte a photo the archive already holds: inbox id -> where (an original, preferred,
 * or a keeper file), and whether that original is a confirmed keeper.
 */
export async function knownInboxCopies(
  db: Db,
): Promise<Array<{ id: number; path: string; kind: string; keeper: boolean | null }>> {
  const rows = await db.all<{ id: number; path: string; keeper: boolean | null; kind: string }>(`
    SELECT i.inbox_id AS id, arg_min(a.path, a.rank) AS path, arg_min(a.kind, a.rank) AS kind,
      bool_or(a.keeper) AS keeper
    FROM inbox_photos i JOIN (
      SELECT p.sha256, p.path, p.keeper, 'originals' AS kind, '0' || p.path AS rank FROM photos p
      UNION ALL SELECT d.sha256, d.path, p.keeper, 'originals', '0' || d.path
        FROM corpus_duplicates d JOIN photos p USING (photo_id)
      UNION ALL SELECT sha256, path, true, 'keepers', '1' || path FROM keeper_files) a ON a.sha256 = i.sha256
    GROUP BY i.inbox_id`);
  return rows.map((r) => ({ ...r, id: Number(r.id) }));
}
