/**
 * Small HTML builders for every page the workbench writes (report, inbox page, review sheet, portal) and for
 * notebooks: one page shell with one style sheet, thumbnails as data URIs, tables. Every piece of archive text
 * (file names, camera models, error messages) goes through `escapeHtml`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}

/** Decimals a number needs at a precision of three (18.3 needs 1, 0.1444 needs 3, 11 none). */
const decimalsOf = (v: number): number =>
  Number.isFinite(v) ? Math.min(3, String(Math.round(v * 1000) / 1000).split('.')[1]?.length ?? 0) : 0;

function cell(v: unknown, decimals?: number): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    // a whole number reads as one (ISO 400, not 400.000), whatever the decimals of its column
    if (Number.isInteger(v)) return String(v);
    return v.toFixed(decimals ?? 3);
  }
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  return escapeHtml(v);
}

/** A table cell's content: empty for a missing value. */
const valueCell = (v: unknown, decimals?: number): string => (v === null || v === undefined ? '' : cell(v, decimals));

/** An HTML table of rows (the columns of the first row), escaped; `(none)` for no rows. */
export function htmlTable(rows: ReadonlyArray<object>, caption?: string): string {
  const cap = caption ? `<caption style="text-align:left;font-weight:bold">${escapeHtml(caption)}</caption>` : '';
  if (rows.length === 0) return `<table>${cap}<tr><td><i>(none)</i></td></tr></table>`;
  const cols = Object.keys(rows[0] as object);
  const all = rows as ReadonlyArray<Record<string, unknown>>;
  // a column of numbers is right-aligned, header too, with one number of decimals for the whole column (at most 3);
  // whole numbers print without decimals
  const numeric = cols.map(
    (c) =>
      all.every((r) => typeof r[c] === 'number' || r[c] === null || r[c] === undefined) &&
      all.some((r) => typeof r[c] === 'number'),
  );
  const decimals = cols.map((c, j) =>
    numeric[j]
      ? Math.max(0, ...all.map((r) => (typeof r[c] === 'number' ? decimalsOf(r[c] as number) : 0)))
      : undefined,
  );
  const align = (j: number): string => (numeric[j] ? 'right' : 'left');
  const head = cols.map((c, j) => `<th style="text-align:${align(j)};padding:2px 8px">${escapeHtml(c)}</th>`).join('');
  const td = (r: Record<string, unknown>, c: string, j: number): string =>
    `<td style="text-align:${align(j)};padding:2px 8px">${valueCell(r[c], decimals[j])}</td>`;
  const body = all.map((r) => `<tr>${cols.map((c, j) => td(r, c, j)).join('')}</tr>`).join('');
  return `<table style="border-collapse:collapse;font:12px sans-serif">${cap}<tr>${head}</tr>${body}</table>`;
}

/** A plain SVG bar chart (no script), for quick looks and for pages that must work anywhere. */
export function svgBars(
  bars: ReadonlyArray<{ label: string; value: number }>,
  options: { title?: string; width?: number; height?: number } = {},
): string {
  const width = options.width ?? 720;
  const height = options.height ?? 200;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const bw = (width - 40) / Math.max(1, bars.length);
  const rects = bars
    .map((b, i) => {
      const h = ((height - 40) * b.value) / max;
      return (
        `<rect x="${30 + i * bw}" y="${height - 20 - h}" width="${Math.max(1, bw - 1)}" height="${h}" fill="#4a7">` +
        `<title>${escapeHtml(b.label)}: ${b.value}</title></rect>`
      );
    })
    .join('');
  const step = Math.max(1, Math.ceil(bars.length / 12));
  const labels = bars
    .map((b, i) =>
      i % step === 0 ? `<text x="${30 + i * bw}" y="${height - 5}" font-size="9">${escapeHtml(b.label)}</text>` : '',
    )
    .join('');
  const title = options.title ? `<text x="30" y="12" font-size="12">${escapeHtml(options.title)}</text>` : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${title}${rects}${labels}` +
    `<text x="0" y="24" font-size="9">${max}</text></svg>`
  );
}

/** A plain SVG scatter plot; each point has a colour and a hover title. */
export function svgScatter(
  points: ReadonlyArray<{ x: number; y: number; colour: string; title: string; r?: number }>,
  options: { title?: string; width?: number; height?: number } = {},
): string {
  const w = options.width ?? 640;
  const h = options.height ?? 480;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x: number): number => 20 + ((x - x0) / (x1 - x0 || 1)) * (w - 40);
  const sy = (y: number): number => h - 20 - ((y - y0) / (y1 - y0 || 1)) * (h - 50);
  const dots = points
    .map(
      (p) =>
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="${p.r ?? 3}" ` +
        `fill="${escapeHtml(p.colour)}" fill-opacity="0.8"><title>${escapeHtml(p.title)}</title></circle>`,
    )
    .join('');
  const title = options.title ? `<text x="20" y="16" font-size="13">${escapeHtml(options.title)}</text>` : '';
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" style="background:#fafafa">`;
  return `${svg}${title}${dots}</svg>`;
}

/** A preview as a data URI, so notebooks and reports carry their thumbnails with them. */
export function previewDataUri(workspace: string, preview: string | null): string {
  if (!preview || !existsSync(join(workspace, preview))) return '';
  return `data:image/jpeg;base64,${readFileSync(join(workspace, preview)).toString('base64')}`;
}

/**
 * A detected box: person or face, its score, its top left and size as fractions of the frame. What a detector finds
 * (`Found`) and what is stored (`DetectionRow`) extend it; the pages overlay it.
 */
export interface OverlayBox {
  kind: 'person' | 'face';
  score: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

const pct = (v: number): string => `${(100 * Math.min(1, Math.max(0, v))).toFixed(2)}%`;

/**
 * An image with detected boxes over it: absolutely placed spans inside a wrapper of the image's own size, shown when
 * the page's `#show-people` check box (a sibling before the `.grid`) is ticked or the grid has class `people`.
 */
export function boxedImage(img: string, boxes: readonly OverlayBox[]): string {
  const spans = boxes.map(
    (b) =>
      `<span class="pbox ${b.kind === 'face' ? 'face' : 'person'}" title="${b.kind} ${b.score.toFixed(2)}" ` +
      `style="left:${pct(b.x)};top:${pct(b.y)};width:${pct(b.w)};height:${pct(b.h)}"></span>`,
  );
  return `<span class="boxed">${img}${spans.join('')}</span>`;
}

/** The check box that shows the boxes of `boxedImage`; put it before the `.grid`, as its sibling. */
export const PEOPLE_TOGGLE =
  '<input type="checkbox" id="show-people"><label for="show-people"> show detected people and faces</label>';

/** The one style sheet of the workbench's pages: text, tables, contact sheets, cards and the keeper outline. */
export const PAGE_STYLE = `body{font:14px system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;
padding:0 1em}h2{border-bottom:1px solid #ccc;margin-top:2em}table{margin:8px 0;border-collapse:collapse}
td{padding:2px 8px;border-bottom:1px solid #ddd}pre{white-space:pre-wrap;background:#f6f6f6;padding:8px}
figcaption{font-size:12px;line-height:1.35;word-break:break-all}.row{display:flex;gap:12px;flex-wrap:wrap;
align-items:flex-start}.sheet{display:flex;flex-wrap:wrap;gap:8px}.sheet figure{margin:0;width:150px}
.thumb{display:flex;align-items:center;justify-content:center;background:#f3f3f3}.sheet img{max-width:150px}
.grid{display:flex;flex-wrap:wrap;gap:12px}.card{width:220px;margin:0}.img{height:150px;display:flex;
align-items:center;justify-content:center;background:#f3f3f3}.img img{max-width:220px;max-height:150px}
.surfaced{outline:3px solid #1b7837;outline-offset:2px}.surf{color:#1b7837}.keeper{outline:3px solid #c33}
section.item{border-bottom:1px solid #ccc;padding:8px 0}figure{margin:0}
.boxed{position:relative;display:inline-block;line-height:0}.boxed img{display:block}
.pbox{position:absolute;display:none;box-sizing:border-box;border:2px solid #ffd400;pointer-events:none}
.pbox.face{border-color:#00d4ff}#show-people:checked~.grid .pbox,.grid.people .pbox{display:block}`;

/** A whole HTML page: the shared style sheet, an optional extra head (scripts, more style) and the body. */
export function pageHtml(page: { title: string; body: string; head?: string }): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title>
<style>${PAGE_STYLE}</style>${page.head ?? ''}</head><body>
${page.body}
</body></html>`;
}
