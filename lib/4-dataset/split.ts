/**
 * Train / validation / test splits of the corpus. The honest split is grouped by session (a walk's frames, burst
 * siblings included, never straddle two splits) and stratified so each split keeps the keeper rate. The photo-level
 * split (frames assigned independently) is kept too, to show how much it flatters the scores.
 */
import type { Db } from '../db/duckdb.js';
import { ensureDatasetSchema, readSplit, writeSplit } from '../db/dataset.js';
import { checkChoice, checkInt } from '../util/check.js';
import { Rng } from '../util/rng.js';
import { plural } from '../util/text.js';

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
  /** Corpus photos left out: no capture day (no EXIF time, and not in a day folder), so no walk to go with. */
  undated: number;
}

const DEFAULT_SHARES: [number, number, number] = [0.8, 0.1, 0.1];

function checkShares(shares: readonly number[]): [number, number, number] {
  const ok =
    shares.length === 3 &&
    shares.every((v) => Number.isFinite(v) && v > 0) &&
    Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-9;
  if (!ok)
    throw new RangeError(
      'split shares: expected three positive shares of train, validation and test adding up to 1, ' +
        `received [${shares.join(', ')}]`,
    );
  return [shares[0], shares[1], shares[2]] as [number, number, number];
}

type SplitPhoto = { photo_id: number; session: string; keeper: boolean };

const splitPhotos = (db: Db): Promise<SplitPhoto[]> =>
  db.all<SplitPhoto>(`SELECT photo_id, CAST(session_date AS VARCHAR) AS session,
    coalesce(keeper, false) AS keeper FROM photos WHERE session_date IS NOT NULL ORDER BY photo_id`);

/**
 * How many of `n` groups each split gets: the largest remainders of n x share; with `atLeastOne` and three groups
 * or more, every split gets at least one (taken from the largest).
 */
export function splitQuotas(n: number, share: readonly number[], atLeastOne: boolean): number[] {
  const raw = share.map((s) => s * n);
  const q = raw.map(Math.floor);
  const order = raw.map((v, i) => [v - Math.floor(v), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; q.reduce((a, b) => a + b, 0) < n; k++) q[(order[k % order.length] as readonly [number, number])[1]]++;
  if (atLeastOne && n >= q.length) {
    for (let i = 0; i < q.length; i++) {
      if ((q[i] as number) > 0) continue;
      const big = q.indexOf(Math.max(...q));
      q[big] = (q[big] as number) - 1;
      q[i] = 1;
    }
  }
  return q;
}

/**
 * Groups per stratum: the fewest, from `1 / smallest share` up, whose quotas are whole numbers (10 for 80/10/10, 20
 * for 75/15/10), so every full stratum deals the shares asked for; `1 / smallest share` when none up to 100 is.
 */
export function stratumSize(share: readonly number[]): number {
  const least = Math.max(1, Math.round(1 / Math.min(...share)));
  for (let b = least; b <= 100; b++) if (share.every((s) => Math.abs(b * s - Math.round(b * s)) < 1e-6)) return b;
  return least;
}

/**
 * Deals groups to the splits stratified by a size (keepers, or frames): the groups, in seeded order, are sorted by
 * size (largest first; ties stay in the seeded order) and cut into strata of {@link stratumSize} consecutive
 * groups (10 for 80/10/10). A full stratum gets its splits' quota (8, 1, 1) in a seeded random order; the last,
 * partial stratum what is left of the overall quotas. Returns each group's split, in the order given.
 */
export function stratifiedDeal<G>(
  groups: readonly G[],
  size: (g: G) => number,
  share: readonly number[],
  rng: Rng,
  atLeastOne: boolean,
): SplitName[] {
  const names: SplitName[] = ['train', 'val', 'test'];
  const n = groups.length;
  const order = rng.shuffle(groups.map((_, i) => i)).sort((a, b) => size(groups[b] as G) - size(groups[a] as G));
  const block = stratumSize(share);
  const full = Math.floor(n / block);
  const perBlock = splitQuotas(block, share, false);
  const total = splitQuotas(n, share, atLeastOne);
  const last = total.map((t, i) => Math.max(0, t - full * (perBlock[i] as number)));
  last[0] = (last[0] as number) + (n - full * block - last.reduce((a, b) => a + b, 0));
  const out = new Array<SplitName>(n);
  for (let b = 0; b * block < n; b++) {
    const quota = b < full ? perBlock : last;
    const labels = rng
      .fork(`stratum:${b}`)
      .shuffle(quota.flatMap((q, i) => new Array<SplitName>(Math.max(0, q)).fill(names[i] as SplitName)));
    order.slice(b * block, (b + 1) * block).forEach((g, j) => {
      out[g] = labels[j] ?? 'train';
    });
  }
  return out;
}

/**
 * The split a seed gives these photos: every one with a capture day, dealt by session (or by photo). A fresh split
 * is stratified (see {@link stratifiedDeal}): walks with keepers by their keeper count, walks without by their
 * frames, each stratum dealt to the splits in a seeded random order, so every split gets its share of walks, frames
 * and keepers, and which walks validate and test changes with the seed. A function of the photos, their labels, the
 * seed and the shares alone; groups in `keep` (by session, or by photo_id for the photo-level scheme) stay in the
 * split given there, and the rest are dealt by need.
 */
export function planSplit(
  photos: readonly SplitPhoto[],
  seed: number,
  scheme: SplitScheme,
  shares: readonly number[] = DEFAULT_SHARES,
  keep: ReadonlyMap<string, SplitName> = new Map(),
): Map<number, SplitName> {
  const share = checkShares(shares);
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
  const target = (i: number, total: number): number => (share[i] as number) * total;
  const totals = { photos: photos.length, keepers: photos.filter((p) => p.keeper).length };
  const got = names.map(() => ({ photos: 0, keepers: 0 }));
  // groups a stored split already placed stay where they are; only the others are dealt
  const fresh: Array<Array<{ photo_id: number; keeper: boolean }>> = [];
  for (const [key, g] of groups) {
    const was = keep.get(key);
    if (was === undefined) {
      fresh.push(g);
      continue;
    }
    const i = names.indexOf(was);
    (got[i] as { photos: number }).photos += g.length;
    (got[i] as { keepers: number }).keepers += g.filter((x) => x.keeper).length;
    for (const p of g) assign.set(p.photo_id, was);
  }
  if (keep.size === 0) {
    const withKeepers = fresh.filter((g) => g.some((x) => x.keeper));
    const without = fresh.filter((g) => !g.some((x) => x.keeper));
    const keepersOf = (g: readonly { keeper: boolean }[]): number => g.filter((x) => x.keeper).length;
    const dealt = [
      ...stratifiedDeal(withKeepers, keepersOf, share, rng.fork('keepers'), true).map(
        (s, i) => [withKeepers[i], s] as const,
      ),
      ...stratifiedDeal(without, (g) => g.length, share, rng.fork('frames'), false).map(
        (s, i) => [without[i], s] as const,
      ),
    ];
    for (const [g, split] of dealt) for (const p of g ?? []) assign.set(p.photo_id, split);
    return assign;
  }
  const ordered = rng
    .shuffle(fresh)
    .sort((a, b) => b.filter((x) => x.keeper).length - a.filter((x) => x.keeper).length);
  for (const g of ordered) {
    const k = g.filter((x) => x.keeper).length;
    let best = 0;
    let bestNeed = -Infinity;
    for (let i = 0; i < 3; i++) {
      const need =
        k > 0
          ? (target(i, totals.keepers) - (got[i] as { keepers: number }).keepers) /
            Math.max(1, target(i, totals.keepers))
          : (target(i, totals.photos) - (got[i] as { photos: number }).photos) / Math.max(1, target(i, totals.photos));
      if (need > bestNeed) {
        bestNeed = need;
        best = i;
      }
    }
    (got[best] as { photos: number }).photos += g.length;
    (got[best] as { keepers: number }).keepers += k;
    for (const p of g) assign.set(p.photo_id, names[best] as SplitName);
  }
  return assign;
}

/**
 * Assigns every corpus photo with a capture day to a split (see `planSplit`) and stores it, replacing the scheme's
 * split.
 */
export async function buildSplit(db: Db, options: SplitOptions = {}): Promise<SplitSummary> {
  const seed = checkInt('--seed', options.seed ?? 7, 0, 0xffffffff);
  const scheme = checkChoice('scheme', options.scheme ?? 'session', ['session', 'photo'] as const);
  await writeSplit(db, scheme, seed, planSplit(await splitPhotos(db), seed, scheme, options.shares ?? DEFAULT_SHARES));
  return splitSummary(db, scheme, seed);
}

/** The split in use: its seed, and what was done to keep it true to the corpus (null when nothing). */
export interface CurrentSplit {
  seed: number;
  note: string | null;
}

/**
 * The scheme's split as training needs it: made with `seed` when there is none; else the stored one, kept with its
 * own seed (`flux dataset --seed` chose it, and retraining with another seed keeps the same test walks). When the
 * corpus has changed since it was made, walks it placed keep their split (their new photos join it), walks it has not
 * seen are dealt by need with its seed, and photos gone leave it; keeper labels changing move nothing. The note says
 * what changed.
 */
export async function ensureSplit(db: Db, options: { scheme: SplitScheme; seed: number }): Promise<CurrentSplit> {
  const photos = await splitPhotos(db);
  const stored = await readSplit(db, options.scheme);
  if (!stored.length) {
    await writeSplit(db, options.scheme, options.seed, planSplit(photos, options.seed, options.scheme));
    return { seed: options.seed, note: null };
  }
  const seed = Number(stored[0]?.seed);
  const before = new Map(stored.map((r) => [Number(r.photo_id), r.split]));
  const groupOf = (p: SplitPhoto): string => (options.scheme === 'session' ? p.session : String(p.photo_id));
  const keep = new Map<string, SplitName>();
  for (const p of photos) {
    const was = before.get(Number(p.photo_id));
    if (was !== undefined && !keep.has(groupOf(p))) keep.set(groupOf(p), was);
  }
  const plan = planSplit(photos, seed, options.scheme, DEFAULT_SHARES, keep);
  let added = 0;
  let moved = 0;
  for (const [id, split] of plan) {
    const was = before.get(id);
    if (was === undefined) added++;
    else if (was !== split) moved++;
  }
  const gone = [...before.keys()].filter((id) => !plan.has(id)).length;
  if (!added && !moved && !gone) return { seed, note: null };
  await writeSplit(db, options.scheme, seed, plan);
  const newWalks = new Set(photos.filter((p) => !keep.has(groupOf(p))).map(groupOf)).size;
  const what = [
    added
      ? `${plural(added, 'photo')} added` +
        (options.scheme === 'session' && newWalks ? `, ${plural(newWalks, 'new walk')} dealt by need` : '')
      : '',
    gone ? `${gone} gone` : '',
    moved ? `${moved} moved with their walk` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return {
    seed,
    note:
      `the corpus changed since the ${options.scheme}-level split was made (${what}); ` +
      `walks it had placed keep their split (seed ${seed})`,
  };
}

async function splitSummary(db: Db, scheme: SplitScheme, seed: number): Promise<SplitSummary> {
  await ensureDatasetSchema(db);
  const rows = await db.all<SplitSummary['rows'][number]>(
    `SELECT split, count(*) AS photos, count(*) FILTER (WHERE p.keeper) AS keepers,
    count(DISTINCT p.session_date) AS sessions, count(*) FILTER (WHERE p.keeper) / count(*) AS keeperRate
    FROM dataset_split s JOIN photos p USING (photo_id) WHERE scheme = ?
    GROUP BY split ORDER BY array_position(['train', 'val', 'test'], split)`,
    [scheme],
  );
  const undated = Number(await db.value('SELECT count(*) FROM photos WHERE session_date IS NULL'));
  return { scheme, seed, rows, undated };
}
