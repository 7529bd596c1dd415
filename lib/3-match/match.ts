/**
 * `flux match`: link every keeper file to its original in the corpus, by the cascade EXIF time -> Ricoh filename ->
 * SHA-256 -> image similarity, never labelling a wrong photo. What the cascade cannot decide goes to review.
 *
 * Safety rules, beyond the cascade:
 * - a byte-identical file (SHA-256) is definitive and overrides names and times;
 * - a candidate whose camera name or capture time contradicts the keeper's (after the session's clock offset) is
 *   never linked by similarity: a burst sibling has another frame number and another sub-second;
 * - a similarity link needs the calibrated threshold and a clear margin over the second-best candidate.
 */
import { Db } from '../db/duckdb.js';
import { ensureSchema } from '../db/schema.js';
import { defaultModel } from '../2-embed/models.js';
import { workspaceOf } from '../2-embed/embed.js';
import { vectorGlob } from '../2-embed/store.js';
import { FluxError } from '../util/check.js';
import { throttle, type OnProgress } from '../util/progress.js';
import { modelScorer, pairKey, thumbnailScorer, type PairScorer } from './vectors.js';

export type MatchMethod = 'exif' | 'filename' | 'sha256' | 'similarity';
export type MatchStatus = 'matched' | 'review' | 'unmatched';

/** The photo_id a `none` decision is stored with: the photographer says the keeper's original is not in the archive. */
export const NO_ORIGINAL = -1;

export interface MatchOptions {
  db: string;
  /** Embedding model whose vectors the similarity step uses; default: the best one with vectors, else thumbnails. */
  model?: string;
  /** Re-decide every keeper, not only new or undecided ones. */
  all?: boolean;
  onProgress?: OnProgress;
}

export interface Thresholds {
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

export interface MatchReport {
  keepers: number;
  processed: number;
  byMethod: Record<string, number>;
  byStatus: Record<string, number>;
  offsets: Array<{ day: string; seconds: number; links: number; agreeing: number }>;
  thresholds: Thresholds;
  unmatched: string[];
  review: Array<{ path: string; reason: string }>;
  /** Keeper files ingest could not read as photos (not a JPEG, truncated, empty): never matched, listed with the reason. */
  unreadable: Array<{ path: string; reason: string }>;
  seconds: number;
  /** Seconds spent in the metadata steps (loading, EXIF, filename, SHA-256, offsets) and in the similarity step. */
  timings: { metadata: number; similarity: number; keepersBySimilarity: number };
}

interface Photo { id: number; t: string | null; name: string | null; day: string | null; sha: string; path: string; preview: string | null }
interface Keeper {
  id: number; path: string; sha: string; t: string | null; nameT: string | null; name: string | null; folderDay: string | null;
  preview: string | null; status: string | null; matched: number | null; method: string | null;
}
interface Decision {
  photo: number | null; method: MatchMethod | null; status: MatchStatus; similarity: number | null; reason: string | null;
  /** Seconds between the keeper's time and the photo's (keeper minus photo), for offset detection. */
  delta: number | null;
  /** Photos the metadata narrowed the keeper down to (same name and day, same second): similarity looks only here. */
  pool: number[];
  /** What the review table lists for this keeper (written to match_candidates). */
  candidates: Array<{ id: number; similarity: number | null; note: string }>;
}

/** Seconds since 1970 of a `YYYY-MM-DD HH:MM:SS.ffffff` time, to the microsecond (cameras write up to 6 sub-second digits). */
const epoch = (t: string): number => Date.parse(`${t.slice(0, 19).replace(' ', 'T')}Z`) / 1000 + (t.length > 20 ? Number(`0${t.slice(19, 26)}`) : 0);
/** The inverse of {@link epoch}, to the microsecond, so a keeper's time compares equal to its original's. */
const fromEpoch = (s: number): string => {
  const micros = Math.round(s * 1e6);
  const whole = Math.floor(micros / 1e6);
  const iso = new Date(whole * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros - whole * 1e6).padStart(6, '0')}`;
};
const dayOf = (t: string): string => t.slice(0, 10);
/** Frames shot this close to a link's photo are the ones a time or name could be confused with (a burst). */
const BURST_SECONDS = 5;
/** Whether a time carries a sub-second other than zero (`.000000` may as well be a camera that wrote none). */
const hasFraction = (t: string): boolean => /\.\d*[1-9]/.test(t.slice(19));
/**
 * Whether a candidate's capture time contradicts the keeper's (seconds since 1970, the keeper's after its walk's
 * clock offset). A keeper with a sub-second names one frame of a burst: its original has that sub-second. A keeper
 * without one names the second: its original lies within it.
 */
export function timeContradicts(keeperT: string, keeperEpoch: number, photoEpoch: number): boolean {
  const d = photoEpoch - keeperEpoch;
  return hasFraction(keeperT) ? Math.abs(d) > 0.02 : d < -0.02 || d >= 1;
}
/** Why a similarity link waits for the photographer on an archive too small to calibrate the thresholds on. */
const UNCALIBRATED = 'similarity is not calibrated on this archive (too few keepers linked by metadata), so it links nothing by itself';
const addDays = (day: string, n: number): string => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** Adds the columns and tables matching writes. */
export async function ensureMatchSchema(db: Db): Promise<void> {
  for (const col of ['matched_photo_id BIGINT', 'match_method VARCHAR', 'match_similarity DOUBLE', 'match_status VARCHAR',
    'clock_offset_seconds DOUBLE', 'review_reason VARCHAR']) {
    await db.run(`ALTER TABLE keeper_files ADD COLUMN IF NOT EXISTS ${col}`);
  }
  await db.run(`CREATE TABLE IF NOT EXISTS match_sessions (day DATE PRIMARY KEY, clock_offset_seconds DOUBLE, links INTEGER, agreeing INTEGER)`);
  await db.run(`CREATE TABLE IF NOT EXISTS match_candidates (keeper_id BIGINT, rank INTEGER, photo_id BIGINT, similarity DOUBLE, note VARCHAR, PRIMARY KEY (keeper_id, rank))`);
  // the photographer's decisions, keyed by the keeper file's path and content so they survive re-ingest and re-runs
  await db.run(`CREATE TABLE IF NOT EXISTS match_decisions (keeper_path VARCHAR, keeper_sha256 VARCHAR, photo_id BIGINT, decision VARCHAR,
    decided_at TIMESTAMP DEFAULT current_timestamp, PRIMARY KEY (keeper_path, keeper_sha256, photo_id))`);
  await db.run(`CREATE TABLE IF NOT EXISTS match_calibration (source VARCHAR PRIMARY KEY, link DOUBLE, review DOUBLE, margin DOUBLE, calibrated BOOLEAN,
    true_pairs DOUBLE[], siblings DOUBLE[], computed_at TIMESTAMP DEFAULT current_timestamp)`);
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return (s[lo] as number) + ((s[Math.min(lo + 1, s.length - 1)] as number) - (s[lo] as number)) * (pos - lo);
};

/**
 * Thresholds from the archive itself: a link must beat every sibling similarity seen (plus a small gap), and links
 * below the midpoint between that and 1 also go to review. Without enough evidence the CLIP defaults are used for
 * CLIP models and every similarity link goes to review for the others.
 */
export function calibrate(source: string, truePairs: number[], siblings: number[]): Thresholds {
  const enough = truePairs.length >= 3 && siblings.length >= 5;
  if (!enough) {
    const clip = source.includes('clip');
    return { source, link: clip ? 0.98 : 0.995, review: clip ? 0.99 : 1.01, margin: 0.02, calibrated: false, truePairs, siblings };
  }
  const sibMax = Math.max(...siblings);
  const link = Math.min(0.999, Math.max(sibMax + 0.005, quantile(siblings, 0.99) + 0.01));
  const review = link + (1 - link) / 2;
  // the margin over the second-best is a fraction of the gap between a typical sibling and a certain link
  const margin = Math.max(0.005, (link - quantile(siblings, 0.5)) / 4);
  return { source, link, review, margin, calibrated: true, truePairs, siblings };
}

/** Runs the cascade. */
export async function match(options: MatchOptions): Promise<MatchReport> {
  const t0 = performance.now();
  const onProgress = throttle(options.onProgress);
  const db = await Db.openIndex(options.db);
  try {
    await ensureSchema(db);
    await ensureMatchSchema(db);
    const workspace = await workspaceOf(db);
    const photos = await db.all<Photo>(`SELECT photo_id AS id, strftime(captured_at, '%Y-%m-%d %H:%M:%S.%f') AS t, original_filename AS name,
      CAST(session_date AS VARCHAR) AS day, sha256 AS sha, path, preview FROM photos`);
    const keepers = await db.all<Keeper>(`SELECT keeper_id AS id, path, sha256 AS sha, strftime(captured_at, '%Y-%m-%d %H:%M:%S.%f') AS t,
      strftime(name_captured_at, '%Y-%m-%d %H:%M:%S.%f') AS nameT, original_filename AS name, CAST(folder_date AS VARCHAR) AS folderDay,
      preview, match_status AS status, matched_photo_id AS matched, match_method AS method FROM keeper_files ORDER BY path`);
    const decisions = await db.all<{ keeper_path: string; keeper_sha256: string; photo_id: number; decision: string }>('SELECT * FROM match_decisions');
    const photoById = new Map(photos.map((p) => [p.id, p]));
    const byExact = new Map<string, number[]>();
    const bySecond = new Map<string, number[]>();
    const byNameDay = new Map<string, number[]>();
    const byDay = new Map<string, number[]>();
    const bySha = new Map<string, number>();
    const push = (m: Map<string, number[]>, k: string, v: number): void => {
      const a = m.get(k);
      if (a) a.push(v);
      else m.set(k, [v]);
    };
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
    for (const d of await db.all<{ sha256: string; photo_id: number }>('SELECT sha256, photo_id FROM corpus_duplicates')) bySha.set(d.sha256, d.photo_id);

    const keeperTime = (k: Keeper): string | null => k.t ?? k.nameT;
    /** The keeper's walk: the day of its own (possibly wrong) clock, else its folder. */
    const sessionKey = (k: Keeper): string | null => {
      const t = keeperTime(k);
      return t ? dayOf(t) : k.folderDay;
    };
    const rejected = (k: Keeper, photo: number): boolean => decisions.some((d) => d.keeper_path === k.path && d.keeper_sha256 === k.sha && d.photo_id === photo && d.decision === 'reject');
    const accepted = (k: Keeper): number | null => decisions.find((d) => d.keeper_path === k.path && d.keeper_sha256 === k.sha && d.decision === 'accept')?.photo_id ?? null;
    /** The photographer said this keeper has no original in the archive (and accepted none): it is settled before any step. */
    const noOriginal = (k: Keeper): boolean => accepted(k) === null && decisions.some((d) => d.keeper_path === k.path && d.keeper_sha256 === k.sha && d.decision === 'none');

    /** Steps 1-3 for one keeper under a clock offset (seconds the keeper's clock runs ahead). */
    const metadataSteps = (k: Keeper, offset: number): Decision => {
      const none: Decision = { photo: null, method: null, status: 'unmatched', similarity: null, reason: null, delta: null, pool: [], candidates: [] };
      // no link, no vote in the clock offsets and no evidence for calibration
      if (noOriginal(k)) return { ...none, reason: 'no original in the archive, as the photographer decided' };
      const shaHit = bySha.get(k.sha);
      const kt = keeperTime(k);
      const t = k.t ? fromEpoch(epoch(k.t) - offset) : null;
      let pool: number[] | null = null;
      let exifUnique: number | null = null;
      if (t) {
        const exact = byExact.get(t) ?? [];
        const second = bySecond.get(t.slice(0, 19)) ?? [];
        // an exact time names its frame (a keeper that lost its sub-second lands on the second's .00 frame, and the
        // look at the frames shot seconds apart below sends it to review when another one looks more like it);
        // without an exact frame, the frames of the second are the pool
        if (exact.length === 1) exifUnique = exact[0] as number;
        else if (exact.length > 1) pool = exact;
        else if (second.length) pool = second;
      }
      // filename: same camera name, on a day that agrees with the keeper's clock (whole-hour clock errors allowed)
      let fileHits: number[] = [];
      if (k.name && (kt || k.folderDay)) {
        const base = kt ? dayOf(fromEpoch(epoch(kt) - offset)) : k.folderDay as string;
        const days = [base, addDays(base, -1), addDays(base, 1)];
        const all = days.flatMap((d) => byNameDay.get(`${k.name}|${d}`) ?? []);
        fileHits = all.filter((id) => {
          const p = photoById.get(id) as Photo;
          if (!kt || !p.t) return p.day === base;
          const delta = epoch(kt) - offset - epoch(p.t);
          const hours = Math.round(delta / 3600);
          return Math.abs(delta) < 2 || (Math.abs(delta - hours * 3600) < 2 && Math.abs(hours) <= 14);
        });
        if (pool) {
          const inPool = fileHits.filter((id) => (pool as number[]).includes(id));
          if (inPool.length) fileHits = inPool;
        }
      }
      const deltaTo = (id: number): number | null => {
        const p = photoById.get(id) as Photo;
        return kt && p.t ? Math.round((epoch(kt) - epoch(p.t)) * 100) / 100 : null;
      };
      if (shaHit !== undefined && !rejected(k, shaHit)) {
        const method: MatchMethod = exifUnique === shaHit ? 'exif' : fileHits.length === 1 && fileHits[0] === shaHit ? 'filename' : 'sha256';
        return { ...none, photo: shaHit, method, status: 'matched', similarity: 1, delta: deltaTo(shaHit) };
      }
      if (exifUnique !== null && !rejected(k, exifUnique)) {
        const p = photoById.get(exifUnique) as Photo;
        if (k.name && p.name && k.name !== p.name) {
          // the frame the name points at (within the keeper's second or an hour-shifted clock) is a candidate too
          const named = fileHits.filter((id) => id !== exifUnique && !rejected(k, id));
          return { ...none, status: 'review', reason: `EXIF time matches ${p.path}, but its camera name ${p.name} differs from ${k.name}`,
            pool: [exifUnique, ...named], candidates: [{ id: exifUnique, similarity: null, note: 'exif time' }, ...named.map((id) => ({ id, similarity: null, note: `camera name ${k.name}` }))] };
        }
        return { ...none, photo: exifUnique, method: 'exif', status: 'matched', delta: deltaTo(exifUnique) };
      }
      const files = fileHits.filter((id) => !rejected(k, id));
      if (files.length === 1) return { ...none, photo: files[0] as number, method: 'filename', status: 'matched', delta: deltaTo(files[0] as number) };
      const restricted = files.length > 1 ? files : pool ? pool.filter((id) => !rejected(k, id)) : [];
      return { ...none, pool: restricted, candidates: restricted.map((id) => ({ id, similarity: null, note: files.length > 1 ? 'same name and day' : 'same second' })) };
    };

    // ---- which keepers to decide: new, undecided, or linked to a photo that is gone
    // ... or one the photographer has since said something about: its link rejected, no original, another accepted
    const revisited = (k: Keeper): boolean => k.matched !== null && (rejected(k, k.matched) || noOriginal(k) || (accepted(k) ?? k.matched) !== k.matched);
    const todo = keepers.filter((k) => options.all || k.status === null || k.status !== 'matched' || k.matched === null || !photoById.has(k.matched) || revisited(k));
    const decided = new Map<number, Decision>();
    onProgress({ stage: 'match', done: 0, total: todo.length });
    for (const k of todo) decided.set(k.id, metadataSteps(k, 0));

    // ---- clock offsets: per keeper walk, the delta most links agree on
    const offsets = new Map<string, { seconds: number; links: number; agreeing: number }>();
    const groups = new Map<string, number[]>();
    for (const k of keepers) {
      const key = sessionKey(k);
      if (!key) continue;
      // a keeper decided by an earlier run votes as it did then (its metadata steps without an offset, which is what
      // the keepers of this run hold so far), so a re-run finds the same offsets from the same votes
      const v = decided.get(k.id) ?? metadataSteps(k, 0);
      if (v.photo !== null && v.delta !== null) push(groups as Map<string, number[]>, key, v.delta);
    }
    for (const [key, deltas] of groups) {
      // a clock set wrong moves every time by whole seconds and keeps the sub-second; a delta of a fraction is a
      // keeper that lost its sub-second (0.75 s is not an offset of 1 s), so it does not vote
      // a keeper that lost its sub-second is behind its frame by a fraction (delta = offset - fraction): its vote is
      // the whole second above, so 0.75 s early is no offset and an hour less 0.35 s is an hour
      const rounded = deltas.map((x) => (Math.abs(x - Math.round(x)) <= 0.02 ? Math.round(x) : Math.ceil(x)));
      const counts = new Map<number, number>();
      for (const r of rounded) counts.set(r, (counts.get(r) ?? 0) + 1);
      const [best, n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] as [number, number];
      if (best !== 0 && n >= 2 && n / deltas.length >= 0.6) offsets.set(key, { seconds: best, links: deltas.length, agreeing: n });
    }
    for (const k of todo) {
      const key = sessionKey(k);
      const off = key ? offsets.get(key) : undefined;
      if (off) decided.set(k.id, metadataSteps(k, off.seconds));
    }

    // ---- similarity: vectors from the embedding model, else small thumbnails of the previews
    const modelId = options.model ?? (() => {
      const m = defaultModel();
      return m && vectorGlob(workspace, m.spec.id, 'photos') && vectorGlob(workspace, m.spec.id, 'keepers') ? m.spec.id : null;
    })();
    if (modelId && !(vectorGlob(workspace, modelId, 'photos') && vectorGlob(workspace, modelId, 'keepers'))) {
      throw new FluxError(`--model: no vectors of ${modelId} yet; run flux embed --db ${options.db} --model ${modelId} first`);
    }
    const tMeta = (performance.now() - t0) / 1000;
    const keeperById = new Map(keepers.map((k) => [k.id, k]));
    const thumbs = thumbnailScorer(workspace, (id) => keeperById.get(id)?.preview ?? null, (id) => photoById.get(id)?.preview ?? null);
    const scorer = modelId ? modelScorer(db, workspace, modelId) : thumbs;
    const source = scorer.source;
    const needSimilarity = todo.filter((k) => (decided.get(k.id) as Decision).status !== 'matched' && !noOriginal(k));
    // calibration learns from links made by steps 1-3 only, so a re-run sees the same evidence as the first run
    const linked = keepers.filter((k) => {
      const d = decided.get(k.id);
      return d ? d.photo !== null && d.method !== 'similarity'
        : k.status === 'matched' && k.method !== 'similarity' && k.matched !== null && photoById.has(k.matched);
    });
    const photoOf = (k: Keeper): number => (decided.get(k.id)?.photo ?? k.matched) as number;
    // candidate photos: the keeper's walk and neighbouring days
    const window = (k: Keeper, days: number): number[] => {
      const key = sessionKey(k);
      const off = key ? offsets.get(key)?.seconds ?? 0 : 0;
      const t = keeperTime(k);
      const base = t ? dayOf(fromEpoch(epoch(t) - off)) : k.folderDay;
      if (!base || days >= 3650) return photos.map((p) => p.id);
      const out: number[] = [];
      for (let d = -days; d <= days; d++) out.push(...(byDay.get(addDays(base, d)) ?? []));
      return out;
    };
    // calibration from the archive: true pairs whose bytes differ, and the most similar other frame of each walk,
    // from at most 300 linked keepers spread over the archive (with the model and with thumbnails)
    const step = Math.max(1, Math.floor(linked.length / 300));
    const calib = linked.filter((_, i) => i % step === 0);
    const calibPairs: Array<readonly [number, number]> = [];
    const othersOf = (p: Photo): number[] => {
      const same = (byDay.get(p.day ?? '') ?? []).filter((id) => id !== p.id);
      if (same.length) return same;
      // a walk of one frame has no siblings: the frames of the nearest days stand in for them, else frames from
      // across the archive (a small archive of single photos)
      const near = [-3, -2, -1, 1, 2, 3].flatMap((d) => byDay.get(addDays(p.day ?? '1970-01-01', d)) ?? []).slice(0, 200);
      if (near.length) return near;
      const stride = Math.max(1, Math.floor(photos.length / 200));
      return photos.filter((x, i) => i % stride === 0 && x.id !== p.id).map((x) => x.id);
    };
    for (const k of calib) {
      const p = photoById.get(photoOf(k)) as Photo;
      calibPairs.push([k.id, p.id]);
      for (const id of othersOf(p)) calibPairs.push([k.id, id]);
    }
    const distributions = async (sc: PairScorer): Promise<{ truePairs: number[]; siblings: number[] }> => {
      const scores = await sc.score(calibPairs);
      const truePairs: number[] = [];
      const siblings: number[] = [];
      for (const k of calib) {
        const p = photoById.get(photoOf(k)) as Photo;
        const s = scores.get(pairKey(k.id, p.id));
        if (s === undefined) continue;
        if (p.sha !== k.sha) truePairs.push(s);
        let best = -1;
        for (const id of othersOf(p)) best = Math.max(best, scores.get(pairKey(k.id, id)) ?? -1);
        if (best > -1) siblings.push(best);
      }
      return { truePairs, siblings };
    };
    const { truePairs, siblings } = await distributions(scorer);
    const thresholds = calibrate(source, truePairs, siblings);
    // a second, independent look for similarity links: grey thumbnails of the previews, calibrated the same way
    // (a copy or re-encode is near 1; a burst sibling with people moved is not)
    let thumbLink = 1.01;
    if (needSimilarity.length && modelId) {
      const t = await distributions(thumbs);
      // halfway between the closest sibling seen and 1 (a burst frame of near-identical pixels comes very close to
      // 1, a re-encode of the photo itself closer still); when siblings reach 1, thumbnails cannot tell a copy from a
      // burst frame, and the second look never makes a link sure
      const top = Math.max(...t.siblings);
      const bar = top + (1 - top) / 2;
      if (t.siblings.length >= 5 && 1 - top > 1e-5) thumbLink = bar;
    }
    // metadata links get their similarity recorded (a low one is a warning sign worth a look)
    const metaLinks = todo.filter((k) => (decided.get(k.id) as Decision).photo !== null);
    const metaScores = await scorer.score(metaLinks.map((k) => [k.id, (decided.get(k.id) as Decision).photo as number] as const));
    // a link by time or name (not by identical bytes) is looked at beside the frames shot within seconds of it: when
    // one of them looks more like the keeper, the metadata may point at the wrong frame of a burst (an editor that
    // dropped the sub-second, a time copied from another file)
    const epochOf = new Map<number, number>();
    const timeOf = (id: number): number | null => {
      const q = photoById.get(id) as Photo;
      if (!q.t) return null;
      let e = epochOf.get(id);
      if (e === undefined) epochOf.set(id, (e = epoch(q.t)));
      return e;
    };
    const nearOf = new Map<number, number[]>();
    for (const k of metaLinks) {
      const d = decided.get(k.id) as Decision;
      if (d.method === 'sha256') continue;
      const p = photoById.get(d.photo as number) as Photo;
      const t = timeOf(p.id);
      nearOf.set(k.id, t === null || !p.day ? [] : (byDay.get(p.day) ?? []).filter((id) => {
        if (id === p.id || rejected(k, id)) return false;
        const e = timeOf(id);
        return e !== null && Math.abs(e - t) <= BURST_SECONDS;
      }));
    }
    const nearPairs = [...nearOf.entries()].flatMap(([kid, ids]) => ids.map((id) => [kid, id] as const));
    const nearScores = await scorer.score(nearPairs);
    // far below what true pairs score here: a different picture under the same time or name
    const unlike = truePairs.length >= 3 ? Math.min(quantile(truePairs, 0.05) - 0.1, thresholds.link) : (siblings.length ? Math.min(...siblings) : 0) - 0.2;
    for (const k of metaLinks) {
      const d = decided.get(k.id) as Decision;
      if (d.similarity === null) d.similarity = metaScores.get(pairKey(k.id, d.photo as number)) ?? null;
      if (d.method === 'sha256' || d.similarity === null) continue;
      const rival = (nearOf.get(k.id) ?? []).map((id) => ({ id, s: nearScores.get(pairKey(k.id, id)) ?? -1 })).sort((a, b) => b.s - a.s)[0];
      // a rival by a clear margin, or by any amount when the independent thumbnail look prefers it too
      let prefersRival = false;
      if (rival && rival.s > (d.similarity as number)) {
        // a keeper time without a sub-second pins only the second: a frame of that second that looks more like the
        // keeper, by any amount, is enough doubt
        const sameSecond = k.t !== null && !hasFraction(k.t) && Math.abs((timeOf(rival.id) ?? Infinity) - (timeOf(d.photo as number) ?? -Infinity)) < 1;
        if (sameSecond || rival.s >= (d.similarity as number) + thresholds.margin) prefersRival = true;
        else if (modelId) {
          const t2 = await thumbs.score([[k.id, rival.id], [k.id, d.photo as number]]);
          prefersRival = (t2.get(pairKey(k.id, rival.id)) ?? -1) > (t2.get(pairKey(k.id, d.photo as number)) ?? 2);
        }
      }
      if (rival && prefersRival) {
        const p = photoById.get(d.photo as number) as Photo;
        const q = photoById.get(rival.id) as Photo;
        Object.assign(d, {
          status: 'review', pool: [d.photo as number, rival.id],
          reason: `linked by ${d.method} to ${p.path}, but ${q.path}, shot ${Math.abs((timeOf(q.id) as number) - (timeOf(p.id) as number)).toFixed(2)} s from it, looks more like the keeper (${rival.s.toFixed(3)} vs ${d.similarity.toFixed(3)})`,
          candidates: [{ id: d.photo as number, similarity: d.similarity, note: `${d.method}` }, { id: rival.id, similarity: rival.s, note: 'a frame shot seconds apart' }],
        });
        d.photo = null;
        d.method = null;
      } else if (thresholds.calibrated && d.similarity < unlike) {
        d.status = 'review';
        d.reason = `linked by ${d.method}, but the images look unlike each other (similarity ${d.similarity.toFixed(3)}; true pairs here score from ${quantile(truePairs, 0.05).toFixed(3)})`;
      }
    }
    // similarity: restricted candidates, else the walk's days, widening only while nothing reaches the threshold
    const scored = new Map<number, Array<{ id: number; s: number }>>();
    let pending = needSimilarity;
    // the whole corpus is the last resort only for archives small enough to compare against in full
    for (const days of photos.length <= 50_000 ? [1, 7, 60, 3650] : [1, 7, 60]) {
      if (pending.length === 0) break;
      const pairs: Array<readonly [number, number]> = [];
      for (const k of pending) {
        const restricted = (decided.get(k.id) as Decision).pool;
        for (const id of restricted.length ? restricted : window(k, days)) if (!rejected(k, id)) pairs.push([k.id, id]);
      }
      const scores = await scorer.score(pairs);
      const byKeeper = new Map<number, Array<{ id: number; s: number }>>();
      for (const [k, id] of pairs) {
        const s = scores.get(pairKey(k, id));
        if (s === undefined) continue;
        const list = byKeeper.get(k) ?? [];
        list.push({ id, s });
        byKeeper.set(k, list);
      }
      const next: Keeper[] = [];
      for (const k of pending) {
        const list = (byKeeper.get(k.id) ?? []).sort((a, b) => b.s - a.s).slice(0, 5);
        scored.set(k.id, list);
        const restricted = (decided.get(k.id) as Decision).pool.length > 0;
        if (!restricted && (list[0]?.s ?? -1) < thresholds.link) next.push(k);
      }
      pending = next;
    }
    let done = todo.length - needSimilarity.length;
    for (const k of needSimilarity) {
      const d = decided.get(k.id) as Decision;
      const key = sessionKey(k);
      const off = key ? offsets.get(key)?.seconds ?? 0 : 0;
      const kt = k.t ? epoch(k.t) - off : null;
      // a candidate whose frame number or capture time contradicts the keeper's is never linked by similarity
      const contradiction = (id: number): string | null => {
        const p = photoById.get(id) as Photo;
        if (k.name && p.name && k.name !== p.name) return `camera name ${p.name} is not ${k.name}`;
        if (kt !== null && k.t && p.t && timeContradicts(k.t, kt, epoch(p.t))) return `taken at ${p.t.slice(0, 22)}, the keeper at ${fromEpoch(kt).slice(0, 22)}`;
        return null;
      };
      // the independent thumbnail look at the keeper beside a photo (null without a model)
      const thumbLook = async (id: number): Promise<number | null> => (modelId ? (await thumbs.score([[k.id, id]])).get(pairKey(k.id, id)) ?? null : null);
      // the frames of one second of a burst look alike: an image does not choose among them by itself
      const burstPool = d.pool.length > 1 && d.candidates.length > 0 && d.candidates.every((c) => c.note === 'same second');
      const top = scored.get(k.id) ?? [];
      d.candidates = top.map((x) => ({ id: x.id, similarity: x.s, note: contradiction(x.id) ?? 'no contradiction' }));
      const best = top[0];
      const second = top[1]?.s ?? -1;
      if (!best) {
        d.status = 'unmatched';
        d.reason = 'nothing to compare: the keeper has no vector (its preview failed) or no corpus photo has one';
      } else if (best.s >= thresholds.link) {
        const why = contradiction(best.id);
        if (why) {
          d.status = 'review';
          d.reason = `the most similar photo (${best.s.toFixed(3)}) contradicts the keeper: ${why}; its original may be missing`;
        } else if (best.s - second < thresholds.margin) {
          d.status = 'review';
          d.reason = `two photos are almost equally similar (${best.s.toFixed(3)} vs ${second.toFixed(3)})`;
        } else {
          d.photo = best.id;
          d.method = 'similarity';
          d.similarity = best.s;
          const thumb = await thumbLook(best.id);
          const sure = !burstPool && thresholds.calibrated && (best.s >= thresholds.review || (thumb !== null && thumb >= thumbLink));
          d.status = sure ? 'matched' : 'review';
          d.reason = sure ? null : burstPool ? `the keeper's time names a second with ${d.pool.length} frames of a burst; the most similar is ${best.s.toFixed(3)}, to confirm`
            : !thresholds.calibrated ? `linked by similarity ${best.s.toFixed(3)}; ${UNCALIBRATED}`
            : `linked by similarity ${best.s.toFixed(3)}, below the sure threshold ${thresholds.review.toFixed(3)}` +
              `${thumb === null ? '' : thumbLink > 1 ? `; thumbnails cannot confirm a link on this archive (burst frames reach 1)` : `, thumbnail similarity ${thumb.toFixed(5)} below ${thumbLink.toFixed(5)}`}`;
        }
      } else if (best.s >= thresholds.link - 2 * thresholds.margin && !contradiction(best.id)) {
        // just below the model's threshold: linked only when the independent thumbnail look is sure as well and no
        // other photo comes close; otherwise it waits for the photographer
        const thumb = await thumbLook(best.id);
        if (!burstPool && thresholds.calibrated && thumb !== null && thumb >= thumbLink && best.s - second >= thresholds.margin) {
          Object.assign(d, { photo: best.id, method: 'similarity', similarity: best.s, status: 'matched', reason: null });
        } else {
          d.status = 'review';
          d.reason = `most similar photo ${best.s.toFixed(3)} is just below the link threshold ${thresholds.link.toFixed(3)}` +
            (!thresholds.calibrated ? `; ${UNCALIBRATED}` : `${thumb === null ? '' : thumbLink > 1 ? '; thumbnails cannot confirm a link on this archive (burst frames reach 1)' : ` (thumbnail similarity ${thumb.toFixed(5)}, sure at ${thumbLink.toFixed(5)})`}`);
        }
      } else {
        d.status = 'unmatched';
        d.reason = `no corpus photo is similar enough (best ${best.s.toFixed(3)}, threshold ${thresholds.link.toFixed(3)})`;
      }
      onProgress({ stage: 'match', done: ++done, total: todo.length, detail: k.path });
    }
    const tSim = (performance.now() - t0) / 1000 - tMeta;
    // the photographer's accepted links win over everything
    for (const k of todo) {
      const a = accepted(k);
      if (a !== null && photoById.has(a)) {
        const d = decided.get(k.id) as Decision;
        const s2 = (await scorer.score([[k.id, a]])).get(pairKey(k.id, a)) ?? null;
        Object.assign(d, { photo: a, status: 'matched', method: d.photo === a && d.method ? d.method : 'similarity', reason: 'accepted by the photographer', similarity: s2 });
      }
    }

    // ---- write: keeper rows, candidates, offsets, and the keeper flags on photos
    await db.transaction(async () => {
      // one bulk update through a temporary table: 15,000 single-row updates would take most of a minute
      await db.run(`CREATE OR REPLACE TEMP TABLE match_out (keeper_id BIGINT, photo BIGINT, method VARCHAR, similarity DOUBLE, status VARCHAR,
        off DOUBLE, reason VARCHAR)`);
      await db.insert('match_out', ['keeper_id', 'photo', 'method', 'similarity', 'status', 'off', 'reason'], todo.map((k) => {
        const d = decided.get(k.id) as Decision;
        const key = sessionKey(k);
        // a review row keeps its proposed photo, so the contact sheet can show it, but it is not a label
        return [k.id, d.photo, d.method, d.similarity, d.status, key ? offsets.get(key)?.seconds ?? 0 : 0, d.reason];
      }));
      await db.run(`UPDATE keeper_files SET matched_photo_id = o.photo, match_method = o.method, match_similarity = o.similarity,
        match_status = o.status, clock_offset_seconds = o.off, review_reason = o.reason FROM match_out o WHERE keeper_files.keeper_id = o.keeper_id`);
      await db.run('DELETE FROM match_candidates WHERE keeper_id IN (SELECT keeper_id FROM match_out)');
      await db.run('DROP TABLE match_out');
      await db.insert('match_candidates', ['keeper_id', 'rank', 'photo_id', 'similarity', 'note'],
        todo.flatMap((k) => (decided.get(k.id) as Decision).candidates.map((c, i) => [k.id, i + 1, c.id, c.similarity, c.note])));
      await db.run('DELETE FROM match_sessions');
      await db.insert('match_sessions', ['day', 'clock_offset_seconds', 'links', 'agreeing'], [...offsets.entries()].map(([day, o]) => [day, o.seconds, o.links, o.agreeing]));
      await db.run(`INSERT OR REPLACE INTO match_calibration (source, link, review, margin, calibrated, true_pairs, siblings)
        VALUES (?, ?, ?, ?, ?, ?::DOUBLE[], ?::DOUBLE[])`, [source, thresholds.link, thresholds.review, thresholds.margin, thresholds.calibrated,
        JSON.stringify(truePairs), JSON.stringify(siblings)]);
      await db.run(`UPDATE photos SET keeper = false, keeper_edited = false, keeper_score = CASE WHEN keeper_score = 1.0 THEN NULL ELSE keeper_score END WHERE keeper`);
      await db.run(`UPDATE photos SET keeper = true, keeper_score = 1.0,
        keeper_edited = NOT EXISTS (SELECT 1 FROM keeper_files k2 WHERE k2.matched_photo_id = photos.photo_id AND k2.match_status = 'matched' AND k2.sha256 = photos.sha256)
        WHERE photo_id IN (SELECT matched_photo_id FROM keeper_files WHERE match_status = 'matched')`);
    });

    const rows = await db.all<{ path: string; match_method: string | null; match_status: string; review_reason: string | null }>(
      'SELECT path, match_method, match_status, review_reason FROM keeper_files ORDER BY path');
    const count = (xs: Array<string | null>): Record<string, number> => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x ?? '-']: (m[x ?? '-'] ?? 0) + 1 }), {});
    return {
      keepers: keepers.length, processed: todo.length,
      byMethod: count(rows.filter((r) => r.match_status === 'matched').map((r) => r.match_method)),
      byStatus: count(rows.map((r) => r.match_status)),
      offsets: [...offsets.entries()].map(([day, o]) => ({ day, ...o })),
      thresholds,
      unmatched: rows.filter((r) => r.match_status === 'unmatched').map((r) => r.path),
      review: rows.filter((r) => r.match_status === 'review').map((r) => ({ path: r.path, reason: r.review_reason ?? '' })),
      unreadable: await unreadableKeepers(db),
      seconds: (performance.now() - t0) / 1000,
      timings: { metadata: tMeta, similarity: tSim, keepersBySimilarity: needSimilarity.length },
    };
  } finally {
    db.close();
  }
}

/** The match summary as text. */
export function formatMatch(r: MatchReport): string {
  const t = r.thresholds;
  const lines = [
    `${r.keepers} keeper files, ${r.processed} decided in this run`,
    `status: ${Object.entries(r.byStatus).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `matched by: ${Object.entries(r.byMethod).map(([k, v]) => `${k} ${v}`).join(', ') || '-'}`,
    `clock offsets: ${r.offsets.map((o) => `${o.day} ${o.seconds >= 0 ? '+' : ''}${o.seconds} s (${o.agreeing}/${o.links} links)`).join(', ') || 'none'}`,
    `similarity (${t.source}): ` + (t.calibrated ? `link >= ${t.link.toFixed(4)}, sure >= ${t.review.toFixed(4)}, margin ${t.margin.toFixed(4)}`
      : `not calibrated (too few keepers linked by metadata to learn thresholds from): candidates from ${t.link.toFixed(4)} go to review`) +
      `; true pairs n=${t.truePairs.length}` +
      `${t.truePairs.length ? ` min ${Math.min(...t.truePairs).toFixed(4)}` : ''}, siblings n=${t.siblings.length}${t.siblings.length ? ` max ${Math.max(...t.siblings).toFixed(4)}` : ''}`,
  ];
  for (const u of r.unmatched) lines.push(`unmatched: ${u}`);
  for (const v of r.review) lines.push(`review: ${v.path}: ${v.reason}`);
  for (const u of r.unreadable) lines.push(`could not be read as a photo, not matched: ${u.path}: ${u.reason}`);
  return lines.join('\n');
}

/** Keeper files ingest could not read as photos, with the reason (ingest_errors, root keepers; not sidecars or walk problems). */
export async function unreadableKeepers(db: Db): Promise<Array<{ path: string; reason: string }>> {
  return db.all<{ path: string; reason: string }>(`SELECT path, message AS reason FROM ingest_errors WHERE root = 'keepers' AND stage <> 'walk' ORDER BY path`);
}
