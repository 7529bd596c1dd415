/**
 * The curator's tables: the photos a user excluded, the favourites, and the last run's votes (the selection
 * marked). Made by the first curator command that needs them (not at ingest), so a database nobody curated has none.
 */
import type { Db } from './duckdb.js';

/** A photo one curator run voted for, as stored in `curator_selection`. */
export interface CuratorVote {
  photoId: number;
  votes: number;
  /** Share of the iterations that picked it, in percent. */
  frequency: number;
  band: 'stable' | 'frequent' | 'occasional';
  /** In the top `target` of the run (the selection), or only voted for. */
  selected: boolean;
}

/** How the run that voted was made (the same for every row of a run). */
export interface CuratorRun {
  method: string;
  target: number;
  iterations: number;
  seed: number;
  modelId: string;
}

/** Creates the curator's tables when they are not there yet. */
export async function ensureCuratorSchema(db: Db): Promise<void> {
  await db.run(`CREATE TABLE IF NOT EXISTS curator_exclusions (photo_id BIGINT PRIMARY KEY, reason VARCHAR,
    added_at TIMESTAMP DEFAULT current_timestamp)`);
  await db.run(`CREATE TABLE IF NOT EXISTS favourites (photo_id BIGINT PRIMARY KEY,
    added_at TIMESTAMP DEFAULT current_timestamp)`);
  await db.run(`CREATE TABLE IF NOT EXISTS curator_selection (photo_id BIGINT PRIMARY KEY, votes INTEGER, frequency
  DOUBLE,
    band VARCHAR, method VARCHAR, target INTEGER, iterations INTEGER, seed BIGINT, model_id VARCHAR)`);
  // every photo the last run voted for is kept, the selection (the top target) marked
  await db.run('ALTER TABLE curator_selection ADD COLUMN IF NOT EXISTS selected BOOLEAN DEFAULT true');
}

/**
 * Replaces the stored votes with a run's, in one transaction; with `favourites`, the favourites become the
 * selected photos too.
 */
export async function replaceCuratorVotes(
  db: Db,
  run: CuratorRun,
  votes: readonly CuratorVote[],
  favourites: boolean,
): Promise<void> {
  await ensureCuratorSchema(db);
  const columns = [
    'photo_id',
    'votes',
    'frequency',
    'band',
    'method',
    'target',
    'iterations',
    'seed',
    'model_id',
    'selected',
  ];
  await db.transaction(async () => {
    await db.run('DELETE FROM curator_selection');
    await db.insert(
      'curator_selection',
      columns,
      votes.map((v) => [
        v.photoId,
        v.votes,
        v.frequency,
        v.band,
        run.method,
        run.target,
        run.iterations,
        run.seed,
        run.modelId,
        v.selected,
      ]),
    );
    if (favourites) {
      await db.run('DELETE FROM favourites');
      await db.insert(
        'favourites',
        ['photo_id'],
        votes.filter((v) => v.selected).map((v) => [v.photoId]),
      );
    }
  });
}

/** Adds exclusions (an id already excluded keeps its first reason); returns how many were new. */
export async function addExclusions(db: Db, ids: readonly number[], reason: string): Promise<number> {
  await ensureCuratorSchema(db);
  const before = Number(await db.value('SELECT count(*) FROM curator_exclusions'));
  await db.insert(
    'curator_exclusions',
    ['photo_id', 'reason'],
    ids.map((id) => [id, reason]),
    'INSERT OR IGNORE',
  );
  return Number(await db.value('SELECT count(*) FROM curator_exclusions')) - before;
}

/** Removes every exclusion. */
export async function clearExclusions(db: Db): Promise<void> {
  await ensureCuratorSchema(db);
  await db.run('DELETE FROM curator_exclusions');
}

/** The excluded photo_ids. */
export async function excludedIds(db: Db): Promise<Set<number>> {
  await ensureCuratorSchema(db);
  return new Set(
    (await db.all<{ photo_id: number }>('SELECT photo_id FROM curator_exclusions')).map((r) => Number(r.photo_id)),
  );
}

/** The photo_ids the last run voted for at or above a frequency (selected or not); null before any run. */
export async function votedAtLeast(db: Db, frequency: number): Promise<number[] | null> {
  await ensureCuratorSchema(db);
  if (!Number(await db.value('SELECT count(*) FROM curator_selection'))) return null;
  const rows = await db.all<{ photo_id: number }>('SELECT photo_id FROM curator_selection WHERE frequency >= ?', [
    frequency,
  ]);
  return rows.map((r) => Number(r.photo_id));
}

/** Brings one excluded photo back into the curator's runs. */
export async function removeExclusion(db: Db, photoId: number): Promise<void> {
  await db.run('DELETE FROM curator_exclusions WHERE photo_id = ?', [photoId]);
}

/** Marks or unmarks one photo as a favourite. */
export async function setFavourite(db: Db, photoId: number, on: boolean): Promise<void> {
  if (on) await db.run('INSERT OR IGNORE INTO favourites (photo_id) VALUES (?)', [photoId]);
  else await db.run('DELETE FROM favourites WHERE photo_id = ?', [photoId]);
}
