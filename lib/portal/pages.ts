/**
 * The portal's pages: an HTML shell (the workbench's one style sheet) that loads its plain script module from
 * `/static/`; the script fetches the API. Archive text reaches the page only through `escapeHtml` here and
 * `textContent` in the script.
 */
import { basename } from 'node:path';
import { escapeHtml, htmlTable, pageHtml } from '../util/html.js';
import type { ThresholdFit } from './threshold.js';

/** The links between the portal's pages. */
export const NAV = `<nav class="portal-nav"><a href="/">Inbox</a><a href="/match">Matching review</a>
<a href="/threshold">Threshold</a><a href="/motifs">Motifs and curator</a></nav>`;

/** The inbox page: filters, the counter, the photo grid, the keys. */
export function inboxPageHtml(dbFile: string): string {
  const body = `${NAV}
<h1>Inbox review <small class="db">${escapeHtml(basename(dbFile))}</small></h1>
<div class="bar">
  <label>Band <select id="band"><option value="">all</option></select></label>
  <label>Day <select id="day"><option value="">all</option></select></label>
  <label><input type="checkbox" id="show-people"> show detected people and faces</label>
  <span id="counter" aria-live="polite">loading…</span>
</div>
<p class="keys"><kbd>P</kbd> keep · <kbd>X</kbd> reject · <kbd>←</kbd> <kbd>→</kbd> move ·
<kbd>E</kbd> open or close a burst · <kbd>Z</kbd> larger view (<kbd>Esc</kbd> closes) ·
<kbd>U</kbd> undo. Each decision is saved before the cursor moves on.</p>
<p id="status" role="alert"></p>
<div id="grid" class="grid portal-grid" role="listbox" aria-label="inbox photos, best score first"></div>
<div id="loupe" class="loupe" role="dialog" aria-label="larger view" hidden><img id="loupe-img" alt="">
<p id="loupe-cap"></p></div>
<p><button id="more" hidden>more photos</button></p>`;
  return pageHtml({
    title: 'FLUX inbox review',
    head: '<link rel="stylesheet" href="/static/portal.css"><script type="module" src="/static/inbox.js"></script>',
    body,
  });
}

const pct = (v: number | null): string => (v === null ? '–' : `${(100 * v).toFixed(0)}%`);

/** The threshold page: the fitted auto-surface threshold and the precision/recall trade-off behind it. */
export function thresholdPageHtml(dbFile: string, fit: ThresholdFit, file: string): string {
  const c = fit.calibration;
  const summary =
    c.threshold === null
      ? `<p><b>No auto-surface threshold yet.</b> ${escapeHtml(c.note ?? '')}</p>`
      : `<p><b>Auto-surface threshold ${c.threshold.toFixed(3)}</b> (${escapeHtml(c.rule)}):
precision ${pct(c.precision)}, recall ${pct(c.recall)} on ${c.decisions} decisions
(${c.keeps} kept, ${c.rejects} rejected).
Expected review load: <b>${(c.reviewPer1000 ?? 0).toFixed(0)} photos
per 1,000 new photos</b> (measured on the ${c.inboxPhotos} scored inbox photos).</p>`;
  // at most 40 rows of the curve, evenly spread, the chosen threshold always among them
  const step = Math.max(1, Math.ceil(fit.curve.length / 40));
  const rows = fit.curve
    .filter((p, i) => i % step === 0 || p.threshold === c.threshold)
    .map((p) => ({
      'score at least': p.threshold,
      decided: p.surfaced,
      precision: p.precision,
      recall: p.recall,
      chosen: p.threshold === c.threshold ? 'chosen' : '',
    }));
  const body = `${NAV}
<h1>Auto-surface threshold <small class="db">${escapeHtml(basename(dbFile))}</small></h1>
${summary}
<p><small>Precision: of the decided photos scoring at least the threshold, the share he kept. Recall: of the photos he
kept, the share scoring at least the threshold. Refitted as decisions come
(model ${escapeHtml(c.model ?? 'none')}) and written
to ${escapeHtml(file)} and the database, for flux score.</small></p>
${htmlTable(rows, 'Precision and recall of the keeper score against the decisions')}`;
  return pageHtml({
    title: 'FLUX auto-surface threshold',
    head: '<link rel="stylesheet" href="/static/portal.css">',
    body,
  });
}
