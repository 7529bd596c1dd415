/**
 * Where a keeper's original may be: the corpus indexed by exact time, second, camera name and day, and content
 * hash; the photographer's decisions; the metadata steps (EXIF time -> camera filename -> SHA-256) that link a keeper
 * or narrow it to a pool; the day windows the similarity step searches; and the frames shot seconds from a link.
 */
import type { MatchDecisionRow, MatchKeeper, MatchPhoto } from '../db/matching.js';
import type { ClockOffset, Decision, MatchMethod } from './types.js';
import { addDays, BURST_SECONDS, dayOf, epoch, fromEpoch } from './time.js';
import { pairKey, type PairScorer } from './vectors.js';

export type Photo = MatchPhoto;
export type Keeper = MatchKeeper;

const push = (m: Map<string, number[]>, k: string, v: number): void => {
  const a = m.get(k);
  if (a) a.push(v);
  else m.set(k, [v]);
};

/** The corpus as lookups: by id, exact time, second, camera name and day, day, and content hash. */
export interface CorpusIndex {
  photos: Photo[];
  photoById: Map<number, Photo>;
  byExact: Map<string, number[]>;
  bySecond: Map<string, number[]>;
  byNameDay: Map<string, number[]>;
  byDay: Map<string, number[]>;
  bySha: Map<string, number>;
  /** A photo's capture time in seconds since 1970 (parsed once), or null. */
  timeOf(id: number): number | null;
}

/** Indexes the corpus; byte-identical copies ingest folded away find their kept photo by hash too. */
export function indexCorpus(
  photos: Photo[],
  duplicates: ReadonlyArray<{ sha256: string; photo_id: number }>,
): CorpusIndex {
  const byExact = new Map<string, number[]>();
  const bySecond = new Map<string, number[]>();
  const byNameDay = new Map<string, number[]>();
  const byDay = new Map<string, number[]>();
  const bySha = new Map<string, number>();
  for (const p of photos) {
    bySha.set(p.sha, p.id);
    if (p.t) {
      push(byExact, p.t, p.id);
      push(bySecond, p.t.slice(0, 19), p.id);
    }
    if (p.day) {
      push(byDay, p.day, p.id);
      if (p.name) push(byNameDay, `${p.name}|${p.day}`, p.id);
    }
  }
  for (const d of duplicates) bySha.set(d.sha256, d.photo_id);
  const photoById = new Map(photos.map((p) => [p.id, p]));
  const epochOf = new Map<number, number>();
  const timeOf = (id: number): number | null => {
    const q = photoById.get(id) as Photo;
    if (!q.t) return null;
    let e = epochOf.get(id);
    if (e === undefined) epochOf.set(id, (e = epoch(q.t)));
    return e;
  };
  return { photos, photoById, byExact, bySecond, byNameDay, byDay, bySha, timeOf };
}

/** The photographer's decisions as questions about one keeper. */
export interface DecisionBook {
  rejected(k: Keeper, photo: number): boolean;
  accepted(k: Keeper): number | null;
  /** He said this keeper has no original in the archive (and accepted none): it is settled before any step. */
  noOriginal(k: Keeper): boolean;
}

export function decisionBook(decisions: readonly MatchDecisionRow[]): DecisionBook {
  const byKeeper = new Map<string, MatchDecisionRow[]>();
  for (const d of decisions) {
    const key = `${d.keeper_path}\u0000${d.keeper_sha256}`;
    byKeeper.set(key, [...(byKeeper.get(key) ?? []), d]);
  }
  const of = (k: Keeper): MatchDecisionRow[] => byKeeper.get(`${k.path}\u0000${k.sha}`) ?? [];
  const accepted = (k: Keeper): number | null => of(k).find((d) => d.decision === 'accept')?.photo_id ?? null;
  return {
    rejected: (k, photo) => of(k).some((d) => d.photo_id === photo && d.decision === 'reject'),
    accepted,
    noOriginal: (k) => accepted(k) === null && of(k).some((d) => d.decision === 'none'),
  };
}

/** The keeper's capture time: EXIF, else the time in its canonical name. */
export const keeperTime = (k: Keeper): string | null => k.t ?? k.nameT;

/**
 * The keeper's walk: the day of its own (possibly wrong) clock, else its folder, and its camera (`day|camera`); a
 * clock offset is found per camera and period (offsets.ts) and applies to each walk of that period.
 */
export const sessionKey = (k: Keeper): string | null => {
  const t = keeperTime(k);
  const day = t ? dayOf(t) : k.folderDay;
  return day ? `${day}|${k.model ?? ''}` : null;
};

/** The day and camera of a walk's key. */
export const walkOf = (key: string): { day: string; camera: string } => ({
  day: key.slice(0, 10),
  camera: key.slice(11),
});

/** The clock offset of the keeper's walk in seconds (0 when none was found). */
export const offsetOf = (offsets: ReadonlyMap<string, ClockOffset>, k: Keeper): number => {
  const key = sessionKey(k);
  return key ? (offsets.get(key)?.seconds ?? 0) : 0;
};

/**
 * Whether two camera models are one camera type (when both are known): a GR III frame is never a GR IIIx keeper's
 * original, however its frame number and time agree.
 */
export const sameCamera = (a: string | null, b: string | null): boolean =>
  !a || !b || a.trim().toLowerCase() === b.trim().toLowerCase();

/** The frames whose time is the keeper's (after the offset): one exact frame, or a pool of the same time or second. */
function timeCandidates(
  ix: CorpusIndex,
  k: Keeper,
  offset: number,
): { exifUnique: number | null; pool: number[] | null } {
  if (!k.t) return { exifUnique: null, pool: null };
  const t = fromEpoch(epoch(k.t) - offset);
  const ofCamera = (ids: number[]): number[] =>
    ids.filter((id) => sameCamera(k.model, ix.photoById.get(id)?.model ?? null));
  const exact = ofCamera(ix.byExact.get(t) ?? []);
  const second = ofCamera(ix.bySecond.get(t.slice(0, 19)) ?? []);
  // an exact time names its frame (a keeper that lost its sub-second lands on the second's .00 frame, and the
  // look at the frames shot seconds apart sends it to review when another one looks more like it);
  // without an exact frame, the frames of the second are the pool
  if (exact.length === 1) return { exifUnique: exact[0] as number, pool: null };
  if (exact.length > 1) return { exifUnique: null, pool: exact };
  return { exifUnique: null, pool: second.length ? second : null };
}

/** Same camera name, on a day that agrees with the keeper's clock (whole-hour clock errors allowed). */
function nameCandidates(ix: CorpusIndex, k: Keeper, offset: number, pool: number[] | null): number[] {
  const kt = keeperTime(k);
  if (!k.name || !(kt || k.folderDay)) return [];
  const base = kt ? dayOf(fromEpoch(epoch(kt) - offset)) : (k.folderDay as string);
  const days = [base, addDays(base, -1), addDays(base, 1)];
  const all = days.flatMap((d) => ix.byNameDay.get(`${k.name}|${d}`) ?? []);
  let hits = all.filter((id) => {
    const p = ix.photoById.get(id) as Photo;
    if (!sameCamera(k.model, p.model)) return false;
    if (!kt || !p.t) return p.day === base;
    const delta = epoch(kt) - offset - epoch(p.t);
    const hours = Math.round(delta / 3600);
    return Math.abs(delta) < 2 || (Math.abs(delta - hours * 3600) < 2 && Math.abs(hours) <= 14);
  });
  if (pool) {
    const inPool = hits.filter((id) => pool.includes(id));
    if (inPool.length) hits = inPool;
  }
  return hits;
}

const undecided = (): Decision => ({
  photo: null,
  method: null,
  status: 'unmatched',
  similarity: null,
  reason: null,
  delta: null,
  pool: [],
  candidates: [],
});

/** Steps 1-3 for one keeper under a clock offset (seconds the keeper's clock runs ahead). */
export function metadataSteps(ix: CorpusIndex, book: DecisionBook, k: Keeper, offset: number): Decision {
  const none = undecided();
  // no link, no vote in the clock offsets and no evidence for calibration
  if (book.noOriginal(k)) return { ...none, reason: 'no original in the archive, as the photographer decided' };
  const shaHit = ix.bySha.get(k.sha);
  const kt = keeperTime(k);
  const { exifUnique, pool } = timeCandidates(ix, k, offset);
  const fileHits = nameCandidates(ix, k, offset, pool);
  const deltaTo = (id: number): number | null => {
    const p = ix.photoById.get(id) as Photo;
    return kt && p.t ? Math.round((epoch(kt) - epoch(p.t)) * 100) / 100 : null;
  };
  if (shaHit !== undefined && !book.rejected(k, shaHit)) {
    const method: MatchMethod =
      exifUnique === shaHit ? 'exif' : fileHits.length === 1 && fileHits[0] === shaHit ? 'filename' : 'sha256';
    return { ...none, photo: shaHit, method, status: 'matched', similarity: 1, delta: deltaTo(shaHit) };
  }
  if (exifUnique !== null && !book.rejected(k, exifUnique)) {
    const p = ix.photoById.get(exifUnique) as Photo;
    if (k.name && p.name && k.name !== p.name) {
      // the frame the name points at (within the keeper's second or an hour-shifted clock) is a candidate too
      const named = fileHits.filter((id) => id !== exifUnique && !book.rejected(k, id));
      return {
        ...none,
        status: 'review',
        reason: `EXIF time matches ${p.path}, but its camera name ${p.name} differs from ${k.name}`,
        pool: [exifUnique, ...named],
        candidates: [
          { id: exifUnique, similarity: null, note: 'exif time' },
          ...named.map((id) => ({ id, similarity: null, note: `camera name ${k.name}` })),
        ],
      };
    }
    return { ...none, photo: exifUnique, method: 'exif', status: 'matched', delta: deltaTo(exifUnique) };
  }
  const files = fileHits.filter((id) => !book.rejected(k, id));
  if (files.length === 1) {
    const photo = files[0] as number;
    return { ...none, photo, method: 'filename', status: 'matched', delta: deltaTo(photo) };
  }
  const restricted = files.length > 1 ? files : pool ? pool.filter((id) => !book.rejected(k, id)) : [];
  const note = files.length > 1 ? 'same name and day' : 'same second';
  return { ...none, pool: restricted, candidates: restricted.map((id) => ({ id, similarity: null, note })) };
}

/** Candidate photos: the keeper's walk and `days` neighbouring days (3650 and more: the whole corpus). */
export function dayWindow(
  ix: CorpusIndex,
  offsets: ReadonlyMap<string, ClockOffset>,
  k: Keeper,
  days: number,
): number[] {
  const off = offsetOf(offsets, k);
  const t = keeperTime(k);
  const base = t ? dayOf(fromEpoch(epoch(t) - off)) : k.folderDay;
  if (!base || days >= 3650) return ix.photos.map((p) => p.id);
  const out: number[] = [];
  for (let d = -days; d <= days; d++) out.push(...(ix.byDay.get(addDays(base, d)) ?? []));
  return out;
}

/** A scored candidate. */
export interface Scored {
  id: number;
  s: number;
}

/** Above this many photos the whole corpus is searched by brute force on the vectors, not pair by pair. */
export const WHOLE_CORPUS_PAIRS = 50_000;

/** Scores the keepers' candidate pairs; returns the top five per keeper, best first. */
async function topByPairs(
  keepers: readonly Keeper[],
  candidates: (k: Keeper) => number[],
  book: DecisionBook,
  scorer: PairScorer,
): Promise<Map<number, Scored[]>> {
  const pairs: Array<readonly [number, number]> = [];
  for (const k of keepers) for (const id of candidates(k)) if (!book.rejected(k, id)) pairs.push([k.id, id]);
  const scores = await scorer.score(pairs);
  const byKeeper = new Map<number, Scored[]>(keepers.map((k) => [k.id, []]));
  for (const [k, id] of pairs) {
    const s = scores.get(pairKey(k, id));
    if (s !== undefined) byKeeper.get(k)?.push({ id, s });
  }
  for (const [k, list] of byKeeper) byKeeper.set(k, list.sort((a, b) => b.s - a.s).slice(0, 5));
  return byKeeper;
}

/**
 * The similarity step's candidates: each keeper's pool when the metadata gave one, else its walk's days, widening
 * (1, 7, 60 days, then the whole corpus) only while nothing reaches the link threshold. The whole corpus is scored
 * pair by pair up to 50,000 photos; above, by brute force on the vectors (the scorer's `nearest`), and a keeper
 * without a date (no time, no day folder) goes there at once. Returns the top five per keeper, best first.
 */
export async function similarityCandidates(
  ix: CorpusIndex,
  book: DecisionBook,
  offsets: ReadonlyMap<string, ClockOffset>,
  keepers: readonly Keeper[],
  decided: ReadonlyMap<number, Decision>,
  scorer: PairScorer,
  link: number,
): Promise<Map<number, Scored[]>> {
  const scored = new Map<number, Scored[]>();
  const small = ix.photos.length <= WHOLE_CORPUS_PAIRS;
  const poolOf = (k: Keeper): number[] => (decided.get(k.id) as Decision).pool;
  const undated = (k: Keeper): boolean =>
    !small && scorer.nearest !== undefined && !poolOf(k).length && !keeperTime(k) && !k.folderDay;
  let pending = keepers.filter((k) => !undated(k));
  let whole = keepers.filter(undated);
  for (const days of small ? [1, 7, 60, 3650] : [1, 7, 60]) {
    if (pending.length === 0) break;
    const top = await topByPairs(
      pending,
      (k) => (poolOf(k).length ? poolOf(k) : dayWindow(ix, offsets, k, days)),
      book,
      scorer,
    );
    for (const [id, list] of top) scored.set(id, list);
    pending = pending.filter((k) => !poolOf(k).length && (scored.get(k.id)?.[0]?.s ?? -1) < link);
  }
  if (!small) whole = [...whole, ...pending];
  if (whole.length && scorer.nearest) {
    const near = await scorer.nearest(
      whole.map((k) => k.id),
      10,
    );
    for (const k of whole) {
      const list = (near.get(k.id) ?? []).filter((x) => !book.rejected(k, x.id)).slice(0, 5);
      // the whole corpus's best, unless a window found better (it cannot, but a rejected photo may be missing)
      if ((list[0]?.s ?? -1) > (scored.get(k.id)?.[0]?.s ?? -1)) scored.set(k.id, list);
    }
  }
  return scored;
}

/** Per keeper linked by time or name, the other frames of its photo's day shot within seconds of it. */
export function burstNeighbours(
  ix: CorpusIndex,
  book: DecisionBook,
  links: readonly Keeper[],
  decided: ReadonlyMap<number, Decision>,
): Map<number, number[]> {
  const nearOf = new Map<number, number[]>();
  for (const k of links) {
    const d = decided.get(k.id) as Decision;
    if (d.method === 'sha256') continue;
    const p = ix.photoById.get(d.photo as number) as Photo;
    const t = ix.timeOf(p.id);
    nearOf.set(
      k.id,
      t === null || !p.day
        ? []
        : (ix.byDay.get(p.day) ?? []).filter((id) => {
            if (id === p.id || book.rejected(k, id)) return false;
            const e = ix.timeOf(id);
            return e !== null && Math.abs(e - t) <= BURST_SECONDS;
          }),
    );
  }
  return nearOf;
}
