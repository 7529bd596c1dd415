/**
 * The inbox page: the new photos by keeper score (then the model's raw score, then time), thumbnails embedded so the
 * file stands alone, surfaced photos outlined, and the photos that could not be scored listed with the reason.
 */
import { BAND_LABELS, type Band } from '../5-rank/calibrate.js';
import type { KeeperModel } from '../5-rank/model-file.js';
import { boxedImage, escapeHtml, pageHtml, PEOPLE_TOGGLE, previewDataUri, type OverlayBox } from '../util/html.js';
import { countBands, type ScoredRow } from './scoring.js';

/**
 * A score as shown: two decimals, but a small non-zero one is not shown as the 0.00 of a failure, nor a score just
 * under 1 as the 1.00 of a confirmed keeper.
 */
export function scoreText(s: number): string {
  if (s > 0 && s < 0.005) return '<0.01';
  if (s < 1 && s >= 0.995) return '>0.99';
  return s.toFixed(2);
}

const BAND_COLOURS: Record<string, string> = {
  keeper: '#1b7837',
  review: '#1b7837',
  uncertain: '#b8860b',
  unlikely: '#777',
  failure: '#b2182b',
  unscored: '#777',
};

/** One inbox photo with its score, and the people and faces detected in it (absent: not examined). */
export type InboxItem = ScoredRow & {
  path: string;
  preview: string | null;
  captured_at: string | null;
  people?: OverlayBox[];
};

/** One card: the thumbnail, the score and band, the path, the time and the reason. */
function card(r: InboxItem, workspace: string): string {
  const src = previewDataUri(workspace, r.preview);
  const label = r.band === 'unscored' ? 'not scored' : BAND_LABELS[r.band as Band];
  const tag = `<img src="${src}" alt="${escapeHtml(r.path)}">`;
  const img = src ? (r.people?.length ? boxedImage(tag, r.people) : tag) : 'no preview';
  const score = r.score === null ? '–' : escapeHtml(scoreText(r.score));
  const surf = r.surfaced ? ` · <b class="surf">surfaced</b>` : '';
  const time = r.captured_at ? `<br><small>${escapeHtml(r.captured_at)}</small>` : '';
  const reason = r.reason && r.band !== 'unscored' ? `<br><small>${escapeHtml(r.reason)}</small>` : '';
  return (
    `<figure class="card${r.surfaced ? ' surfaced' : ''}" data-band="${r.band}"><div class="img">${img}</div>\n` +
    `<figcaption><b style="color:${BAND_COLOURS[r.band]}">${score}</b> ` +
    `${escapeHtml(label)}${surf}<br>${escapeHtml(r.path)}` +
    `${time}${reason}</figcaption></figure>`
  );
}

/** The inbox report: photos by score (then time), thumbnails embedded, so the file stands alone. */
export function inboxHtml(
  items: InboxItem[],
  skipped: Array<{ path: string; reason: string }>,
  model: KeeperModel,
  workspace: string,
  inbox: string,
  surface?: { value: number | null; source: 'decisions' | 'model'; text: string },
): string {
  // by score; photos a calibration ties keep the model's own order (its raw score), then time
  const sorted = [...items].sort(
    (a, b) =>
      (b.score ?? -1) - (a.score ?? -1) ||
      (b.raw ?? -Infinity) - (a.raw ?? -Infinity) ||
      String(a.captured_at).localeCompare(String(b.captured_at)),
  );
  const threshold = surface ? surface.value : model.threshold.value;
  const cards = sorted.map((r) => card(r, workspace)).join('\n');
  const counts = countBands(items);
  const bands = (['review', 'uncertain', 'unlikely', 'failure', 'unscored'] as const).map(
    (b) => `${b === 'unscored' ? 'not scored' : BAND_LABELS[b]}: ${counts[b] ?? 0}`,
  );
  const summary = [`surfaced automatically: ${counts.surfaced ?? 0}`, ...bands].join(' · ');
  const emb = model.embeddingModel ? `, ${escapeHtml(model.embeddingModel)}` : '';
  const rule = escapeHtml(surface?.source === 'decisions' ? surface.text : model.threshold.rule);
  const surfacing =
    threshold !== null
      ? `Photos scoring at least the auto-surface threshold, ${threshold.toFixed(3)} (${rule}), ` +
        'are surfaced without asking, whatever their band.'
      : `No auto-surface threshold: none reached its rule (${rule}), so nothing is surfaced without asking.`;
  const skippedTable = skipped.length
    ? `<h2>Skipped</h2><table>${skipped
        .map((s) => `<tr><td>${escapeHtml(s.path)}</td><td>${escapeHtml(s.reason)}</td></tr>`)
        .join('')}</table>`
    : '';
  const body = `<h1>Inbox keeper scores</h1>
<p>${escapeHtml(inbox)} · ${items.length} photos · model ${escapeHtml(model.id)} \
(${escapeHtml(model.arch)}, ${escapeHtml(model.featureSet)}${emb})</p>
<p>${escapeHtml(summary)}</p>
<p><small>The score estimates how likely this photographer would keep the photo, learned from his own keepers; \
it ranks, he selects.
${surfacing}</small></p>
${items.some((r) => r.people?.length) ? `${PEOPLE_TOGGLE}\n` : ''}<div class="grid">${cards}</div>
${skippedTable}`;
  return pageHtml({ title: 'Inbox keeper scores', body });
}
