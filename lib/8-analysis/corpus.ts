/**
 * What is in the index: photos per year, month and session, cameras and settings, errors and duplicates.
 */
import type { Db } from '../db/duckdb.js';
import { svgBars } from '../util/html.js';

export interface CorpusOverview {
  photos: number;
  sessions: number;
  firstDay: string | null;
  lastDay: string | null;
  duplicates: number;
  perYear: Array<{ year: number; photos: number; sessions: number; keepers: number }>;
  perMonth: Array<{ month: string; photos: number }>;
  perMonthSvg: string;
  perSession: Array<{ session_date: string; photos: number; first: string; last: string; minutes: number }>;
  cameras: Array<{ make: string; model: string; photos: number }>;
  settings: Array<{ setting: string; median: number; p10: number; p90: number }>;
  errors: Array<{ root: string; path: string; stage: string; message: string }>;
  duplicateList: Array<{ path: string; kept: string }>;
}

/** Summaries of the corpus for the corpus notebook and the report. */
export async function corpusOverview(db: Db): Promise<CorpusOverview> {
  const [head] = await db.all<{
    photos: number;
    sessions: number;
    first: string | null;
    last: string | null;
    dups: number;
  }>(`SELECT count(*) AS photos,
    count(DISTINCT session_date) AS sessions, CAST(min(session_date) AS VARCHAR) AS first, CAST(max(session_date)
    AS VARCHAR) AS last,
    (SELECT count(*) FROM corpus_duplicates) AS dups FROM photos`);
  const perYear = await db.all<
    CorpusOverview['perYear'][number]
  >(`SELECT year(session_date) AS year, count(*) AS photos,
    count(DISTINCT session_date) AS sessions, count(*) FILTER (WHERE keeper) AS keepers FROM photos WHERE
    session_date IS NOT NULL GROUP BY 1 ORDER BY 1`);
  const perMonth = await db.all<
    CorpusOverview['perMonth'][number]
  >(`SELECT strftime(session_date, '%Y-%m') AS month, count(*) AS photos
    FROM photos WHERE session_date IS NOT NULL GROUP BY 1 ORDER BY 1`);
  const perSession = await db.all<
    CorpusOverview['perSession'][number]
  >(`SELECT CAST(session_date AS VARCHAR) AS session_date, count(*) AS photos,
    strftime(min(captured_at), '%H:%M') AS first, strftime(max(captured_at), '%H:%M') AS last,
    round(date_diff('second', min(captured_at), max(captured_at)) / 60.0) AS minutes
    FROM photos WHERE session_date IS NOT NULL GROUP BY session_date ORDER BY session_date`);
  const cameras = await db.all<
    CorpusOverview['cameras'][number]
  >(`SELECT coalesce(make, '(no EXIF)') AS make, coalesce(model, '(no EXIF)') AS model,
    count(*) AS photos FROM photos GROUP BY ALL ORDER BY photos DESC`);
  const settings: CorpusOverview['settings'] = [];
  for (const [label, col] of [
    ['ISO', 'iso'],
    ['f-number', 'f_number'],
    ['exposure (s)', 'exposure_time'],
    ['focal length (mm)', 'focal_length'],
  ] as const) {
    const [r] = await db.all<{
      median: number;
      p10: number;
      p90: number;
    }>(`SELECT median(${col}) AS median, quantile_cont(${col}, 0.1) AS p10,
      quantile_cont(${col}, 0.9) AS p90 FROM photos WHERE ${col} IS NOT NULL`);
    if (r && r.median !== null) settings.push({ setting: label, ...r });
  }
  const errors = await db.all<CorpusOverview['errors'][number]>(
    'SELECT root, path, stage, message FROM ingest_errors ORDER BY root, path',
  );
  const duplicateList = await db.all<
    CorpusOverview['duplicateList'][number]
  >(`SELECT d.path, p.path AS kept FROM corpus_duplicates d
    JOIN photos p USING (photo_id) ORDER BY d.path`);
  return {
    photos: head?.photos ?? 0,
    sessions: head?.sessions ?? 0,
    firstDay: head?.first ?? null,
    lastDay: head?.last ?? null,
    duplicates: head?.dups ?? 0,
    perYear,
    perMonth,
    perMonthSvg: svgBars(
      perMonth.map((m) => ({ label: m.month, value: m.photos })),
      { title: 'photos per month' },
    ),
    perSession,
    cameras,
    settings,
    errors,
    duplicateList,
  };
}

/**
 * The camera settings as a photographer reads them, each row to its own precision (one number of decimals for a
 * whole column would print an ISO as 400.000): ISO and focal length whole, the f-number to a tenth, a shutter speed
 * of 1/3 s or shorter as 1/N, a longer one in seconds.
 */
export function settingsText(
  rows: CorpusOverview['settings'],
): Array<Record<'setting' | 'median' | 'p10' | 'p90', string>> {
  const text = (setting: string, v: number): string =>
    setting.startsWith('exposure')
      ? 1 / v >= 3
        ? `1/${Math.round(1 / v)}`
        : v.toFixed(1)
      : setting === 'f-number'
        ? v.toFixed(1)
        : String(Math.round(v));
  return rows.map((r) => ({
    setting: r.setting,
    median: text(r.setting, r.median),
    p10: text(r.setting, r.p10),
    p90: text(r.setting, r.p90),
  }));
}
