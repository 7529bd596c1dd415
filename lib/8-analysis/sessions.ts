/**
 * Keeper density by walk (session), and by the circumstances of the walk: hour of day, weekday, season, length.
 * Which walks produced the most keepers, and when does this photographer keep the most?
 */
import type { Db } from '../db/duckdb.js';

export interface SessionRow {
  session_date: string;
  photos: number;
  keepers: number;
  density: number;
  start_hour: number;
  minutes: number;
}

export interface SessionStats {
  sessions: SessionRow[];
  byHour: Array<{ hour: number; photos: number; keepers: number; density: number }>;
  byWeekday: Array<{ weekday: number; photos: number; keepers: number; density: number }>;
  bySeason: Array<{ season: string; photos: number; keepers: number; density: number }>;
  byLength: Array<{ length: string; sessions: number; photos: number; keepers: number; density: number }>;
  top: SessionRow[];
}

/** Keeper counts and rates per walk and per circumstance; `top` lists the walks with the most keepers. */
export async function sessionStats(db: Db, topN = 10): Promise<SessionStats> {
  const sessions = await db.all<SessionRow>(`SELECT CAST(session_date AS VARCHAR) AS session_date, count(*) AS photos,
    count(*) FILTER (WHERE keeper) AS keepers, count(*) FILTER (WHERE keeper) / count(*) AS density,
    hour(min(captured_at)) AS start_hour, round(date_diff('second', min(captured_at), max(captured_at)) / 60.0) AS
    minutes
    FROM photos WHERE session_date IS NOT NULL GROUP BY session_date ORDER BY session_date`);
  const group = (
    expr: string,
    name: string,
  ): string => `SELECT ${expr} AS ${name}, count(*) AS photos, count(*) FILTER (WHERE keeper) AS keepers,
    count(*) FILTER (WHERE keeper) / count(*) AS density FROM photos WHERE captured_at IS NOT NULL GROUP BY 1 ORDER
    BY 1`;
  const byHour = await db.all<SessionStats['byHour'][number]>(group('hour(captured_at)', 'hour'));
  const byWeekday = await db.all<SessionStats['byWeekday'][number]>(group('isodow(captured_at)', 'weekday'));
  const bySeason = await db.all<SessionStats['bySeason'][number]>(
    group(
      `CASE WHEN month(captured_at) IN (12, 1, 2) THEN '1 winter'
    WHEN month(captured_at) IN (3, 4, 5) THEN '2 spring' WHEN month(captured_at) IN (6, 7, 8) THEN '3 summer' ELSE
    '4 autumn' END`,
      'season',
    ),
  );
  const byLength = await db.all<
    SessionStats['byLength'][number]
  >(`WITH s AS (SELECT session_date, count(*) AS photos, count(*) FILTER (WHERE keeper) AS keepers
    FROM photos WHERE session_date IS NOT NULL GROUP BY 1)
    SELECT CASE WHEN photos < 30 THEN '1 short (< 30 frames)' WHEN photos < 80 THEN '2 medium (30-79)' ELSE '3 long
    (80+)' END AS length,
    count(*) AS sessions, sum(photos) AS photos, sum(keepers) AS keepers, sum(keepers) / sum(photos) AS density
    FROM s GROUP BY 1 ORDER BY 1`);
  const top = [...sessions]
    .sort((a, b) => b.keepers - a.keepers || b.density - a.density || a.session_date.localeCompare(b.session_date))
    .slice(0, topN);
  return { sessions, byHour, byWeekday, bySeason, byLength, top };
}

/** Keeper density by place, where GPS exists: photos grouped on a grid of about 1 km (0.01 degree). */
export async function placeStats(
  db: Db,
  topN = 20,
): Promise<{
  withGps: number;
  places: Array<{ lat: number; lon: number; photos: number; keepers: number; density: number; sessions: number }>;
}> {
  const withGps = Number(
    await db.value('SELECT count(*) FROM photos WHERE gps_lat IS NOT NULL AND gps_lon IS NOT NULL'),
  );
  const places = withGps
    ? await db.all<{ lat: number; lon: number; photos: number; keepers: number; density: number; sessions: number }>(
        `SELECT round(gps_lat, 2) AS lat,
    round(gps_lon, 2) AS lon, count(*) AS photos, count(*) FILTER (WHERE keeper) AS keepers, count(*) FILTER (WHERE
    keeper) / count(*) AS density,
    count(DISTINCT session_date) AS sessions FROM photos WHERE gps_lat IS NOT NULL AND gps_lon IS NOT NULL GROUP BY 1, 2
    ORDER BY keepers DESC, photos DESC LIMIT ?`,
        [topN],
      )
    : [];
  return { withGps, places };
}

/** Keeper rate by weekday (rows, Monday first) and hour (columns), for a heatmap; null where no photo. */
export async function weekdayHourDensity(
  db: Db,
): Promise<{ weekdays: string[]; hours: number[]; density: Array<Array<number | null>> }> {
  const rows = await db.all<{
    wd: number;
    h: number;
    photos: number;
    keepers: number;
  }>(`SELECT isodow(captured_at) AS wd, hour(captured_at) AS h,
    count(*) AS photos, count(*) FILTER (WHERE keeper) AS keepers FROM photos WHERE captured_at IS NOT NULL GROUP
    BY 1, 2`);
  const hours = Array.from({ length: 24 }, (_, h) => h);
  const density = Array.from({ length: 7 }, () => hours.map((): number | null => null));
  for (const r of rows) (density[r.wd - 1] as Array<number | null>)[r.h] = r.keepers / r.photos;
  return { weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], hours, density };
}
