/**
 * The portal's pages: an HTML shell (the workbench's one style sheet) that loads its plain script module from
 * `/static/`; the script fetches the API. Archive text reaches the page only through `escapeHtml` here and
 * `textContent` in the script.
 */
import { basename } from 'node:path';
import { escapeHtml, pageHtml } from '../util/html.js';

const NAV = `<nav class="portal-nav"><a href="/">Inbox</a></nav>`;

/** The inbox page: filters, the counter, the photo grid, the keys. */
export function inboxPageHtml(dbFile: string): string {
  const body = `${NAV}
<h1>Inbox review <small class="db">${escapeHtml(basename(dbFile))}</small></h1>
<div class="bar">
  <label>Band <select id="band"><option value="">all</option></select></label>
  <label>Day <select id="day"><option value="">all</option></select></label>
  <span id="counter" aria-live="polite">loading…</span>
</div>
<p class="keys"><kbd>P</kbd> keep · <kbd>X</kbd> reject · <kbd>←</kbd> <kbd>→</kbd> move · <kbd>E</kbd> open or close a burst ·
<kbd>U</kbd> undo. Each decision is saved at once.</p>
<p id="status" role="alert"></p>
<div id="grid" class="grid portal-grid"></div>
<p><button id="more" hidden>more photos</button></p>`;
  return pageHtml({
    title: 'FLUX inbox review',
    head: '<link rel="stylesheet" href="/static/portal.css"><script type="module" src="/static/inbox.js"></script>',
    body,
  });
}
