/**
 * `flux report`: one standalone HTML page with the notebooks' figures and tables, for people without Jupyter.
 * plotly.js is inlined and thumbnails are embedded, so the page works offline and can be mailed. Every piece of
 * archive text goes through the escaping helpers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Db } from '../db/duckdb.js';
import { archiveRoots, workspaceOf } from '../db/schema.js';
import { tableColumns } from '../db/table.js';
import { corpusOverview, settingsText } from '../8-analysis/corpus.js';
import { matchOverview } from '../8-analysis/matching.js';
import { keeperMotifs, type MotifMap } from '../8-analysis/motifs.js';
import { issueDrafts, undatedText, type Drafts } from '../8-analysis/drafts.js';
import { placeStats, sessionStats, weekdayHourDensity } from '../8-analysis/sessions.js';
import { peopleDensity } from '../8-analysis/people.js';
import { escapeHtml, htmlTable, pageHtml } from '../util/html.js';
import {
  barFigure,
  figureHtml,
  heatmapFigure,
  histogramFigure,
  hoverScatterHtml,
  intervalFigure,
  matchMarkers,
  plotlyScript,
  reliabilityFigure,
  scatterFigure,
  stackedBarFigure,
  tradeoffFigure,
  type PlotFigure,
} from '../plot/plotly.js';
import { assertOutsideArchive, checkOutFile, writeFileAtomic } from '../util/fsutil.js';
import type { OnProgress } from '../util/progress.js';
import { recordedModelDir } from '../db/models.js';
import { scoreText } from '../6-score/inbox-page.js';
import { verdict } from '../5-rank/verdict.js';
import type { TrainReport } from '../5-rank/train-report.js';
import { FluxError } from '../util/check.js';
import { plural } from '../util/text.js';

export interface ReportOptions {
  out: string;
  seed?: number;
  /** Embedding model for the motif map (default: the best with vectors). */
  model?: string;
  /** Most keepers whose thumbnails are embedded for hovering on the motif map (default 2,000). */
  hoverThumbnails?: number;
  onProgress?: OnProgress;
}

export interface ReportResult {
  out: string;
  figures: number;
  sections: string[];
  bytes: number;
  seconds: number;
}

async function thumb(workspace: string, preview: string | null, px = 120): Promise<string> {
  if (!preview || !existsSync(join(workspace, preview))) return '';
  const buf = await sharp(join(workspace, preview)).resize(px, px, { fit: 'inside' }).jpeg({ quality: 70 }).toBuffer();
  return `data:image/jpeg;base64,${buf.toString('base64')}`;
}

/** A grid of thumbnails with captions (escaped). */
function sheet(items: ReadonlyArray<{ src: string; caption: string }>, height = 110): string {
  const figure = (i: {
    src: string;
    caption: string;
  }): string => `<figure><div class="thumb" style="height:${height}px">${
    i.src ? `<img src="${i.src}" style="max-height:${height}px" alt="">` : 'no preview'
  }</div>
<figcaption>${escapeHtml(i.caption)}</figcaption></figure>`;
  return `<div class="sheet">${items.map(figure).join('')}</div>`;
}

/** A section of the page. */
interface Section {
  id: string;
  title: string;
  html: string;
}

/** What every section builder reads: the open database, what it holds, and the figure counter. */
interface ReportContext {
  db: Db;
  workspace: string;
  tables: Set<string>;
  /** Columns of `photos`. */
  columns: Set<string>;
  options: ReportOptions;
  figures: string[];
  provenance: { keeperModel: string | null; vectors: string | null };
}

/** Renders a figure with the next id and counts it. */
function fig(ctx: ReportContext, f: PlotFigure, height?: number): string {
  const html = figureHtml(f, { id: `fig-${ctx.figures.length}`, height });
  ctx.figures.push(html);
  return html;
}

async function corpusSection(ctx: ReportContext): Promise<Section> {
  const c = await corpusOverview(ctx.db);
  const perYear = stackedBarFigure(
    c.perYear.map((y) => y.year),
    [
      { name: 'keepers', values: c.perYear.map((y) => y.keepers) },
      { name: 'other photos', values: c.perYear.map((y) => y.photos - y.keepers) },
    ],
    { title: 'Photos per year', x: 'year', y: 'photos' },
  );
  const perMonth = barFigure(
    c.perMonth.map((m) => m.month),
    c.perMonth.map((m) => m.photos),
    { title: 'Photos per month', x: 'month', y: 'photos' },
  );
  const perWalk = barFigure(
    c.perSession.map((s) => s.session_date),
    c.perSession.map((s) => s.photos),
    { title: 'Photos per walk', x: 'walk (day)', y: 'frames' },
  );
  return {
    id: 'corpus',
    title: 'Corpus',
    html: [
      `<p>${c.photos} photos in ${c.sessions} walks, ` +
        `${escapeHtml(c.firstDay ?? '?')} to ${escapeHtml(c.lastDay ?? '?')}; ` +
        `${c.duplicates} duplicate files set aside.</p>`,
      fig(ctx, perYear),
      fig(ctx, perMonth),
      fig(ctx, perWalk),
      `<div class="row">${htmlTable(c.cameras, 'Cameras')}${htmlTable(settingsText(c.settings), 'Camera settings')}</div>`,
      htmlTable(c.errors.slice(0, 50), `Files not indexed (${c.errors.length})`),
      htmlTable(c.duplicateList.slice(0, 50), `Duplicates (${c.duplicateList.length}; the copy kept is named)`),
    ].join('\n'),
  };
}

async function matchingSection(ctx: ReportContext): Promise<Section | null> {
  if (!(ctx.tables.has('keeper_files') && ctx.columns.size && ctx.tables.has('match_calibration'))) return null;
  const m = await matchOverview(ctx.db);
  const statuses = [...new Set(m.byStatusMethod.map((r) => r.match_status))];
  const methods = [...new Set(m.byStatusMethod.map((r) => r.match_method ?? 'none'))];
  const queue = await Promise.all(
    m.queue.slice(0, 24).map(async (q) => ({
      src: await thumb(ctx.workspace, q.keeperPreview),
      caption: `${q.path} (${q.status})${q.reason ? `: ${q.reason}` : ''}`,
    })),
  );
  const count = (s: string, meth: string): number =>
    m.byStatusMethod.find((r) => r.match_status === s && (r.match_method ?? 'none') === meth)?.keepers ?? 0;
  const byStatus = stackedBarFigure(
    statuses,
    methods.map((meth) => ({ name: meth, values: statuses.map((s) => count(s, meth)) })),
    { title: 'Keeper files by status and method', x: 'status', y: 'keeper files' },
  );
  const statusHtml = fig(ctx, byStatus);
  const cal = m.calibration;
  const similarity = cal
    ? fig(
        ctx,
        histogramFigure(
          [
            { name: 'true pairs (bytes differ)', values: cal.truePairs },
            { name: 'most similar other frame of the walk', values: cal.siblings },
          ],
          {
            title: `Similarity behind the thresholds (link >= ${cal.link.toFixed(3)})`,
            x: 'cosine similarity',
            markers: matchMarkers(cal),
          },
        ),
      )
    : '';
  return {
    id: 'matching',
    title: 'Keepers linked to originals',
    html: [
      '',
      statusHtml,
      similarity,
      htmlTable(
        m.offsets.filter((o) => o.clock_offset_seconds !== 0),
        'Camera clock offsets found (walks with a non-zero offset)',
      ),
      `<h3>Review queue (${m.queue.length})</h3>${sheet(queue)}`,
    ].join('\n'),
  };
}

async function rankersSection(ctx: ReportContext): Promise<Section | null> {
  // the model whose scores the photos hold (flux score --model-dir can name another than the last trained)
  const scoredDir = await recordedModelDir(ctx.db, 'keeper_scored_dir');
  const modelDir =
    scoredDir && existsSync(join(scoredDir, 'metrics.json'))
      ? scoredDir
      : await recordedModelDir(ctx.db, 'keeper_model');
  ctx.provenance.keeperModel = modelDir ? (modelDir.split(/[\\/]/).pop() ?? modelDir) : null;
  const metricsFile = modelDir ? join(modelDir, 'metrics.json') : null;
  if (!metricsFile || !existsSync(metricsFile)) return null;
  const r = JSON.parse(readFileSync(metricsFile, 'utf8')) as TrainReport;
  const fix = (e: {
    value: number | null;
    lo: number | null;
    hi: number | null;
  }): { value: number; lo: number; hi: number } => ({ value: e.value ?? NaN, lo: e.lo ?? NaN, hi: e.hi ?? NaN });
  const test = intervalFigure(
    r.results.map((x) => ({ name: x.name, ...fix(x.test.ap), highlight: x.name === r.winner.name })),
    {
      title: 'Average precision on the test walks (95% session bootstrap)',
      x: 'average precision',
      reference: { value: r.data.testKeepers / Math.max(1, r.data.test), name: 'keeper rate' },
    },
  );
  const testHtml = fig(ctx, test);
  const a = r.allWalks;
  const allWalks = a
    ? fig(
        ctx,
        intervalFigure(
          a.models.map((x) => ({ name: x.name, ...fix(x.ap), highlight: x.name === r.winner.name })),
          {
            title: `Average precision with every walk held out once (${a.folds} session folds, ${a.keepers} keepers)`,
            x: 'average precision',
            reference: { value: a.keepers / Math.max(1, a.photos), name: 'keeper rate' },
          },
        ),
      )
    : '';
  const method = escapeHtml(r.winner.calibration?.calibration.method ?? '');
  const threshold = r.threshold.point ? r.threshold.point.threshold.toFixed(3) : 'none';
  return {
    id: 'rankers',
    title: 'Keeper rankers and calibration',
    html: [
      `<pre>${escapeHtml(verdict(r))}</pre>`,
      testHtml,
      allWalks,
      fig(
        ctx,
        reliabilityFigure(r.reliability, { title: `Reliability of the keeper score on the test walks (${method})` }),
      ),
      fig(
        ctx,
        tradeoffFigure(r.tradeoff, {
          title: `Surfacing trade-off on validation; threshold ${threshold} (${escapeHtml(r.threshold.rule)})`,
          threshold: r.threshold.point?.threshold ?? null,
        }),
      ),
    ].join('\n'),
  };
}

async function scoresSection(ctx: ReportContext): Promise<Section | null> {
  if (!ctx.columns.has('keeper_band')) return null;
  const { db, columns } = ctx;
  const bands = await db.all<{
    band: string;
    photos: number;
    surfaced: number;
  }>(`SELECT keeper_band AS band, count(*) AS photos,
    ${columns.has('surfaced') ? 'count(*) FILTER (WHERE surfaced)' : '0'} AS surfaced FROM photos GROUP BY 1 ORDER
    BY 1`);
  const scores = (
    await db.all<{ s: number }>(`SELECT keeper_score AS s FROM photos
    WHERE keeper_score IS NOT NULL AND NOT keeper AND keeper_band <> 'failure'`)
  ).map((x) => x.s);
  const top = await db.all<{
    path: string;
    preview: string | null;
    s: number;
  }>(`SELECT path, preview, keeper_score AS s FROM photos
    WHERE NOT keeper AND keeper_score IS NOT NULL ORDER BY keeper_score DESC,
    ${columns.has('raw_score') ? 'raw_score DESC NULLS LAST, ' : ''}path LIMIT 12`);
  const failures = await db.all<{ path: string; reason: string }>(`SELECT path, score_reason AS reason FROM photos
    WHERE keeper_band = 'failure' ORDER BY path LIMIT 50`);
  const topSheet = sheet(
    await Promise.all(
      top.map(async (t) => ({ src: await thumb(ctx.workspace, t.preview), caption: `${scoreText(t.s)} ${t.path}` })),
    ),
  );
  return {
    id: 'scores',
    title: 'Keeper scores',
    html: [
      htmlTable(bands, "Photos per band (surfaced: at or above the model's auto-surface threshold)"),
      fig(
        ctx,
        histogramFigure([{ name: 'photos not yet kept', values: scores }], {
          title: 'Keeper score of the photos he has not kept',
          x: 'keeper score',
          bins: 50,
        }),
      ),
      `<h3>Highest-scoring photos he has not kept</h3>${topSheet}`,
      htmlTable(failures, 'Technical failures (score 0.0)'),
    ].join('\n'),
  };
}

/** The motif map with thumbnails on hover, the motif mix per year, the keeper rate per year and each motif's core. */
async function motifsHtml(ctx: ReportContext, mm: MotifMap): Promise<string> {
  const hoverN = ctx.options.hoverThumbnails ?? 2000;
  const thumbs: Record<string, string> = {};
  for (let i = 0; i < Math.min(mm.ids.length, hoverN); i++)
    thumbs[String(mm.ids[i])] = await thumb(ctx.workspace, mm.previews[i] ?? null, 160);
  const paths: Record<string, string> = Object.fromEntries(mm.ids.map((id, i) => [String(id), mm.paths[i] ?? '']));
  const years = [...new Set(mm.byYear.map((b) => b.year))];
  const points = mm.ids.map((id, i) => ({
    x: (mm.xy[i] as [number, number])[0],
    y: (mm.xy[i] as [number, number])[1],
    group: `motif ${(mm.cluster[i] as number) + 1}`,
    text: `${mm.paths[i]} (${mm.years[i] ?? '?'})`,
    id,
  }));
  const mapFigure = scatterFigure(points, {
    title: `Motifs: UMAP of ${mm.ids.length} keepers (${escapeHtml(mm.modelId)}), k-means k = ${mm.k}`,
    x: 'UMAP 1',
    y: 'UMAP 2',
  });
  const mapHtml = hoverScatterHtml(mapFigure, thumbs, paths, { id: `fig-${ctx.figures.length}`, height: 520 });
  ctx.figures.push(mapHtml);
  const mix = stackedBarFigure(
    years,
    Array.from({ length: mm.k }, (_, k) => ({
      name: `motif ${k + 1}`,
      values: years.map((y) => mm.byYear.find((b) => b.year === y && b.cluster === k)?.keepers ?? 0),
    })),
    { title: 'Motif mix per year', x: 'year', y: 'keepers' },
  );
  const cores = await Promise.all(
    mm.motifs.map(
      async (m) =>
        `<h3>Motif ${m.cluster + 1}: ${m.size} keepers; nearest the centre</h3>${sheet(
          await Promise.all(
            m.nearest.map(async (p) => ({ src: await thumb(ctx.workspace, p.preview), caption: p.path })),
          ),
        )}`,
    ),
  );
  const scores = mm.kChoice.scores.length
    ? `: ${mm.kChoice.scores.map((s) => `k=${s.k} ${s.silhouette.toFixed(3)}`).join(', ')}`
    : '';
  return [
    `<p>k chosen by ${escapeHtml(mm.kChoice.criterion)}${scores}. ` +
      `PCA keeps ${(100 * mm.explained).toFixed(0)}% of the variance.</p>`,
    mapHtml,
    fig(ctx, mix),
    fig(
      ctx,
      barFigure(
        mm.drift.map((d) => d.year),
        mm.drift.map((d) => d.rate),
        { title: 'Keeper rate per year', x: 'year', y: 'share of photos kept' },
      ),
    ),
    cores.join('\n'),
  ].join('\n');
}

async function motifsSection(ctx: ReportContext): Promise<{ section: Section; motifs: MotifMap | null }> {
  try {
    const motifs = await keeperMotifs(ctx.db, { seed: ctx.options.seed ?? 7, model: ctx.options.model });
    ctx.provenance.vectors = motifs.modelId;
    return { section: { id: 'motifs', title: 'Motifs', html: await motifsHtml(ctx, motifs) }, motifs };
  } catch (err) {
    if (!(err instanceof FluxError)) throw err;
    return { section: { id: 'motifs', title: 'Motifs', html: `<p>${escapeHtml(err.message)}</p>` }, motifs: null };
  }
}

async function sessionsSection(ctx: ReportContext): Promise<Section> {
  const s = await sessionStats(ctx.db);
  const wh = await weekdayHourDensity(ctx.db);
  const places = await placeStats(ctx.db);
  const placesHtml = places.withGps
    ? htmlTable(places.places, `Places (${places.withGps} photos with GPS, 0.01 degree grid)`)
    : '<p>No photo carries GPS coordinates, so there is no map of places.</p>';
  return {
    id: 'sessions',
    title: 'Walks: where and when he keeps',
    html: [
      '',
      fig(
        ctx,
        barFigure(
          s.sessions.map((x) => x.session_date),
          s.sessions.map((x) => x.density),
          { title: 'Keeper density per walk', x: 'walk (day)', y: 'keepers / frames' },
        ),
      ),
      fig(
        ctx,
        barFigure(
          s.byHour.map((x) => x.hour),
          s.byHour.map((x) => x.density),
          { title: 'Keeper density by hour of day', x: 'hour', y: 'keepers / frames' },
        ),
      ),
      fig(
        ctx,
        heatmapFigure(wh.hours, wh.weekdays, wh.density, {
          title: 'Keeper density by weekday and hour',
          x: 'hour',
          y: 'weekday',
        }),
      ),
      `<div class="row">${htmlTable(s.bySeason, 'By season')}${htmlTable(s.byLength, 'By walk length')}</div>`,
      htmlTable(s.top, 'The walks with the most keepers'),
      placesHtml,
    ].join('\n'),
  };
}

/** Keeper density by the number of people in the frame and the largest one's size (after flux detect). */
async function peopleSection(ctx: ReportContext): Promise<Section | null> {
  const p = await peopleDensity(ctx.db);
  if (!p) return null;
  const table = (rows: typeof p.byCount, caption: string): string =>
    htmlTable(
      rows.map((r) => ({ [caption]: r.group, photos: r.photos, keepers: r.keepers, density: r.density ?? '–' })),
    );
  const bars = (rows: typeof p.byCount, title: string, x: string): string =>
    fig(
      ctx,
      barFigure(
        rows.map((r) => r.group),
        rows.map((r) => r.density ?? 0),
        { title, x, y: 'keepers / frames' },
      ),
    );
  const note = p.notExamined
    ? ` ${plural(p.notExamined, 'photo')} not yet examined are left out (flux detect resumes).`
    : '';
  return {
    id: 'people',
    title: 'People: keeper density by who is in the frame',
    html: [
      `<p>${plural(p.examined, 'photo')} examined by ${escapeHtml(p.personModel ?? '')}.${escapeHtml(note)}</p>`,
      `<div class="row">${bars(p.byCount, 'Keeper density by people in the frame', 'people found')}`,
      `${bars(p.bySize, "Keeper density by the largest person's size", 'largest person')}</div>`,
      `<div class="row">${table(p.byCount, 'people found')}${table(p.bySize, 'largest person')}</div>`,
    ].join('\n'),
  };
}

async function draftsSection(ctx: ReportContext): Promise<Section | null> {
  if (!ctx.columns.has('keeper_band')) return null;
  let d: Drafts;
  try {
    d = await issueDrafts(ctx.db);
  } catch (err) {
    if (!(err instanceof FluxError)) throw err;
    return null;
  }
  const sheets = await Promise.all(
    d.drafts.map(
      async (draft) =>
        `<h3>Draft ${draft.index}</h3>${sheet(
          await Promise.all(
            draft.photos.map(async (p) => ({
              src: await thumb(ctx.workspace, p.preview, 100),
              caption: `${p.capturedAt.slice(0, 16)} ${p.score.toFixed(2)}${p.keeper ? ' kept' : ''}`,
            })),
          ),
          90,
        )}`,
    ),
  );
  return {
    id: 'drafts',
    title: 'Issue drafts (36 photos, by score, in time order)',
    html:
      `<p>${escapeHtml(d.note ?? `${plural(d.candidates, 'photo')} score at least ${d.options.minScore}${undatedText(d.undated)}.`)}</p>` +
      sheets.join('\n'),
  };
}

/** The whole corpus on one map (WebGL beyond a few thousand points), once it is scored and has motifs. */
async function corpusMapSection(ctx: ReportContext, motifs: MotifMap | null): Promise<Section | null> {
  if (!(ctx.columns.has('keeper_band') && motifs)) return null;
  const pts = await ctx.db.all<{
    id: number;
    path: string;
    s: number | null;
    band: string;
  }>(`SELECT photo_id AS id, path,
    keeper_score AS s, keeper_band AS band FROM photos WHERE captured_at IS NOT NULL ORDER BY photo_id`);
  const hour = await ctx.db.all<{ id: number; h: number; d: number }>(`SELECT photo_id AS id,
    hour(captured_at) + minute(captured_at) / 60.0 AS h, dayofyear(captured_at) AS d FROM photos WHERE captured_at
    IS NOT NULL ORDER BY photo_id`);
  const byId = new Map(hour.map((h) => [h.id, h]));
  const points = pts.map((p) => ({
    x: byId.get(p.id)?.d ?? 0,
    y: byId.get(p.id)?.h ?? 0,
    group: p.band ?? 'unscored',
    text: `${p.path} ${p.s === null ? '' : p.s.toFixed(2)}`,
    id: p.id,
  }));
  return {
    id: 'map',
    title: 'Every photo by season and time of day',
    html: fig(
      ctx,
      scatterFigure(points, {
        title: `${pts.length} photos by day of year and hour, coloured by band`,
        x: 'day of year',
        y: 'hour',
      }),
      460,
    ),
  };
}

/** Every section in page order, with progress. */
async function buildSections(ctx: ReportContext): Promise<Section[]> {
  const step = (stage: string, done: number): void =>
    ctx.options.onProgress?.({ stage: `report: ${stage}`, done, total: 7 });
  const sections: Array<Section | null> = [];
  step('corpus', 0);
  sections.push(await corpusSection(ctx));
  step('matching', 1);
  sections.push(await matchingSection(ctx));
  step('rankers', 2);
  sections.push(await rankersSection(ctx), await scoresSection(ctx));
  step('motifs', 3);
  const { section: motifSection, motifs } = await motifsSection(ctx);
  sections.push(motifSection);
  step('sessions', 4);
  sections.push(await sessionsSection(ctx), await peopleSection(ctx));
  step('drafts', 5);
  sections.push(await draftsSection(ctx));
  step('corpus map', 6);
  sections.push(await corpusMapSection(ctx, motifs));
  step('write', 7);
  return sections.filter((s): s is Section => s !== null);
}

/** Where the report's look differs from the shared style sheet: smaller captions, wider gaps, unruled tables. */
const REPORT_STYLE = '<style>figcaption{font-size:11px;line-height:normal}.row{gap:24px}td{border-bottom:none}</style>';

/** The page: the shared shell with plotly inlined, a line of provenance, a table of contents and the sections. */
function reportPage(
  dbFile: string,
  sections: readonly Section[],
  options: ReportOptions,
  provenance: ReportContext['provenance'],
): string {
  const nav = sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join(' · ');
  const generated = escapeHtml(new Date().toISOString().slice(0, 19).replace('T', ' '));
  const db = escapeHtml(dbFile);
  const keeperModel = escapeHtml(provenance.keeperModel ?? 'none');
  const vectors = escapeHtml(provenance.vectors ?? 'none');
  const body = `<h1>FLUX keeper workbench report</h1>
<p>What would this photographer probably keep? The model ranks; he selects. Generated ${generated} from ${db};
seed ${options.seed ?? 7}; keeper model ${keeperModel}; motif vectors ${vectors}.</p>
<nav>${nav}</nav>
${sections.map((s) => `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>${s.html}</section>`).join('\n')}`;
  return pageHtml({ title: 'FLUX keeper workbench report', head: `${REPORT_STYLE}\n${plotlyScript()}`, body });
}

/** Builds the page from an open database. */
export async function writeReport(db: Db, options: ReportOptions): Promise<ReportResult> {
  const t0 = performance.now();
  const out = checkOutFile('--out', options.out, 'report.html');
  const provenance: ReportContext['provenance'] = { keeperModel: null, vectors: null };
  const figures: string[] = [];
  let sections: Section[];
  {
    assertOutsideArchive('--out', out, await archiveRoots(db));
    const tableRows = await db.all<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables`);
    const tables = new Set(tableRows.map((r) => r.name));
    if (!tables.has('photos'))
      throw new FluxError(`${db.file}: not a workbench database (no photos table); run flux ingest first`);
    const ctx: ReportContext = {
      db,
      workspace: await workspaceOf(db),
      tables,
      columns: new Set(await tableColumns(db, 'photos')),
      options,
      figures,
      provenance,
    };
    sections = await buildSections(ctx);
  }
  const page = reportPage(db.file, sections, options, provenance);
  writeFileAtomic(out, page);
  return {
    out,
    figures: figures.length,
    sections: sections.map((s) => s.id),
    bytes: Buffer.byteLength(page),
    seconds: (performance.now() - t0) / 1000,
  };
}
