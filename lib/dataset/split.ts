/**
 * Train / validation / test splits of the corpus. The honest split is grouped by session (a walk's frames, burst
 * siblings included, never straddle two splits) and stratified so each split keeps the keeper rate. The photo-level
 * split (frames assigned independently) is kept too, to show how much it flatters the scores.
 */
import type { Db } from '../db/duckdb.js';
import { checkChoice, checkInt } from '../util/check.js';
import { Rng } from '../util/rng.js';

export type SplitName = 'train' | 'val' | 'test';
export type SplitScheme = 'session' | 'photo';

export interface SplitOptions {
  seed?: number;
  scheme?: SplitScheme;
  /** Shares of train, validation and test; default 0.8, 0.1, 0.1. */
  shares?: [number, number, number];
}

export interface SplitSummary {
  scheme: SplitScheme;
  seed: number;
  rows: Array<{ split: SplitName; photos: number; keepers: number; sessions: number; keeperRate: number }>;
}

/** Creates the table that holds the splits. */
export async function ensureSplitSchema(db: Db): Promise<void> {
  await db.run(`CREATE TABLE IF NOT EXISTS dataset_split (scheme VARCHAR, photo_id BIGINT, split VARCHAR, seed INTEGER, PRIMARY KEY (scheme, photo_id))`);
}

/**
 * Assigns every corpus photo with a capture day to a split. Sessions are dealt in a seeded order within strata of
 * similar keeper counts, so that each split gets its share of sessions, frames and keepers.
 */
export async function buildSplit(db: Db, options: SplitOptions = {}): Promise<SplitSummary> {
  const seed = checkInt('seed', options.seed ?? 7, 0, 0xffffffff);
  const scheme = checkChoice('scheme', options.scheme ?? 'session', ['session', 'photo'] as const);
  const shares = options.shares ?? [0.8, 0.1, 0.1];
  await ensureSplitSchema(db);
  const photos = await db.all<{ photo_id: number; session: string; keeper: boolean }>(`SELECT photo_id, CAST(session_date AS VARCHAR) AS session,
    coalesce(keeper, false) AS keeper FROM photos WHERE session_date IS NOT NULL ORDER BY photo_id`);
  const rng = new Rng(seed).fork(`split:${scheme}`);
  const assign = new Map<number, SplitName>();
  const names: SplitName[] = ['train', 'val', 'test'];
  // groups: whole sessions, or single photos for the photo-level scheme
  const groups = new Map<string, Array<{ photo_id: number; keeper: boolean }>>();
  for (const p of photos) {
    const key = scheme === 'session' ? p.session : String(p.photo_id);
    const g = groups.get(key);
    if (g) g.push(p);
    else groups.set(key, [p]);
  }
  // deal groups with keepers and groups without separately, each by need: the split furthest below its share of
  // keepers (or of frames) gets the next group, so the keeper rate is kept in every split
  const target = (i: number, total: number): number => (shares[i] as number) * total;
  const totals = { photos: photos.length, keepers: photos.filter((p) => p.keeper).length };
  const got = names.map(() => ({ photos: 0, keepers: 0 }));
  const ordered = rng.shuffle([...groups.values()]).sort((a, b) => b.filter((x) => x.keeper).length - a.filter((x) => x.keeper).length);
  for (const g of ordered) {
    const k = g.filter((x) => x.keeper).length;
    let best = 0;
    let bestNeed = -Infinity;
    for (let i = 0; i < 3; i++) {
      const need = k > 0
        ? (target(i, totals.keepers) - (got[i] as { keepers: number }).keepers) / Math.max(1, target(i, totals.keepers))
        : (target(i, totals.photos) - (got[i] as { photos: number }).photos) / Math.max(1, target(i, totals.photos));
      if (need > bestNeed) { bestNeed = need; best = i; }
    }
    (got[best] as { photos: number }).photos += g.length;
    (got[best] as { keepers: number }).keepers += k;
    for (const p of g) assign.set(p.photo_id, names[best] as SplitName);
  }
  await db.transaction(async () => {
    await db.run('DELETE FROM dataset_split WHERE scheme = ?', [scheme]);
    await db.insert('dataset_split', ['scheme', 'photo_id', 'split', 'seed'], [...assign.entries()].map(([id, s]) => [scheme, id, s, seed]));
  });
  const rows = await db.all<SplitSummary['rows'][number]>(`SELECT split, count(*) AS photos, count(*) FILTER (WHERE p.keeper) AS keepers,
    count(DISTINCT p.session_date) AS sessions, count(*) FILTER (WHERE p.keeper) / count(*) AS keeperRate
    FROM dataset_split s JOIN photos p USING (photo_id) WHERE scheme = ? GROUP BY split ORDER BY array_position(['train', 'val', 'test'], split)`, [scheme]);
  return { scheme, seed, rows };
}
