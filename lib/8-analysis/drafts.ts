/**
 * Issue drafts: sequences of 36 photos for a printed issue, proposed from the photos that score high. Each draft
 * takes the best-scoring photos (model score first, so confirmed keepers are ranked among themselves too) without
 * two frames of one burst and with at most a few frames per walk, then runs in chronological order. A burst is a
 * chain: frames of a walk each within `burstSeconds` of the one before, however long the chain runs (as the inbox
 * groups them). Taking the best of each burst, walk by walk up to the limit, makes as many picks as any choice could.
 * Later drafts use what earlier drafts left. The photographer edits; the drafts only propose.
 */
import type { Db } from '../db/duckdb.js';
import { tableColumns } from '../db/table.js';
import { checkInt, FluxError } from '../util/check.js';

export interface DraftOptions {
  /** Photos per draft (default 36). */
  size?: number;
  /** Drafts to propose (default 3). */
  drafts?: number;
  /** Lowest keeper score a candidate may have (default 0.8: review recommended and confirmed keepers). */
  minScore?: number;
  /** Frames of one walk taken within this many seconds of each other count as one burst (default 2). */
  burstSeconds?: number;
  /** Most frames of one walk in a draft (default 4). */
  maxPerWalk?: number;
  /** Leave the confirmed keepers out (new discoveries only). */
  excludeKeepers?: boolean;
}

export interface DraftPhoto {
  photoId: number;
  path: string;
  preview: string | null;
  capturedAt: string;
  session: string;
  score: number;
  keeper: boolean;
}

export interface Drafts {
  candidates: number;
  /** Photos that score high enough but have no capture time: no walk or burst to place them by, left out. */
  undated: number;
  drafts: Array<{ index: number; photos: DraftPhoto[] }>;
  /** Why fewer drafts than asked (too few high scores), or null. */
  note: string | null;
  options: Required<DraftOptions>;
}

/** The drafts' undated high scores in words, to follow the count of candidates (empty without any). */
export const undatedText = (undated: number): string =>
  undated ? ` (and ${undated} more without a capture time, left out: no walk or burst to place them by)` : '';

/** Proposes drafts from `photos.keeper_score` (run flux score first). */
export async function issueDrafts(db: Db, options: DraftOptions = {}): Promise<Drafts> {
  const o: Required<DraftOptions> = {
    size: checkInt('--size', options.size ?? 36, 1, 1000),
    drafts: checkInt('--drafts', options.drafts ?? 3, 1, 100),
    minScore: options.minScore ?? 0.8,
    burstSeconds: options.burstSeconds ?? 2,
    maxPerWalk: checkInt('--max-per-walk', options.maxPerWalk ?? 4, 1, 1000),
    excludeKeepers: options.excludeKeepers ?? false,
  };
  const photoColumns = await tableColumns(db, 'photos');
  const hasModelScore = photoColumns.includes('model_score');
  // a calibration can tie many photos; the model's raw score keeps its order among them
  const rawOrder = photoColumns.includes('raw_score') ? 'raw_score DESC NULLS LAST, ' : '';
  const scored = Number(await db.value('SELECT count(*) FROM photos WHERE keeper_score IS NOT NULL'));
  if (!scored) throw new FluxError('drafts: no photo has a keeper score yet; run flux train and flux score first');
  const rows = await db.all<{
    id: number;
    path: string;
    preview: string | null;
    t: string;
    epoch: number;
    session: string;
    burst: number;
    score: number;
    model: number | null;
    keeper: boolean;
  }>(
    `
    WITH gaps AS (
      SELECT photo_id, session_date, captured_at,
        CASE WHEN epoch(captured_at) - lag(epoch(captured_at)) OVER (PARTITION BY session_date
          ORDER BY captured_at, photo_id) <= ? THEN 0 ELSE 1 END AS starts
      FROM photos WHERE captured_at IS NOT NULL),
    bursts AS (
      SELECT photo_id, sum(starts) OVER (PARTITION BY session_date ORDER BY captured_at, photo_id
        ROWS UNBOUNDED PRECEDING) AS burst FROM gaps)
    SELECT photo_id AS id, path, preview, CAST(captured_at AS VARCHAR) AS t, epoch(captured_at) AS epoch,
    CAST(session_date AS VARCHAR) AS session, CAST(b.burst AS INTEGER) AS burst,
      keeper_score AS score, ${hasModelScore ? 'model_score' : 'keeper_score'} AS model, coalesce(keeper, false) AS
      keeper
    FROM photos JOIN bursts b USING (photo_id) WHERE keeper_score >= ?
    ${o.excludeKeepers ? 'AND NOT coalesce(keeper, false)' : ''}
    ORDER BY coalesce(${hasModelScore ? 'model_score' : 'keeper_score'}, keeper_score) DESC,
    ${rawOrder}keeper_score DESC, captured_at, photo_id`,
    [o.burstSeconds, o.minScore],
  );
  // photos that score high enough but have no capture time: no walk or burst to place them by, so left out (said)
  const undated = Number(
    await db.value(
      `SELECT count(*) FROM photos WHERE keeper_score >= ? AND captured_at IS NULL
      ${o.excludeKeepers ? 'AND NOT coalesce(keeper, false)' : ''}`,
      [o.minScore],
    ),
  );
  const used = new Set<number>();
  const drafts: Drafts['drafts'] = [];
  for (let d = 0; d < o.drafts; d++) {
    const picked: typeof rows = [];
    const perWalk = new Map<string, number>();
    const bursts = new Set<string>();
    for (const r of rows) {
      if (picked.length >= o.size) break;
      if (used.has(r.id)) continue;
      if ((perWalk.get(r.session) ?? 0) >= o.maxPerWalk) continue;
      if (bursts.has(`${r.session}:${r.burst}`)) continue;
      picked.push(r);
      bursts.add(`${r.session}:${r.burst}`);
      perWalk.set(r.session, (perWalk.get(r.session) ?? 0) + 1);
    }
    if (picked.length < o.size) break;
    for (const p of picked) used.add(p.id);
    drafts.push({
      index: d + 1,
      photos: picked
        .sort((a, b) => a.epoch - b.epoch || a.id - b.id)
        .map((r) => ({
          photoId: r.id,
          path: r.path,
          preview: r.preview,
          capturedAt: r.t,
          session: r.session,
          score: r.score,
          keeper: r.keeper,
        })),
    });
  }
  const note =
    drafts.length < o.drafts
      ? `${rows.length} photos score at least ${o.minScore}${undatedText(undated)}; ${drafts.length} ` +
        `draft${drafts.length === 1 ? '' : 's'} of ${o.size} could be made without repeating a burst or more than ` +
        `${o.maxPerWalk} frames of one walk`
      : null;
  return { candidates: rows.length, undated, drafts, note, options: o };
}
