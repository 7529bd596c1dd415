/**
 * The matching review in the portal: each doubtful keeper beside its candidate originals with the evidence
 * (capture times, similarity, the matcher's note). Accept, reject and "no original" go through `applyDecisions`
 * of `flux match apply`, fed a one-row review CSV, so the portal stores exactly what the CSV route stores; they take
 * effect on the next `flux match`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Db } from '../db/duckdb.js';
import { tableExists } from '../db/table.js';
import { applyDecisions } from '../3-match/review.js';
import { csvCell } from '../util/csv.js';
import { FluxError } from '../util/check.js';
import { escapeHtml, pageHtml } from '../util/html.js';

export const MATCH_DECISIONS = ['accept', 'reject', 'none'] as const;
export type MatchDecision = (typeof MATCH_DECISIONS)[number];

interface QueueRow {
  keeper_id: number;
  keeper_path: string;
  keeper_sha256: string;
  keeper_time: string | null;
  reason: string | null;
  has_keeper_preview: boolean;
  rank: number | null;
  photo_id: number | null;
  photo_path: string | null;
  photo_time: string | null;
  has_photo_preview: boolean | null;
  similarity: number | null;
  note: string | null;
  decision: string | null;
  /** The photographer said this keeper has no original in the archive (accepting a candidate withdraws it). */
  no_original: boolean;
}

/** What a keeper answered "no original" shows: the answer, and how to take it back. */
const NONE_MARK = ' — no original in the archive (accepting a candidate withdraws this)';

/**
 * The keepers in review (or unmatched) with their candidates and any decision taken on them; those answered "no
 * original" last, still there to take the answer back.
 */
export async function matchQueue(db: Db): Promise<QueueRow[]> {
  if (!(await tableExists(db, 'match_candidates')) || !(await tableExists(db, 'match_decisions'))) return [];
  return db.all<QueueRow>(`SELECT k.keeper_id, k.path AS keeper_path, k.sha256 AS keeper_sha256,
      k.preview IS NOT NULL AS has_keeper_preview, k.review_reason AS reason,
      strftime(coalesce(k.captured_at, k.name_captured_at), '%Y-%m-%d %H:%M:%S') AS keeper_time,
      c.rank, c.photo_id, p.path AS photo_path, p.preview IS NOT NULL AS has_photo_preview,
      strftime(p.captured_at, '%Y-%m-%d %H:%M:%S.%f') AS photo_time, c.similarity, c.note, d.decision,
      EXISTS (SELECT 1 FROM match_decisions n WHERE n.keeper_path = k.path AND n.keeper_sha256 = k.sha256
        AND n.decision = 'none') AS no_original
    FROM keeper_files k LEFT JOIN match_candidates c USING (keeper_id) LEFT JOIN photos p ON p.photo_id = c.photo_id
    LEFT JOIN match_decisions d ON d.keeper_path = k.path AND d.keeper_sha256 = k.sha256 AND d.photo_id = c.photo_id
    WHERE k.match_status IN ('review', 'unmatched')
    ORDER BY no_original, k.match_status, k.path, c.rank`);
}

/**
 * Stores one matching decision by writing it as a review CSV row and applying it with `applyDecisions` on the open
 * database, so the portal's answer and `flux match apply` store the same rows.
 */
export async function applyMatchDecision(
  db: Db,
  keeper: { keeper_id: number; path: string },
  photo: { photo_id: number; path: string } | null,
  decision: MatchDecision,
): Promise<Awaited<ReturnType<typeof applyDecisions>>> {
  const dir = mkdtempSync(join(tmpdir(), 'flux-portal-match-'));
  try {
    const csv = join(dir, 'review.csv');
    const row = [keeper.keeper_id, keeper.path, photo?.photo_id ?? '', photo?.path ?? '', decision];
    writeFileSync(csv, `keeper_id,keeper_path,photo_id,photo_path,decision\n${row.map(csvCell).join(',')}\n`);
    return await applyDecisions(db, csv);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Checks a matching decision request against the database: the keeper, and the candidate for accept and reject. */
export async function checkMatchRequest(
  db: Db,
  body: { keeper_id?: unknown; photo_id?: unknown; decision?: unknown } | null,
): Promise<{
  keeper: { keeper_id: number; path: string };
  photo: { photo_id: number; path: string } | null;
  decision: MatchDecision;
}> {
  const given = body?.decision;
  if (typeof given !== 'string' || !(MATCH_DECISIONS as readonly string[]).includes(given)) {
    throw new FluxError(
      `decision: expected one of ${MATCH_DECISIONS.join(', ')}, received ${JSON.stringify(given ?? null)}`,
    );
  }
  const decision = given as MatchDecision;
  const kid = Number(body?.keeper_id);
  const keeper = Number.isSafeInteger(kid)
    ? (
        await db.all<{ keeper_id: number; path: string }>(
          'SELECT keeper_id, path FROM keeper_files WHERE keeper_id = ?',
          [kid],
        )
      )[0]
    : undefined;
  if (!keeper) throw new FluxError(`keeper_id: no keeper ${JSON.stringify(body?.keeper_id ?? null)} in this database`);
  if (decision === 'none') return { keeper, photo: null, decision };
  const pid = Number(body?.photo_id);
  const photo = Number.isSafeInteger(pid)
    ? (
        await db.all<{ photo_id: number; path: string }>('SELECT photo_id, path FROM photos WHERE photo_id = ?', [pid])
      )[0]
    : undefined;
  if (!photo) throw new FluxError(`photo_id: no original ${JSON.stringify(body?.photo_id ?? null)} in this database`);
  return { keeper, photo, decision };
}

const img = (src: string | null, alt: string): string =>
  src ? `<img src="${src}" alt="${escapeHtml(alt)}" loading="lazy">` : 'no preview';

/** A candidate original with its evidence and buttons. */
function candidateHtml(r: QueueRow): string {
  const src = r.has_photo_preview ? `/api/originals/${r.photo_id}/preview` : null;
  const similarity = r.similarity === null ? '–' : r.similarity.toFixed(3);
  return `<figure class="card cand" data-photo-id="${r.photo_id}" data-decision="${escapeHtml(r.decision ?? '')}">
<div class="img">${img(src, r.photo_path ?? '')}</div>
<figcaption>#${r.rank} ${escapeHtml(r.photo_path)}<br>${escapeHtml(r.photo_time ?? 'no time')}
<br>similarity ${similarity}<br>${escapeHtml(r.note ?? '')}
<br><button data-decision="accept">accept</button> <button data-decision="reject">reject</button>
<span class="state">${r.decision === 'accept' ? 'accepted' : r.decision === 'reject' ? 'rejected' : ''}</span></figcaption></figure>`;
}

/** A keeper in review beside its (at most three) candidates. */
function keeperHtml(group: QueueRow[]): string {
  const k = group[0] as QueueRow;
  const cands = group
    .filter((r) => r.photo_id !== null)
    .slice(0, 3)
    .map(candidateHtml)
    .join('');
  const src = k.has_keeper_preview ? `/api/keepers/${k.keeper_id}/preview` : null;
  return `<section class="item" data-keeper-id="${k.keeper_id}" data-decision="${k.no_original ? 'none' : ''}">
<h3>${escapeHtml(k.keeper_path)}<span class="nonemark">${k.no_original ? NONE_MARK : ''}</span></h3>
<p>${escapeHtml(k.reason ?? '')}</p>
<div class="row"><figure class="card keeper"><div class="img">${img(src, k.keeper_path)}</div>
<figcaption>keeper<br>${escapeHtml(k.keeper_time ?? 'no time')}<br>
<button data-decision="none"${k.no_original ? ' disabled' : ''}>no original in the archive</button></figcaption></figure>
${cands || '<p><i>no candidate</i></p>'}</div></section>`;
}

/** The matching review page; its buttons post to `/api/match-decisions` (static/match.js). */
export function matchPageHtml(dbFile: string, rows: QueueRow[], nav: string): string {
  const byKeeper = new Map<number, QueueRow[]>();
  for (const r of rows) byKeeper.set(r.keeper_id, [...(byKeeper.get(r.keeper_id) ?? []), r]);
  const sections = [...byKeeper.values()].map(keeperHtml).join('\n');
  const answered = [...byKeeper.values()].filter((g) => g[0]?.no_original).length;
  const last = answered ? `, and ${answered} answered "no original" at the end` : '';
  const body = `${nav}
<h1>Keepers to review (${byKeeper.size - answered}${last}) <small class="db">${escapeHtml(basename(dbFile))}</small></h1>
<p>Accept the original a keeper was made from, reject a wrong candidate, or say it has no original here.
Decisions are stored as <code>flux match apply</code> stores them and take effect on the next
<code>flux match</code>.</p>
<p id="status" role="alert"></p>
${sections || '<p><i>No keeper waits for review.</i></p>'}`;
  return pageHtml({
    title: 'FLUX matching review',
    head: '<link rel="stylesheet" href="/static/portal.css"><script type="module" src="/static/match.js"></script>',
    body,
  });
}
