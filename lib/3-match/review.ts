/**
 * The review queue as a contact sheet and a CSV the photographer edits, and applying his decisions. Decisions are
 * stored by keeper path and content, so they survive later runs of `flux match`.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Db } from '../db/duckdb.js';
import { archiveRoots, workspaceOf } from '../db/schema.js';
import {
  ensureMatchSchema,
  keeperById,
  keeperByPath,
  photoIdAtPath,
  photoIdExists,
  reviewQueue,
  storeDecision,
  unreadableKeepers,
  type DecisionKeeper,
  type ReviewQueueRow,
} from '../db/matching.js';
import { escapeHtml, pageHtml } from '../util/html.js';
import { FluxError } from '../util/check.js';
import { assertOutsideArchive, makeDir, writeFileAtomic } from '../util/fsutil.js';
import { csvCell, parseCsv } from '../util/csv.js';
import { printable } from '../util/text.js';
import { NO_ORIGINAL } from './types.js';
import { DEFAULT_VERIFY } from './verify.js';
import { tableExists } from '../db/table.js';
import { notJpegReason } from '../1-ingest/image.js';

const COLUMNS = [
  'keeper_id',
  'keeper_path',
  'candidate_rank',
  'photo_id',
  'photo_path',
  'similarity',
  'reason',
  'decision',
];

/**
 * The residual map of a verified candidate: one square per tile, white where the keeper and the aligned, toned
 * candidate agree, red where they differ (full red at twice the worst tile a verified candidate may leave).
 */
function residualMap(r: ReviewQueueRow): string {
  if (r.tiles_x === null || !r.tile_residuals?.length) return '';
  const cols = r.tiles_x;
  const rows = Math.ceil(r.tile_residuals.length / cols);
  const size = Math.floor(220 / cols);
  const full = 2 * DEFAULT_VERIFY.worstTile;
  const cells = r.tile_residuals
    .map((v, i) => {
      const shade =
        v === null
          ? '#ccc'
          : `rgb(255,${Math.round(255 * (1 - Math.min(1, v / full)))},` +
            `${Math.round(255 * (1 - Math.min(1, v / full)))})`;
      return (
        `<rect x="${(i % cols) * size}" y="${Math.floor(i / cols) * size}" width="${size}" height="${size}" ` +
        `fill="${shade}"><title>${v === null ? 'outside' : v.toFixed(3)}</title></rect>`
      );
    })
    .join('');
  const numbers =
    `alignment: scale ${(r.scale ?? 0).toFixed(3)}, rotation ${(r.angle_degrees ?? 0).toFixed(2)} deg, ` +
    `overlap ${(r.overlap ?? 0).toFixed(2)}, residual ${(r.residual ?? 0).toFixed(2)}, worst tile ` +
    `${(r.worst_tile ?? 0).toFixed(3)}${r.verified ? ' (verified)' : ''}`;
  return (
    `<svg width="${cols * size}" height="${rows * size}" role="img" aria-label="residual map">${cells}</svg>` +
    `<br>${escapeHtml(numbers)}`
  );
}

/** One keeper's card: its reason, the keeper and up to three candidates side by side. */
function card(group: readonly ReviewQueueRow[], thumb: (preview: string | null) => string): string {
  const k = group[0] as ReviewQueueRow;
  const img = (preview: string | null): string => `<img src="${escapeHtml(thumb(preview))}" width="220">`;
  const cands = group
    .filter((r) => r.photo_id !== null)
    .slice(0, 3)
    .map(
      (r) => `<figure>${img(r.photo_preview)}
    <figcaption>#${r.rank} ${escapeHtml(r.photo_path)}<br>${escapeHtml(r.photo_time ?? 'no time')}<br>similarity ${
      r.similarity === null ? '-' : r.similarity.toFixed(3)
    }<br>${escapeHtml(r.note)}<br>${residualMap(r)}
    </figcaption></figure>`,
    )
    .join('');
  return `<section class="item"><h3>${escapeHtml(k.keeper_path)}</h3><p>${escapeHtml(k.reason ?? '')}</p>
    <div class="row"><figure class="keeper">${img(k.keeper_preview)}
    <figcaption>keeper<br>${escapeHtml(k.keeper_time ?? 'no time')}</figcaption></figure>${
      cands || '<p><i>no candidate</i></p>'
    }</div></section>`;
}

/** The sheet's page: how to decide, the cards, and the keeper files that could not be read. */
function sheetHtml(cards: string[], unreadable: ReadonlyArray<{ path: string; reason: string }>): string {
  const unread = unreadable.length
    ? `<h2>Keeper files that could not be read as photos (${unreadable.length})</h2>
    <p>Not matched: a file that is not a JPEG or is damaged needs exporting again as JPEG; one that could not be read
    (permissions, a drive gone) is tried again by the next flux ingest.</p>
    <ul>${unreadable.map((u) => `<li>${escapeHtml(u.path)}: ${escapeHtml(u.reason)}</li>`).join('')}</ul>`
    : '';
  return pageHtml({
    title: 'Keeper review',
    head: '<style>.row figure{width:220px}</style>',
    body: `<h1>Keepers to review (${cards.length})</h1><p>Fill the <code>decision</code> column of review.csv with
      <b>accept</b> or <b>reject</b> for a candidate row, or <b>none</b> on any row of a keeper whose original is not in
      the archive, then run <code>flux match apply --db FILE review.csv</code>.</p>${cards.join('\n')}
      ${unread}`,
  });
}

/**
 * Writes `review.html` (thumbnails copied beside it) and `review.csv` for every keeper in review or unmatched, except
 * those the photographer said have no original.
 */
export async function writeReview(
  db: Db,
  outDir: string,
): Promise<{ html: string; csv: string; keepers: number; unreadable: number }> {
  assertOutsideArchive('--out', outDir, await archiveRoots(db));
  const workspace = await workspaceOf(db);
  if (!(await tableExists(db, 'match_candidates')))
    throw new FluxError(`${db.file}: no keeper is matched yet; run flux match --db ${db.file} first`);
  const out = resolve(outDir);
  makeDir('--out', join(out, 'thumbs'));
  const rows = await reviewQueue(db);
  const unreadable = await unreadableKeepers(db);
  const thumb = (preview: string | null): string => {
    if (!preview) return '';
    const name = preview.split('/').pop() as string;
    const src = join(workspace, preview);
    if (existsSync(src) && !existsSync(join(out, 'thumbs', name))) copyFileSync(src, join(out, 'thumbs', name));
    return `thumbs/${name}`;
  };
  const byKeeper = new Map<number, ReviewQueueRow[]>();
  for (const r of rows) byKeeper.set(r.keeper_id, [...(byKeeper.get(r.keeper_id) ?? []), r]);
  const html = sheetHtml(
    [...byKeeper.values()].map((group) => card(group, thumb)),
    unreadable,
  );
  const csvRows = [
    COLUMNS.join(','),
    ...rows.map((r) =>
      [
        r.keeper_id,
        r.keeper_path,
        r.rank ?? '',
        r.photo_id ?? '',
        r.photo_path ?? '',
        r.similarity === null ? '' : r.similarity.toFixed(4),
        r.reason ?? '',
        '',
      ]
        .map(csvCell)
        .join(','),
    ),
  ];
  writeFileAtomic(join(out, 'review.html'), html);
  writeFileAtomic(join(out, 'review.csv'), `${csvRows.join('\n')}\n`);
  return {
    html: join(out, 'review.html'),
    csv: join(out, 'review.csv'),
    keepers: byKeeper.size,
    unreadable: unreadable.length,
  };
}

type Verdict = 'accept' | 'reject' | 'none';

/** The columns of a decisions CSV: keeper_id, photo_id and decision are required, the paths optional. */
interface Columns {
  ki: number;
  pi: number;
  di: number;
  kpi: number;
  ppi: number;
}

/**
 * The text of the decisions file; a file that is no text (a photo given by mistake: NUL bytes near its start) or
 * is UTF-16 is refused, naming it, before its bytes could reach a message.
 */
function csvText(csvFile: string): string {
  const bytes = readFileSync(csvFile);
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new FluxError(`${csvFile}: not a CSV file (it is UTF-16 text); save it as CSV UTF-8 and apply that`);
  }
  if (bytes.subarray(0, 8000).includes(0)) {
    // an image named for what it is (notJpegReason names other kinds: PNG, HEIF...)
    const reason = notJpegReason(bytes);
    const kind =
      reason === null ? ': a JPEG image' : / content$/.test(reason) ? `: ${reason.replace('not a JPEG: ', '')}` : '';
    throw new FluxError(
      `${csvFile}: not a CSV file (it holds binary data${kind}); ` +
        'give the review.csv flux match review wrote, with its decision column filled',
    );
  }
  return bytes.toString('utf8');
}

function decisionColumns(csvFile: string, head0: string[] | undefined): Columns {
  // a spreadsheet's "CSV UTF-8" starts with a byte-order mark; column names are compared without it and trimmed
  const head = (head0 ?? []).map((h) => h.trim());
  const col = (name: string, optional = false): number => {
    const i = head.indexOf(name);
    if (i < 0 && !optional) {
      // the first line as it is, on one line and cut short: a file that is no CSV can start with anything
      const found = head.join(', ');
      const shown = printable(found.length > 100 ? `${found.slice(0, 100)}...` : found);
      throw new FluxError(
        `${csvFile}: not a decisions CSV file: expected a "${name}" column (columns: ${shown || 'none'}); ` +
          'give the review.csv flux match review wrote',
      );
    }
    return i;
  };
  const [ki, pi, di] = [col('keeper_id'), col('photo_id'), col('decision')];
  // the paths identify keeper and photo too, and survive a spreadsheet that rounds 16-digit ids
  return { ki, pi, di, kpi: col('keeper_path', true), ppi: col('photo_path', true) };
}

/** A path cell (parseCsv has already taken off the apostrophe that csvCell puts before a formula-like path). */
const cellPath = (r: readonly string[], i: number): string => (i >= 0 ? (r[i] ?? '').trim() : '');

/** The keeper a row names: by keeper_path when the file has one (what a spreadsheet cannot round), else by id. */
async function rowKeeper(db: Db, r: readonly string[], c: Columns, where: string): Promise<DecisionKeeper> {
  const keeperPath = cellPath(r, c.kpi);
  let keeper = keeperPath ? await keeperByPath(db, keeperPath) : null;
  if (!keeper && (r[c.ki] ?? '').trim() !== '') keeper = await keeperById(db, Number(r[c.ki]));
  if (!keeper) {
    throw new FluxError(`${where}: no keeper ${keeperPath ? `file ${keeperPath}` : r[c.ki]} in this database`);
  }
  return { ...keeper, id: Number(keeper.id) };
}

/** The candidate a row names, a photo of the index: an exact photo_id wins, the path stands in for a rounded id. */
async function rowPhoto(db: Db, r: readonly string[], c: Columns, where: string, decision: Verdict): Promise<number> {
  const photoPath = cellPath(r, c.ppi);
  const byId = (r[c.pi] ?? '').trim() !== '' ? await photoIdExists(db, Number(r[c.pi])) : null;
  const byPath = byId === null && photoPath ? await photoIdAtPath(db, photoPath) : null;
  const found = byId ?? byPath;
  if (found === null || found === undefined) {
    throw new FluxError(
      `${where}: ${decision} names no photo of the index (photo_id "${r[c.pi] ?? ''}"` +
        `${photoPath ? `, photo_path "${photoPath}"` : ''}); ` +
        'decide on a candidate row, or mark none for a keeper whose original is not in the archive',
    );
  }
  return Number(found);
}

/** Per keeper of one CSV, the line of its first accept or none: one keeper cannot get both. */
type Answers = Map<number, { decision: string; line: number; photo: number | null }>;

/** Refuses a second, different answer for a keeper in one sheet, else records this one. */
function oneAnswer(
  answers: Answers,
  csvFile: string,
  keeper: DecisionKeeper,
  decision: Verdict,
  line: number,
  photo: number | null,
): void {
  const earlier = answers.get(keeper.id);
  // none on several rows of one keeper is one answer; beside an accept it is two; two accepts of one photo are one
  const clash =
    earlier &&
    (decision === 'none' ? earlier.decision !== 'none' : earlier.decision !== 'accept' || earlier.photo !== photo);
  if (earlier && clash) {
    const another = decision === 'accept' && earlier.decision === 'accept' ? ' for another photo' : '';
    throw new FluxError(
      `${csvFile} line ${line}: keeper ${keeper.path} is marked ${decision} here and ` +
        `${earlier.decision} on line ${earlier.line}${another}; give it one answer`,
    );
  }
  answers.set(keeper.id, earlier ?? { decision, line, photo });
}

/**
 * Stores decisions from an edited review CSV; they take effect on the next `flux match`: `accept` or `reject` a
 * candidate, or `none` (on any row of a keeper) for a keeper whose original is not in the archive, which then stays
 * unlinked and leaves the review queue. A keeper has one answer: accepting a candidate withdraws an earlier `none`,
 * and `none` withdraws earlier accepts.
 */
export async function applyDecisions(
  db: Db,
  csvFile: string,
): Promise<{ accepted: number; rejected: number; none: number; ignored: number }> {
  if (!existsSync(csvFile)) throw new FluxError(`flux match apply: file not found: ${resolve(csvFile)}`);
  const [head0, ...rows] = parseCsv(csvText(csvFile).replace(/^\uFEFF/, ''));
  const c = decisionColumns(csvFile, head0);
  const counts = { accepted: 0, rejected: 0, none: 0, ignored: 0 };
  const noneKeepers = new Set<number>();
  const answers: Answers = new Map();
  await ensureMatchSchema(db);
  await db.transaction(async () => {
    for (const [n, r] of rows.entries()) {
      const decision = (r[c.di] ?? '').trim().toLowerCase();
      if (decision === '') {
        counts.ignored++;
        continue;
      }
      if (decision !== 'accept' && decision !== 'reject' && decision !== 'none') {
        throw new FluxError(
          `${csvFile} line ${n + 2}: decision: expected accept, reject, ` +
            `none (no original in the archive) or empty, received "${r[c.di]}"`,
        );
      }
      const line = n + 2;
      const keeper = await rowKeeper(db, r, c, `${csvFile} line ${line}`);
      if (decision === 'none') {
        oneAnswer(answers, csvFile, keeper, decision, line, null);
        await storeDecision(db, keeper, NO_ORIGINAL, 'none');
        noneKeepers.add(keeper.id);
        continue;
      }
      const photo = await rowPhoto(db, r, c, `${csvFile} line ${line}`, decision);
      // one original per keeper: a second accept of another photo (or an accept beside none) is refused
      if (decision === 'accept') oneAnswer(answers, csvFile, keeper, decision, line, photo);
      // a keeper has one original: accepting one candidate clears earlier accepts of others
      await storeDecision(db, keeper, photo, decision);
      if (decision === 'accept') counts.accepted++;
      else counts.rejected++;
    }
  });
  return { ...counts, none: noneKeepers.size };
}
