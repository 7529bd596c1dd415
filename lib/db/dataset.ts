/**
 * Dataset tables: `dataset_split` holds each corpus photo's split (train, val, test) per scheme (session or photo)
 * with the seed that dealt it. The rankers read labels from `photos` (keeper) and splits from here.
 */
import type { Db } from './duckdb.js';

/** One stored split assignment. */
export interface SplitRow {
  photo_id: number;
  split: 'train' | 'val' | 'test';
  seed: number;
}

/** Creates the table that holds the splits (a seed takes 32 bits, so the column is BIGINT; older files are widened). */
export async function ensureDatasetSchema(db: Db): Promise<void> {
  await db.run(`CREATE TABLE IF NOT EXISTS dataset_split (scheme VARCHAR, photo_id BIGINT, split VARCHAR, seed BIGINT,
    PRIMARY KEY (scheme, photo_id))`);
  const type = await db.value<string>(`SELECT data_type FROM information_schema.columns
    WHERE table_name = 'dataset_split' AND column_name = 'seed'`);
  if (type === 'INTEGER') await db.run('ALTER TABLE dataset_split ALTER seed TYPE BIGINT');
}

/** Replaces a scheme's split by `assign` (photo id -> split), dealt with `seed`, in one transaction. */
export async function writeSplit(
  db: Db,
  scheme: string,
  seed: number,
  assign: ReadonlyMap<number, string>,
): Promise<void> {
  await ensureDatasetSchema(db);
  await db.transaction(async () => {
    await db.run('DELETE FROM dataset_split WHERE scheme = ?', [scheme]);
    const rows = [...assign.entries()].map(([id, s]) => [scheme, id, s, seed]);
    await db.insert('dataset_split', ['scheme', 'photo_id', 'split', 'seed'], rows);
  });
}

/** A scheme's stored split (empty when none was made). */
export async function readSplit(db: Db, scheme: string): Promise<SplitRow[]> {
  await ensureDatasetSchema(db);
  return db.all<SplitRow>('SELECT photo_id, split, seed FROM dataset_split WHERE scheme = ?', [scheme]);
}
