/**
 * The review queue as a contact sheet and a CSV the photographer edits, and applying his decisions. Decisions are
 * stored by keeper path and content, so they survive later runs of `flux match`.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Db } from '../db/duckdb.js';
import { escapeHtml } from '../util/html.js';
import { FluxError } from '../util/check.js';
import { archiveRoots } from '../db/schema.js';
import { assertOutsideArchive, writeFileAtomic } from '../util/fsutil.js';
import { workspaceOf } from '../2-embed/embed.js';
import { csvCell, parseCsv } from '../util/csv.js';
import { ensureMatchSchema, NO_ORIGINAL, unreadableKeepers } from './match.js';

const COLUMNS = ['keeper_id', 'keeper_path', 'candidate_rank', 'photo_id', 'photo_path', 'similarity', 'reason', 'decision'];

interface QueueRow {
  keeper_id: number; keeper_path: string; keeper_preview: string | null; keeper_time: string | null; reason: string | null;
  rank: number | null; photo_id: number | null; photo_path: string | null; photo_preview: string | null; photo_time: string | null;
  similarity: number | null; note: string | null;
}

/**
 * Writes `review.html` (thumbnails copied beside it) and `review.csv` for every keeper in review or unmatched, except
 * those the photographer said have no original.
 */
export async function writeReview(dbFile: string, outDir: string): Promise<{ html: string; csv: string; keepers: number; unreadable: number }> {
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    assertOutsideArchive('--out', outDir, await archiveRoots(db));
    const workspace = await workspaceOf(db);
    const rows = await db.all<QueueRow>(`SELECT k.keeper_id, k.path AS keeper_path, k.preview AS keeper_preview,
      strftime(coalesce(k.captured_at, k.name_captured_at), '%Y-%m-%d %H:%M:%S') AS keeper_time, k.review_reason AS reason,
      c.rank, c.photo_id, p.path AS photo_path, p.preview AS photo_preview, strftime(p.captured_at, '%Y-%m-%d %H:%M:%S.%f') AS photo_time,
      c.similarity, c.note
      FROM keeper_files k LEFT JOIN match_candidates c USING (keeper_id) LEFT JOIN photos p ON p.photo_id = c.photo_id
      WHERE k.match_status IN ('review', 'unmatched') AND NOT EXISTS (SELECT 1 FROM match_decisions d
        WHERE d.keeper_path = k.path AND d.keeper_sha256 = k.sha256 AND d.decision = 'none')
      ORDER BY k.match_status, k.path, c.rank`);
    const unreadable = await unreadableKeepers(db);
    const out = resolve(outDir);
    mkdirSync(join(out, 'thumbs'), { recursive: true });
    const thumb = (preview: string | null): string => {
      if (!preview) return '';
      const name = preview.split('/').pop() as string;
      const src = join(workspace, preview);
      if (existsSync(src) && !existsSync(join(out, 'thumbs', name))) copyFileSync(src, join(out, 'thumbs', name));
      return `thumbs/${name}`;
    };
    const byKeeper = new Map<number, QueueRow[]>();
    for (const r of rows) byKeeper.set(r.keeper_id, [...(byKeeper.get(r.keeper_id) ?? []), r]);
    const cards = [...byKeeper.values()].map((group) => {
      const k = group[0] as QueueRow;
      const cands = group.filter((r) => r.photo_id !== null).slice(0, 3).map((r) => `<figure><img src="${escapeHtml(thumb(r.photo_preview))}" width="220">
        <figcaption>#${r.rank} ${escapeHtml(r.photo_path)}<br>${escapeHtml(r.photo_time ?? 'no time')}<br>similarity ${r.similarity === null ? '-' : r.similarity.toFixed(3)}<br>${escapeHtml(r.note)}</figcaption></figure>`).join('');
      return `<section><h3>${escapeHtml(k.keeper_path)}</h3><p>${escapeHtml(k.reason ?? '')}</p><div class="row"><figure class="keeper"><img src="${escapeHtml(thumb(k.keeper_preview))}" width="220">
        <figcaption>keeper<br>${escapeHtml(k.keeper_time ?? 'no time')}</figcaption></figure>${cands || '<p><i>no candidate</i></p>'}</div></section>`;
    }).join('\n');
    const html = `<!doctype html><meta charset="utf-8"><title>Keeper review</title><style>body{font:13px sans-serif;margin:20px}
      .row{display:flex;gap:12px}figure{margin:0;width:220px}.keeper{outline:3px solid #c33}section{border-bottom:1px solid #ccc;padding:8px 0}</style>
      <h1>Keepers to review (${byKeeper.size})</h1><p>Fill the <code>decision</code> column of review.csv with <b>accept</b> or <b>reject</b> for a candidate row,
      or <b>none</b> on any row of a keeper whose original is not in the archive, then run <code>flux match apply --db FILE review.csv</code>.</p>${cards}
      ${unreadable.length ? `<h2>Keeper files that could not be read as photos (${unreadable.length})</h2><p>Not matched: a file that is not a JPEG or is damaged needs exporting again as JPEG; one that could not be read (permissions, a drive gone) is tried again by the next flux ingest.</p>
      <ul>${unreadable.map((u) => `<li>${escapeHtml(u.path)}: ${escapeHtml(u.reason)}</li>`).join('')}</ul>` : ''}`;
    const csvRows = [COLUMNS.join(','), ...rows.map((r) => [r.keeper_id, r.keeper_path, r.rank ?? '', r.photo_id ?? '', r.photo_path ?? '',
      r.similarity === null ? '' : r.similarity.toFixed(4), r.reason ?? '', ''].map(csvCell).join(','))];
    writeFileAtomic(join(out, 'review.html'), html);
    writeFileAtomic(join(out, 'review.csv'), `${csvRows.join('\n')}\n`);
    return { html: join(out, 'review.html'), csv: join(out, 'review.csv'), keepers: byKeeper.size, unreadable: unreadable.length };
  } finally {
    db.close();
  }
}

/**
 * Stores decisions from an edited review CSV; they take effect on the next `flux match`: `accept` or `reject` a
 * candidate, or `none` (on any row of a keeper) for a keeper whose original is not in the archive, which then stays
 * unlinked and leaves the review queue. A keeper has one answer: accepting a candidate withdraws an earlier `none`,
 * and `none` withdraws earlier accepts.
 */
export async function applyDecisions(dbFile: string, csvFile: string): Promise<{ accepted: number; rejected: number; none: number; ignored: number }> {
  if (!existsSync(csvFile)) throw new FluxError(`flux match apply: file not found: ${resolve(csvFile)}`);
  // a spreadsheet's "CSV UTF-8" starts with a byte-order mark; column names are compared without it and trimmed
  const [head0, ...rows] = parseCsv(readFileSync(csvFile, 'utf8').replace(/^\uFEFF/, ''));
  const head = (head0 ?? []).map((h) => h.trim());
  const col = (name: string, optional = false): number => {
    const i = head.indexOf(name);
    if (i < 0 && !optional) throw new FluxError(`${csvFile}: expected a "${name}" column (columns: ${head.join(', ')})`);
    return i;
  };
  const [ki, pi, di] = [col('keeper_id'), col('photo_id'), col('decision')];
  // the paths identify keeper and photo too, and survive a spreadsheet that rounds 16-digit ids
  const [kpi, ppi] = [col('keeper_path', true), col('photo_path', true)];
  const db = await Db.open(dbFile);
  let accepted = 0;
  let rejected = 0;
  const noneKeepers = new Set<number>();
  /** Per keeper of this CSV, the line of its first accept or none: one keeper cannot get both. */
  const answered = new Map<number, { decision: string; line: number; photo: number | null }>();
  let ignored = 0;
  try {
    await ensureMatchSchema(db);
    await db.transaction(async () => {
      for (const [n, r] of rows.entries()) {
        const decision = (r[di] ?? '').trim().toLowerCase();
        if (decision === '') { ignored++; continue; }
        if (decision !== 'accept' && decision !== 'reject' && decision !== 'none') {
          throw new FluxError(`${csvFile} line ${n + 2}: decision: expected accept, reject, none (no original in the archive) or empty, received "${r[di]}"`);
        }
        const line = n + 2;
        // the sheet writes a path that starts like a formula behind an apostrophe (csvCell); read it back without it
        const cellPath = (i: number): string => {
          const v = i >= 0 ? (r[i] ?? '').trim() : '';
          return /^'[=+\-@\t\r]/.test(v) ? v.slice(1) : v;
        };
        const keeperPath = cellPath(kpi);
        // by keeper_path when the file has one (what a spreadsheet cannot round), else (or when it names none) by keeper_id
        let keeper = keeperPath ? await db.all<{ id: number; path: string; sha256: string }>('SELECT keeper_id AS id, path, sha256 FROM keeper_files WHERE path = ?', [keeperPath]) : [];
        if (!keeper[0] && (r[ki] ?? '').trim() !== '') keeper = await db.all<{ id: number; path: string; sha256: string }>('SELECT keeper_id AS id, path, sha256 FROM keeper_files WHERE keeper_id = ?', [Number(r[ki])]);
        if (!keeper[0]) throw new FluxError(`${csvFile} line ${line}: no keeper ${keeperPath ? `file ${keeperPath}` : r[ki]} in this database`);
        const kid = Number(keeper[0].id);
        if (decision === 'none') {
          // none on several rows of one keeper is one answer; beside an accept it is two
          const earlier = answered.get(kid);
          if (earlier && earlier.decision !== 'none') {
            throw new FluxError(`${csvFile} line ${line}: keeper ${keeper[0].path} is marked none here and ${earlier.decision} on line ${earlier.line}; give it one answer`);
          }
          answered.set(kid, earlier ?? { decision, line, photo: null });
          await db.run(`DELETE FROM match_decisions WHERE keeper_path = ? AND keeper_sha256 = ? AND decision IN ('accept', 'none')`, [keeper[0].path, keeper[0].sha256]);
          await db.run('INSERT INTO match_decisions (keeper_path, keeper_sha256, photo_id, decision) VALUES (?, ?, ?, ?)', [keeper[0].path, keeper[0].sha256, NO_ORIGINAL, 'none']);
          noneKeepers.add(kid);
          continue;
        }
        // the candidate: by photo_path when given, else by photo_id; it must be a photo of the index
        const photoPath = cellPath(ppi);
        // an exact photo_id wins (a path may have held other content before); the path stands in for a rounded id
        const byId = (r[pi] ?? '').trim() !== '' ? await db.value<number>('SELECT photo_id FROM photos WHERE photo_id = ?', [Number(r[pi])]) : null;
        const byPath = byId === null && photoPath ? await db.value<number>('SELECT photo_id FROM photos WHERE path = ? ORDER BY photo_id DESC LIMIT 1', [photoPath]) : null;
        const found = byId ?? byPath;
        if (found === null || found === undefined) {
          throw new FluxError(`${csvFile} line ${line}: ${decision} names no photo of the index (photo_id "${r[pi] ?? ''}"${photoPath ? `, photo_path "${photoPath}"` : ''}); ` +
            'decide on a candidate row, or mark none for a keeper whose original is not in the archive');
        }
        const photo = Number(found);
        if (decision === 'accept') {
          // one original per keeper: a second accept of another photo (or an accept beside none) is refused
          const earlier = answered.get(kid);
          if (earlier && (earlier.decision !== 'accept' || earlier.photo !== photo)) {
            throw new FluxError(`${csvFile} line ${line}: keeper ${keeper[0].path} is marked accept here and ${earlier.decision} on line ${earlier.line}` +
              `${earlier.decision === 'accept' ? ' for another photo' : ''}; give it one answer`);
          }
          answered.set(kid, earlier ?? { decision, line, photo });
        }
        await db.run('INSERT OR REPLACE INTO match_decisions (keeper_path, keeper_sha256, photo_id, decision) VALUES (?, ?, ?, ?)', [keeper[0].path, keeper[0].sha256, photo, decision]);
        // a keeper has one original: accepting one candidate clears earlier accepts of others
        if (decision === 'accept') {
          await db.run(`DELETE FROM match_decisions WHERE keeper_path = ? AND keeper_sha256 = ? AND (decision = 'none' OR decision = 'accept' AND photo_id <> ?)`, [keeper[0].path, keeper[0].sha256, photo]);
          accepted++;
        } else rejected++;
      }
    });
    return { accepted, rejected, none: noneKeepers.size, ignored };
  } finally {
    db.close();
  }
}
