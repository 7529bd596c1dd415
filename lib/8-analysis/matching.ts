/**
 * What matching found, for the matching notebook and the report: counts per method and status, clock offsets,
 * the review queue with thumbnails, and the two similarity distributions the thresholds came from.
 */
import type { Db } from '../db/duckdb.js';
import type { CalibrationRow } from '../db/matching.js';
import { workspaceOf } from '../2-embed/embed.js';
import { escapeHtml, previewDataUri, svgBars } from '../util/html.js';

export interface MatchOverview {
  byStatusMethod: Array<{ match_status: string; match_method: string | null; keepers: number }>;
  offsets: Array<{ day: string; camera: string; clock_offset_seconds: number; links: number; agreeing: number }>;
  calibration: CalibrationRow | null;
  queue: Array<{
    path: string;
    status: string;
    reason: string | null;
    keeperPreview: string | null;
    candidatePath: string | null;
    candidatePreview: string | null;
    similarity: number | null;
  }>;
  workspace: string;
}

export async function matchOverview(db: Db): Promise<MatchOverview> {
  const byStatusMethod = await db.all<
    MatchOverview['byStatusMethod'][number]
  >(`SELECT match_status, match_method, count(*) AS keepers
    FROM keeper_files GROUP BY ALL ORDER BY match_status, match_method`);
  const offsets = await db.all<MatchOverview['offsets'][number]>(
    `SELECT CAST(day AS VARCHAR) AS day, camera, clock_offset_seconds, links, agreeing FROM match_sessions
    ORDER BY day, camera`,
  );
  const [cal] = await db.all<{
    source: string;
    link: number;
    review: number;
    margin: number;
    calibrated: boolean;
    true_pairs: number[];
    siblings: number[];
  }>('SELECT * FROM match_calibration ORDER BY computed_at DESC LIMIT 1');
  const queue = await db.all<
    MatchOverview['queue'][number]
  >(`SELECT k.path, k.match_status AS status, k.review_reason AS reason, k.preview AS keeperPreview,
    p.path AS candidatePath, p.preview AS candidatePreview, c.similarity
    FROM keeper_files k LEFT JOIN match_candidates c ON c.keeper_id = k.keeper_id AND c.rank = 1 LEFT JOIN photos p
    ON p.photo_id = c.photo_id
    WHERE k.match_status <> 'matched' ORDER BY k.match_status, k.path`);
  return {
    byStatusMethod,
    offsets,
    queue,
    workspace: await workspaceOf(db),
    calibration: cal
      ? {
          source: cal.source,
          link: cal.link,
          review: cal.review,
          margin: cal.margin,
          calibrated: cal.calibrated,
          truePairs: cal.true_pairs,
          siblings: cal.siblings,
        }
      : null,
  };
}

/** The review queue as HTML cards: keeper beside its best candidate. */
export function queueHtml(o: MatchOverview, limit = 30): string {
  const cards = o.queue
    .slice(0, limit)
    .map(
      (q) => `<div style="display:flex;gap:8px;margin:6px 0;font:12px sans-serif">
    <img src="${previewDataUri(o.workspace, q.keeperPreview)}" height="120" style="outline:2px solid #c33">
    <img src="${previewDataUri(o.workspace, q.candidatePreview)}" height="120">
    <div><b>${escapeHtml(q.path)}</b> (${escapeHtml(q.status)})<br>best candidate: ${escapeHtml(
      q.candidatePath ?? 'none',
    )}
    ${q.similarity === null ? '' : `, similarity ${q.similarity.toFixed(3)}`}<br>${escapeHtml(
      q.reason ?? '',
    )}</div></div>`,
    )
    .join('');
  return cards || '<i>nothing to review</i>';
}

/** Histogram counts of values in [lo, hi] with `bins` bins, as labelled bars. */
export function histogram(
  values: number[],
  lo: number,
  hi: number,
  bins: number,
): Array<{ label: string; value: number }> {
  const out = Array.from({ length: bins }, (_, i) => ({ label: (lo + ((hi - lo) * i) / bins).toFixed(3), value: 0 }));
  for (const v of values) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)));
    (out[i] as { value: number }).value++;
  }
  return out;
}

/** The two similarity distributions behind the thresholds, as SVG bar charts. */
export function calibrationSvg(o: MatchOverview): string {
  if (!o.calibration) return '<i>no calibration yet</i>';
  const all = [...o.calibration.truePairs, ...o.calibration.siblings];
  const lo = Math.floor(Math.min(...all, o.calibration.link) * 50) / 50;
  return (
    svgBars(histogram(o.calibration.truePairs, lo, 1, 25), {
      title:
        `true pairs whose bytes differ (n=${o.calibration.truePairs.length}); ` +
        `link threshold ${o.calibration.link.toFixed(3)}`,
    }) +
    svgBars(histogram(o.calibration.siblings, lo, 1, 25), {
      title: `most similar other frame of the same walk (n=${o.calibration.siblings.length})`,
    })
  );
}
