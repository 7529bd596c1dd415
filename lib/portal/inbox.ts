/**
 * The inbox as the portal lists it: the photos `flux score --inbox` scored (`inbox_scores` joined to
 * `inbox_photos` by path), by keeper score, with their bursts (frames of one walk a few seconds apart, the
 * best-scored frame on top) and the photographer's decisions.
 */
import { resolve } from 'node:path';
import { isInside } from '../util/fsutil.js';
import type { Db, SqlValue } from '../db/duckdb.js';
import { tableExists } from '../db/table.js';
import { archiveRoots } from '../db/schema.js';
import { FluxError } from '../util/check.js';
import type { OverlayBox } from '../util/html.js';
import { peopleBoxes } from '../4-dataset/people.js';
import { scoreText } from '../6-score/inbox-page.js';
import { isValidDateTime } from '../1-ingest/names.js';

/** Frames at most this far apart (chained) are one burst. */
export const BURST_GAP_MS = 3000;
/** The longest page the API serves. */
export const MAX_LIMIT = 1000;
export const BANDS = ['review', 'uncertain', 'unlikely', 'failure', 'unscored'] as const;

export interface InboxQuery {
  limit: number;
  offset: number;
  band?: string;
  /** YYYY-MM-DD, the capture day. */
  day?: string;
  /** List each burst once, by its best frame, with the other frames in `stack`. */
  stacks?: boolean;
}

export interface InboxItem {
  photo_id: number;
  path: string;
  keeper_score: number | null;
  /** The score as the pages show it (two decimals; '<0.01' and '>0.99' at the ends), '–' when not scored. */
  score_text: string;
  band: string;
  surfaced: boolean | null;
  reason: string | null;
  captured_at: string | null;
  day: string | null;
  /** The best frame of this photo's burst (itself when alone). */
  burst: number;
  burst_size: number;
  /** 1 for the best-scored frame of the burst. */
  burst_rank: number;
  decision: 'keep' | 'reject' | null;
  decided_at: string | null;
  preview: string | null;
  /** People and faces detected in the photo (flux detect), for the overlay; absent when none were. */
  people?: OverlayBox[];
  stack?: InboxItem[];
}

export interface InboxPage {
  /** Items in this listing (bursts when stacked), over all pages. */
  total: number;
  /** Photos under the filters, and how many of them are decided. */
  photos: number;
  decided: number;
  items: InboxItem[];
  note?: string;
}

/** Checks and reads the query string of `GET /api/inbox`. */
export function parseInboxQuery(params: URLSearchParams): InboxQuery {
  const int = (name: string, fallback: number, max: number): number => {
    const raw = params.get(name);
    if (raw === null || raw === '') return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) > max)
      throw new FluxError(`${name}: expected an integer 0..${max}, received ${JSON.stringify(raw)}`);
    return Number(raw);
  };
  const band = params.get('band') || undefined;
  if (band !== undefined && !(BANDS as readonly string[]).includes(band)) {
    throw new FluxError(`band: expected one of ${BANDS.join(', ')}, received ${JSON.stringify(band)}`);
  }
  const day = params.get('day') || undefined;
  // a date of the calendar, as ingest reads capture times: 2024-13-45 has the form but is no day
  const ymd = day === undefined ? null : /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (day !== undefined && !(ymd && isValidDateTime(Number(ymd[1]), Number(ymd[2]), Number(ymd[3]))))
    throw new FluxError(`day: expected a date YYYY-MM-DD, received ${JSON.stringify(day)}`);
  const stacks = params.get('stacks');
  return {
    limit: int('limit', 100, MAX_LIMIT),
    offset: int('offset', 0, Number.MAX_SAFE_INTEGER),
    band,
    day,
    stacks: stacks === '1' || stacks === 'true',
  };
}

/** The scored inbox with bursts and decisions, filtered: a SQL prefix defining `r`. */
function rankedCte(decisions: boolean): string {
  const order = 'b.keeper_score DESC NULLS LAST, b.raw_score DESC NULLS LAST, b.photo_id';
  return `WITH s AS (
  SELECT p.inbox_id AS photo_id, p.path, sc.keeper_score, coalesce(sc.band, 'unscored') AS band, sc.surfaced, sc.reason,
    sc.raw_score,
    p.captured_at, CAST(CAST(p.captured_at AS DATE) AS VARCHAR) AS day, p.preview IS NOT NULL AS has_preview
  FROM inbox_scores sc JOIN inbox_photos p ON p.path = sc.path
  WHERE (CAST(? AS VARCHAR) IS NULL OR coalesce(sc.band, 'unscored') = ?)
    AND (CAST(? AS DATE) IS NULL OR CAST(p.captured_at AS DATE) = CAST(? AS DATE))
), t AS (
  SELECT *, CASE WHEN captured_at IS NOT NULL AND CAST(captured_at AS DATE) = CAST(lag(captured_at) OVER w AS DATE)
    AND date_diff('millisecond', lag(captured_at) OVER w, captured_at) <= ${BURST_GAP_MS} THEN 0 ELSE 1 END AS starts
  FROM s WINDOW w AS (ORDER BY captured_at NULLS LAST, photo_id)
), b AS (
  SELECT *, sum(starts) OVER (ORDER BY captured_at NULLS LAST, photo_id ROWS UNBOUNDED PRECEDING) AS burst_no FROM t
), r AS (
  SELECT b.*, row_number() OVER (PARTITION BY burst_no ORDER BY ${order}) AS burst_rank,
    count(*) OVER (PARTITION BY burst_no) AS burst_size,
    first_value(b.photo_id) OVER (PARTITION BY burst_no ORDER BY ${order}) AS burst,
    ${decisions ? 'd.decision' : 'NULL'} AS decision,
    ${decisions ? `strftime(d.decided_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z'` : 'NULL'} AS decided_at
  FROM b ${decisions ? 'LEFT JOIN review_decisions d ON d.photo_id = b.photo_id' : ''}
)`;
}

const COLUMNS = `photo_id, path, keeper_score, band, surfaced, reason, CAST(captured_at AS VARCHAR) AS captured_at, day,
  burst, burst_size, burst_rank, decision, decided_at, has_preview, raw_score`;

type Raw = Omit<InboxItem, 'preview' | 'score_text'> & { has_preview: boolean; raw_score: number | null };

const toItem = (r: Raw): InboxItem => {
  const { has_preview: hasPreview, raw_score: _raw, ...rest } = r;
  return {
    ...rest,
    score_text: r.keeper_score === null ? '–' : scoreText(r.keeper_score),
    preview: hasPreview ? `/api/photos/${r.photo_id}/preview` : null,
  };
};

/** One page of the inbox, by keeper score (highest first; unscored photos last). */
export async function inboxPage(db: Db, q: InboxQuery): Promise<InboxPage> {
  if (!(await tableExists(db, 'inbox_scores'))) {
    return {
      total: 0,
      photos: 0,
      decided: 0,
      items: [],
      note: `no scored inbox in ${db.file} yet; run flux score --db ${db.file} --inbox DIR`,
    };
  }
  const decisions = await tableExists(db, 'review_decisions');
  const params: SqlValue[] = [q.band ?? null, q.band ?? null, q.day ?? null, q.day ?? null];
  const order = 'keeper_score DESC NULLS LAST, raw_score DESC NULLS LAST, captured_at NULLS LAST, photo_id';
  const tops = q.stacks ? 'WHERE burst_rank = 1' : '';
  const pageSql = `${rankedCte(decisions)}, page AS (SELECT * FROM r ${tops} ORDER BY ${order} LIMIT ? OFFSET ?)
    SELECT ${COLUMNS}, (SELECT count(*) FROM r ${q.stacks ? 'WHERE burst_rank = 1' : ''}) AS total,
      (SELECT count(*) FROM r) AS photos, (SELECT count(decision) FROM r) AS decided
    FROM ${q.stacks ? 'r WHERE burst IN (SELECT photo_id FROM page)' : 'page'}`;
  const rows = await db.all<Raw & { total: number; photos: number; decided: number }>(pageSql, [
    ...params,
    q.limit,
    q.offset,
  ]);
  const counts =
    rows[0] ??
    (
      await db.all<{ total: number; photos: number; decided: number }>(
        `${rankedCte(decisions)}
    SELECT ${q.stacks ? 'count(*) FILTER (WHERE burst_rank = 1)' : 'count(*)'} AS total, count(*) AS photos,
      count(decision) AS decided FROM r`,
        params,
      )
    )[0];
  const byScore = (a: Raw, b: Raw): number =>
    (b.keeper_score ?? -1) - (a.keeper_score ?? -1) ||
    (b.raw_score ?? -Infinity) - (a.raw_score ?? -Infinity) ||
    String(a.captured_at ?? '\uffff').localeCompare(String(b.captured_at ?? '\uffff')) ||
    a.photo_id - b.photo_id;
  const sorted = [...rows].sort(byScore);
  let items: InboxItem[];
  if (q.stacks) {
    const tops = sorted.filter((r) => r.burst_rank === 1);
    items = tops.map((t) => ({
      ...toItem(t),
      stack: sorted.filter((r) => r.burst === t.photo_id && r.burst_rank > 1).map(toItem),
    }));
  } else {
    items = sorted.map(toItem);
  }
  const boxes = await peopleBoxes(db, 'inbox', { ids: rows.map((r) => Number(r.photo_id)) });
  const withBoxes = (i: InboxItem): InboxItem => {
    const b = boxes.get(Number(i.photo_id));
    return { ...i, ...(b ? { people: b } : {}), ...(i.stack ? { stack: i.stack.map(withBoxes) } : {}) };
  };
  items = items.map(withBoxes);
  return {
    total: Number(counts?.total ?? 0),
    photos: Number(counts?.photos ?? 0),
    decided: Number(counts?.decided ?? 0),
    items,
  };
}

/** The values the inbox filters offer: bands and capture days with their photo counts. */
export async function inboxFilters(
  db: Db,
): Promise<{ bands: Array<{ band: string; photos: number }>; days: Array<{ day: string | null; photos: number }> }> {
  if (!(await tableExists(db, 'inbox_scores'))) return { bands: [], days: [] };
  const bands = await db.all<{
    band: string;
    photos: number;
  }>(`SELECT coalesce(sc.band, 'unscored') AS band, count(*) AS photos
    FROM inbox_scores sc JOIN inbox_photos p ON p.path = sc.path GROUP BY 1 ORDER BY 1`);
  const days = await db.all<{
    day: string | null;
    photos: number;
  }>(`SELECT CAST(CAST(p.captured_at AS DATE) AS VARCHAR) AS day, count(*) AS photos
    FROM inbox_scores sc JOIN inbox_photos p ON p.path = sc.path GROUP BY 1 ORDER BY 1 NULLS LAST`);
  const rank = (b: string): number => (BANDS as readonly string[]).indexOf(b);
  return { bands: bands.sort((a, b) => rank(a.band) - rank(b.band)), days };
}

/**
 * The file of an inbox photo: its path under the inbox folder the database recorded, by id (never from request
 * text); null for an id the inbox does not hold, or a path that would leave the folder.
 */
export async function inboxPhotoFile(db: Db, id: number): Promise<string | null> {
  const root = (await archiveRoots(db)).inbox;
  const rel = await db.value<string>('SELECT path FROM inbox_photos WHERE inbox_id = ?', [id]);
  if (!root || !rel) return null;
  const file = resolve(root, rel);
  return isInside(file, root) && file !== resolve(root) ? file : null;
}
