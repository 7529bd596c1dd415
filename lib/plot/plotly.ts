/**
 * plotly.js figures for notebooks and the standalone report. A figure is plain data (traces and layout) built by
 * the functions below; `figureHtml` renders it into a div and a script. The plotly bundle is inlined once per page
 * (`plotlyScript`), so pages work offline. Archive text in traces (file names in hover labels) is escaped, since
 * plotly reads a small subset of HTML in labels.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { escapeHtml } from '../util/html.js';

export interface PlotFigure {
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
}

let bundle: string | null = null;

/** The plotly.js bundle (minified, from the installed package). */
export function plotlyBundle(): string {
  bundle ??= readFileSync(createRequire(import.meta.url).resolve('plotly.js-dist-min'), 'utf8');
  return bundle;
}

/** A script tag that defines `window.Plotly` unless the page already has it. */
export function plotlyScript(): string {
  return `<script>if (!window.Plotly) {\n${plotlyBundle().replace(/<\/script/gi, '<\\/script')}\n}</script>`;
}

/** JSON safe inside a script element. */
const scriptJson = (v: unknown): string =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');

let counter = 0;

/** Margins of every figure, in pixels, unless the figure sets its own. */
export const FIGURE_MARGIN = Object.freeze({ l: 60, r: 20, t: 40, b: 50 });

/** A figure as a div and the script that draws it (plotly must be on the page: see `plotlyScript`). */
export function figureHtml(fig: PlotFigure, options: { id?: string; height?: number } = {}): string {
  const id = options.id ?? `flux-fig-${Date.now().toString(36)}-${counter++}`;
  // a figure's own margins add to the defaults: plotly's would otherwise fill the sides left out (top 100, bottom 80)
  // and axes make room for their labels (rotated dates, long model names) instead of running into what follows
  const axis = (a: unknown): Record<string, unknown> => ({
    automargin: true,
    ...(a as Record<string, unknown> | undefined),
  });
  const layout = {
    height: options.height ?? 380,
    font: { size: 12 },
    ...fig.layout,
    margin: { ...FIGURE_MARGIN, ...(fig.layout.margin as object | undefined) },
    xaxis: axis(fig.layout.xaxis),
    yaxis: axis(fig.layout.yaxis),
  };
  return `<div id="${escapeHtml(id)}" class="flux-figure" style="width:100%;min-height:${layout.height}px"></div>
<script>(function(){var d=${scriptJson(fig.data)};var l=${scriptJson(layout)};
function draw(){Plotly.newPlot(${scriptJson(id)},d,l,{responsive:true,displaylogo:false});}
if (window.Plotly) draw(); else window.addEventListener('load', draw);})();</script>`;
}

/** Escaped label text for plotly (which reads tags such as <b> and <br> in labels). */
export const label = (text: unknown): string => escapeHtml(text);

const title = (text: string): Record<string, unknown> => ({ text, x: 0, xanchor: 'left' });

/** Bars, one per category. */
export function barFigure(
  categories: ReadonlyArray<string | number>,
  values: readonly number[],
  o: { title: string; x?: string; y?: string; colour?: string },
): PlotFigure {
  return {
    data: [
      {
        type: 'bar',
        x: categories.map((c) => (typeof c === 'string' ? label(c) : c)),
        y: values,
        marker: { color: o.colour ?? '#4a7' },
      },
    ],
    layout: {
      title: title(o.title),
      xaxis: { title: { text: o.x ?? '' }, type: 'category' },
      yaxis: { title: { text: o.y ?? '' } },
    },
  };
}

/** Stacked bars: one trace per series over shared categories. */
export function stackedBarFigure(
  categories: ReadonlyArray<string | number>,
  series: ReadonlyArray<{ name: string; values: readonly number[] }>,
  o: { title: string; x?: string; y?: string },
): PlotFigure {
  return {
    data: series.map((s) => ({ type: 'bar', name: label(s.name), x: categories.map(String), y: s.values })),
    layout: {
      title: title(o.title),
      barmode: 'stack',
      xaxis: { title: { text: o.x ?? '' }, type: 'category' },
      yaxis: { title: { text: o.y ?? '' } },
    },
  };
}

/**
 * Named vertical dotted lines across a plot (a reference value, thresholds), as layout shapes and annotations;
 * `alternate` puts the names on either side of their lines.
 */
function markerLines(
  markers: ReadonlyArray<{ value: number; name: string }>,
  alternate = false,
): { shapes: Array<Record<string, unknown>>; annotations: Array<Record<string, unknown>> } {
  return {
    shapes: markers.map((m) => ({
      type: 'line',
      x0: m.value,
      x1: m.value,
      yref: 'paper',
      y0: 0,
      y1: 1,
      line: { dash: 'dot', color: '#b2182b' },
    })),
    annotations: markers.map((m, i) => ({
      x: m.value,
      yref: 'paper',
      y: 1.02,
      text: label(m.name),
      showarrow: false,
      ...(alternate ? { xanchor: i % 2 ? 'left' : 'right' } : {}),
      font: { color: '#b2182b', size: 10 },
    })),
  };
}

/** Horizontal bars with asymmetric error bars (an estimate and its interval per model). */
export function intervalFigure(
  rows: ReadonlyArray<{ name: string; value: number; lo: number; hi: number; highlight?: boolean }>,
  o: { title: string; x: string; reference?: { value: number; name: string } },
): PlotFigure {
  const sorted = [...rows].sort((a, b) => a.value - b.value);
  const data: PlotFigure['data'] = [
    {
      type: 'bar',
      orientation: 'h',
      y: sorted.map((r) => label(r.name)),
      x: sorted.map((r) => r.value),
      marker: { color: sorted.map((r) => (r.highlight ? '#1b7837' : '#8da0cb')) },
      error_x: {
        type: 'data',
        symmetric: false,
        array: sorted.map((r) => Math.max(0, r.hi - r.value)),
        arrayminus: sorted.map((r) => Math.max(0, r.value - r.lo)),
      },
      hovertemplate: '%{y}: %{x:.3f}<extra></extra>',
    },
  ];
  const { shapes, annotations } = markerLines(o.reference ? [o.reference] : []);
  return {
    data,
    layout: {
      title: title(o.title),
      xaxis: { title: { text: o.x } },
      margin: { l: 290 },
      shapes,
      annotations,
      height: FIGURE_MARGIN.t + FIGURE_MARGIN.b + 30 + 28 * rows.length,
    },
  };
}

/**
 * The upper end of a probability axis: 1, or (when every value is small) the values' maximum rounded up to 0.05, so
 * scores that never pass 0.2 do not sit in a fifth of the plot.
 */
export function probabilityAxisEnd(values: readonly number[]): number {
  const max = Math.max(0, ...values.filter(Number.isFinite));
  return max >= 0.5 ? 1 : Math.max(0.05, Math.ceil(max * 1.15 * 20) / 20);
}

/** A reliability diagram: mean score against observed keeper rate per bin, with the diagonal. */
export function reliabilityFigure(
  bins: ReadonlyArray<{ meanScore: number; keeperRate: number; count: number }>,
  o: { title: string },
): PlotFigure {
  const used = bins.filter((b) => b.count > 0);
  const maxCount = Math.max(1, ...used.map((b) => b.count));
  const end = probabilityAxisEnd(used.flatMap((b) => [b.meanScore, b.keeperRate]));
  const zoom = end < 1 && used.length ? ` (axes to ${end.toFixed(2)}: no bin is higher)` : '';
  return {
    data: [
      {
        type: 'scatter',
        mode: 'lines',
        x: [0, end],
        y: [0, end],
        name: 'perfect calibration',
        line: { dash: 'dot', color: '#999' },
      },
      {
        type: 'scatter',
        mode: 'lines+markers',
        name: 'keeper score',
        x: used.map((b) => b.meanScore),
        y: used.map((b) => b.keeperRate),
        marker: { size: used.map((b) => 6 + 24 * Math.sqrt(b.count / maxCount)), color: '#1b7837' },
        text: used.map((b) => `${b.count} photos`),
        hovertemplate: 'mean score %{x:.3f}<br>keeper rate %{y:.3f}<br>%{text}<extra></extra>',
      },
    ],
    layout: {
      title: title(o.title + zoom),
      xaxis: { title: { text: 'mean keeper score in bin' }, range: [0, end] },
      yaxis: { title: { text: 'observed keeper rate' }, range: [0, end] },
    },
  };
}

/** Precision, recall and review budget against the surfacing threshold, with the chosen threshold marked. */
export function tradeoffFigure(
  points: ReadonlyArray<{ threshold: number; precision: number; recall: number; budget: number }>,
  o: { title: string; threshold?: number | null },
): PlotFigure {
  const xs = points.map((p) => p.threshold);
  const end = probabilityAxisEnd([...xs, o.threshold ?? 0]);
  const shapes =
    o.threshold !== undefined && o.threshold !== null
      ? [{ type: 'line', x0: o.threshold, x1: o.threshold, yref: 'paper', y0: 0, y1: 1, line: { color: '#b2182b' } }]
      : [];
  return {
    data: [
      {
        type: 'scatter',
        mode: 'lines',
        name: 'precision',
        x: xs,
        y: points.map((p) => p.precision),
        line: { shape: 'hv' },
      },
      { type: 'scatter', mode: 'lines', name: 'recall', x: xs, y: points.map((p) => p.recall), line: { shape: 'hv' } },
      {
        type: 'scatter',
        mode: 'lines',
        name: 'review budget (share surfaced)',
        x: xs,
        y: points.map((p) => p.budget),
        line: { shape: 'hv', dash: 'dot' },
      },
    ],
    layout: {
      title: title(o.title + (end < 1 && xs.length ? ` (scores to ${end.toFixed(2)}: none is higher)` : '')),
      xaxis: { title: { text: 'surface photos scoring at least' }, range: [0, end] },
      yaxis: { title: { text: 'precision, recall, share surfaced' }, range: [0, 1.02] },
      shapes,
    },
  };
}

/** A scatter of labelled points coloured by group; WebGL (scattergl) above a few thousand points. */
export function scatterFigure(
  points: ReadonlyArray<{ x: number; y: number; group: string; text: string; id?: number | string }>,
  o: { title: string; x?: string; y?: string; webgl?: boolean },
): PlotFigure {
  const groups = [...new Set(points.map((p) => p.group))].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true }),
  );
  const gl = o.webgl ?? points.length > 5000;
  return {
    data: groups.map((g) => {
      const ps = points.filter((p) => p.group === g);
      return {
        type: gl ? 'scattergl' : 'scatter',
        mode: 'markers',
        name: label(g),
        x: ps.map((p) => p.x),
        y: ps.map((p) => p.y),
        text: ps.map((p) => label(p.text)),
        customdata: ps.map((p) => p.id ?? null),
        marker: { size: gl ? 3 : 6, opacity: 0.8 },
        hovertemplate: '%{text}<extra>%{fullData.name}</extra>',
      };
    }),
    layout: {
      title: title(o.title),
      xaxis: { title: { text: o.x ?? '' }, zeroline: false },
      yaxis: { title: { text: o.y ?? '' }, zeroline: false },
      hovermode: 'closest',
    },
  };
}

/** Overlaid histograms of named series (for example similarity of true pairs against siblings). */
export function histogramFigure(
  series: ReadonlyArray<{ name: string; values: readonly number[] }>,
  o: { title: string; x: string; bins?: number; markers?: ReadonlyArray<{ value: number; name: string }> },
): PlotFigure {
  return {
    data: series.map((s) => ({
      type: 'histogram',
      name: label(s.name),
      x: s.values,
      opacity: 0.6,
      nbinsx: o.bins ?? 40,
    })),
    layout: {
      title: title(o.title),
      barmode: 'overlay',
      xaxis: { title: { text: o.x } },
      yaxis: { title: { text: 'count' } },
      // thresholds as dotted lines across the plot, named above it on either side, so two close ones stay readable
      ...markerLines(o.markers ?? [], true),
    },
  };
}

/** The thresholds of a match calibration worth marking on its similarity histogram (the sure one only when learnt). */
export function matchMarkers(c: {
  link: number;
  review: number;
  calibrated: boolean;
}): Array<{ value: number; name: string }> {
  return [
    { value: c.link, name: c.calibrated ? 'link' : 'review from' },
    ...(c.calibrated && c.review <= 1 ? [{ value: c.review, name: 'sure' }] : []),
  ];
}

/** A heatmap (for example keeper rate by weekday and hour). */
export function heatmapFigure(
  x: ReadonlyArray<string | number>,
  y: ReadonlyArray<string | number>,
  z: Array<Array<number | null>>,
  o: { title: string; x?: string; y?: string; colour?: string },
): PlotFigure {
  return {
    // plotly's named sequential scales run dark to light; reversed, the densest cells are the darkest
    data: [
      {
        type: 'heatmap',
        x: x.map(String),
        y: y.map(String),
        z,
        colorscale: o.colour ?? 'Greens',
        reversescale: true,
        hoverongaps: false,
      },
    ],
    layout: {
      title: title(o.title),
      xaxis: { title: { text: o.x ?? '' }, type: 'category' },
      yaxis: { title: { text: o.y ?? '' }, type: 'category' },
    },
  };
}

/**
 * A scatter whose points show a thumbnail beside the plot on hover. `thumbnails` maps a point's `id` (customdata)
 * to an image URI (data: or a relative path) and `captions` to its text; both are set as properties, never parsed
 * as HTML.
 */
export function hoverScatterHtml(
  fig: PlotFigure,
  thumbnails: Record<string, string>,
  captions: Record<string, string>,
  options: { id?: string; height?: number } = {},
): string {
  const id = options.id ?? `flux-fig-${Date.now().toString(36)}-${counter++}`;
  const side =
    `<div style="width:200px;font:11px sans-serif;word-break:break-all">` +
    `<img id="${escapeHtml(id)}-img" alt="" style="max-width:200px">` +
    `<div id="${escapeHtml(id)}-text">hover a point</div></div>`;
  return `<div style="display:flex;gap:12px;align-items:flex-start"><div style="flex:1;min-width:0">${figureHtml(fig, {
    ...options,
    id,
  })}</div>
${side}</div>
<script>(function(){var T=${scriptJson(thumbnails)},C=${scriptJson(captions)},id=${scriptJson(id)};
function hook(){var el=document.getElementById(id);if(!el||!el.on){return setTimeout(hook,200);}
el.on('plotly_hover',function(e){var k=String(e.points[0].customdata);
document.getElementById(id+'-img').src=T[k]||'';document.getElementById(id+'-text').textContent=C[k]||'';});}
hook();})();</script>`;
}
