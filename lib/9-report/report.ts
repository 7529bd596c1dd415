/**
 * `flux report`: one standalone HTML page with the notebooks' figures and tables, for people without Jupyter.
 * plotly.js is inlined and thumbnails are embedded, so the page works offline and can be mailed. Every piece of
 * archive text goes through the escaping helpers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { Db } from '../db/duckdb.js';
import { archiveRoots, workspaceOf } from '../db/schema.js';
import { corpusOverview } from '../8-analysis/corpus.js';
import { matchOverview } from '../8-analysis/matching.js';
import { keeperMotifs, type MotifMap } from '../8-analysis/motifs.js';
import { issueDrafts, type Drafts } from '../8-analysis/drafts.js';
import { placeStats, sessionStats, weekdayHourDensity } from '../8-analysis/sessions.js';
import { escapeHtml, htmlTable } from '../util/html.js';
import {
  barFigure, figureHtml, heatmapFigure, histogramFigure, hoverScatterHtml, intervalFigure, matchMarkers, plotlyScript, reliabilityFigure, scatterFigure, stackedBarFigure, tradeoffFigure,
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
  db: string;
  out: string;
  seed?: number;
  /** Embedding model for the motif map (default: the best with vectors). */
  model?: string;
  /** Most keepers whose thumbnails are embedded for hovering on the motif map (default 2,000). */
  hoverThumbnails?: number;
  onProgress?: OnProgress;
}

export interface ReportResult { out: string; figures: number; sections: string[]; bytes: number; seconds: number }


async function thumb(workspace: string, preview: string | null, px = 120): Promise<string> {
  if (!preview || !existsSync(join(workspace, preview))) return '';
  const buf = await sharp(join(workspace, preview)).resize(px, px, { fit: 'inside' }).jpeg({ quality: 70 }).toBuffer();
  return `data:image/jpeg;base64,${buf.toString('base64')}`;
}

/** A grid of thumbnails with captions (escaped). */
function sheet(items: ReadonlyArray<{ src: string; caption: string }>, height = 110): string {
  return `<div class="sheet">${items.map((i) => `<figure><div class="thumb" style="height:${height}px">${i.src ? `<img src="${i.src}" style="max-height:${height}px" alt="">` : 'no preview'}</div>
<figcaption>${escapeHtml(i.caption)}</figcaption></figure>`).join('')}</div>`;
}

/** Builds the page. */
export async function writeReport(options: ReportOptions): Promise<ReportResult> {
  const t0 = performance.now();
  const out = checkOutFile('--out', options.out, 'report.html');
  const db = await Db.openIndex(options.db, { readOnly: true });
  const figures: string[] = [];
  const provenance: { keeperModel: string | null; vectors: string | null } = { keeperModel: null, vectors: null };
  const sections: Array<{ id: string; title: string; html: string }> = [];
  const fig = (f: PlotFigure, height?: number): string => {
    const html = figureHtml(f, { id: `fig-${figures.length}`, height });
    figures.push(html);
    return html;
  };
  try {
    const roots = await archiveRoots(db);
    assertOutsideArchive('--out', out, roots);
    const tables = new Set((await db.all<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables`)).map((r) => r.name));
    const columns = new Set((await db.all<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'photos'`)).map((r) => r.name));
    if (!tables.has('photos')) throw new FluxError(`${options.db}: not a workbench database (no photos table); run flux ingest first`);
    const workspace = await workspaceOf(db);
    const step = (stage: string, done: number): void => options.onProgress?.({ stage: `report: ${stage}`, done, total: 7 });

    // ---- corpus
    step('corpus', 0);
    const c = await corpusOverview(db);
    sections.push({
      id: 'corpus', title: 'Corpus', html: `<p>${c.photos} photos in ${c.sessions} walks, ${escapeHtml(c.firstDay ?? '?')} to ${escapeHtml(c.lastDay ?? '?')}; ${c.duplicates} duplicate files set aside.</p>
${fig(stackedBarFigure(c.perYear.map((y) => y.year), [{ name: 'keepers', values: c.perYear.map((y) => y.keepers) }, { name: 'other photos', values: c.perYear.map((y) => y.photos - y.keepers) }], { title: 'Photos per year', x: 'year', y: 'photos' }))}
${fig(barFigure(c.perMonth.map((m) => m.month), c.perMonth.map((m) => m.photos), { title: 'Photos per month', x: 'month', y: 'photos' }))}
${fig(barFigure(c.perSession.map((s) => s.session_date), c.perSession.map((s) => s.photos), { title: 'Photos per walk', x: 'walk (day)', y: 'frames' }))}
<div class="row">${htmlTable(c.cameras, 'Cameras')}${htmlTable(c.settings, 'Camera settings')}</div>
${htmlTable(c.errors.slice(0, 50), `Files not indexed (${c.errors.length})`)}
${htmlTable(c.duplicateList.slice(0, 50), `Duplicates (${c.duplicateList.length}; the copy kept is named)`)}`,
    });

    // ---- matching
    step('matching', 1);
    if (tables.has('keeper_files') && columns.size && tables.has('match_calibration')) {
      const m = await matchOverview(db);
      const statuses = [...new Set(m.byStatusMethod.map((r) => r.match_status))];
      const methods = [...new Set(m.byStatusMethod.map((r) => r.match_method ?? 'none'))];
      const queue = await Promise.all(m.queue.slice(0, 24).map(async (q) => ({ src: await thumb(workspace, q.keeperPreview), caption: `${q.path} (${q.status})${q.reason ? `: ${q.reason}` : ''}` })));
      sections.push({
        id: 'matching', title: 'Keepers linked to originals', html: `
${fig(stackedBarFigure(statuses, methods.map((meth) => ({ name: meth, values: statuses.map((s) => m.byStatusMethod.find((r) => r.match_status === s && (r.match_method ?? 'none') === meth)?.keepers ?? 0) })), { title: 'Keeper files by status and method', x: 'status', y: 'keeper files' }))}
${m.calibration ? fig(histogramFigure([{ name: 'true pairs (bytes differ)', values: m.calibration.truePairs }, { name: 'most similar other frame of the walk', values: m.calibration.siblings }], { title: `Similarity behind the thresholds (link >= ${m.calibration.link.toFixed(3)})`, x: 'cosine similarity', markers: matchMarkers(m.calibration) })) : ''}
${htmlTable(m.offsets.filter((o) => o.clock_offset_seconds !== 0), 'Camera clock offsets found (walks with a non-zero offset)')}
<h3>Review queue (${m.queue.length})</h3>${sheet(queue)}`,
      });
    }

    // ---- rankers
    step('rankers', 2);
    // the model whose scores the photos hold (flux score --model-dir can name another than the last trained)
    const scoredDir = await recordedModelDir(db, 'keeper_scored_dir');
    const modelDir = scoredDir && existsSync(join(scoredDir, 'metrics.json')) ? scoredDir : await recordedModelDir(db, 'keeper_model');
    provenance.keeperModel = modelDir ? modelDir.split(/[\\/]/).pop() ?? modelDir : null;
    const metricsFile = modelDir ? join(modelDir, 'metrics.json') : null;
    if (metricsFile && existsSync(metricsFile)) {
      const r = JSON.parse(readFileSync(metricsFile, 'utf8')) as TrainReport;
      const fix = (e: { value: number | null; lo: number | null; hi: number | null }): { value: number; lo: number; hi: number } => ({ value: e.value ?? NaN, lo: e.lo ?? NaN, hi: e.hi ?? NaN });
      sections.push({
        id: 'rankers', title: 'Keeper rankers and calibration', html: `<pre>${escapeHtml(verdict(r))}</pre>
${fig(intervalFigure(r.results.map((x) => ({ name: x.name, ...fix(x.test.ap), highlight: x.name === r.winner.name })), { title: 'Average precision on the test walks (95% session bootstrap)', x: 'average precision', reference: { value: r.data.testKeepers / Math.max(1, r.data.test), name: 'keeper rate' } }))}
${r.allWalks ? fig(intervalFigure(r.allWalks.models.map((x) => ({ name: x.name, ...fix(x.ap), highlight: x.name === r.winner.name })), { title: `Average precision with every walk held out once (${r.allWalks.folds} session folds, ${r.allWalks.keepers} keepers)`, x: 'average precision', reference: { value: r.allWalks.keepers / Math.max(1, r.allWalks.photos), name: 'keeper rate' } })) : ''}
${fig(reliabilityFigure(r.reliability, { title: `Reliability of the keeper score on the test walks (${escapeHtml(r.winner.calibration?.calibration.method ?? '')})` }))}
${fig(tradeoffFigure(r.tradeoff, { title: `Surfacing trade-off on validation; threshold ${r.threshold.point ? r.threshold.point.threshold.toFixed(3) : 'none'} (${escapeHtml(r.threshold.rule)})`, threshold: r.threshold.point?.threshold ?? null }))}`,
      });
    }

    // ---- keeper scores
    if (columns.has('keeper_band')) {
      const bands = await db.all<{ band: string; photos: number; surfaced: number }>(`SELECT keeper_band AS band, count(*) AS photos, ${columns.has('surfaced') ? 'count(*) FILTER (WHERE surfaced)' : '0'} AS surfaced FROM photos GROUP BY 1 ORDER BY 1`);
      const scores = (await db.all<{ s: number }>(`SELECT keeper_score AS s FROM photos WHERE keeper_score IS NOT NULL AND NOT keeper AND keeper_band <> 'failure'`)).map((x) => x.s);
      const top = await db.all<{ path: string; preview: string | null; s: number }>(`SELECT path, preview, keeper_score AS s FROM photos WHERE NOT keeper AND keeper_score IS NOT NULL ORDER BY keeper_score DESC, ${columns.has('raw_score') ? 'raw_score DESC NULLS LAST, ' : ''}path LIMIT 12`);
      const failures = await db.all<{ path: string; reason: string }>(`SELECT path, score_reason AS reason FROM photos WHERE keeper_band = 'failure' ORDER BY path LIMIT 50`);
      sections.push({
        id: 'scores', title: 'Keeper scores', html: `${htmlTable(bands, 'Photos per band (surfaced: at or above the model\'s auto-surface threshold)')}
${fig(histogramFigure([{ name: 'photos not yet kept', values: scores }], { title: 'Keeper score of the photos he has not kept', x: 'keeper score', bins: 50 }))}
<h3>Highest-scoring photos he has not kept</h3>${sheet(await Promise.all(top.map(async (t) => ({ src: await thumb(workspace, t.preview), caption: `${scoreText(t.s)} ${t.path}` }))))}
${htmlTable(failures, 'Technical failures (score 0.0)')}`,
      });
    }

    // ---- motifs
    step('motifs', 3);
    let motifs: MotifMap | null = null;
    try {
      motifs = await keeperMotifs(db, { seed: options.seed ?? 7, model: options.model });
    } catch (err) {
      if (!(err instanceof FluxError)) throw err;
      sections.push({ id: 'motifs', title: 'Motifs', html: `<p>${escapeHtml(err.message)}</p>` });
    }
    if (motifs) {
      const mm = motifs;
      provenance.vectors = mm.modelId;
      const hoverN = options.hoverThumbnails ?? 2000;
      const thumbs: Record<string, string> = {};
      for (let i = 0; i < Math.min(mm.ids.length, hoverN); i++) thumbs[String(mm.ids[i])] = await thumb(workspace, mm.previews[i] ?? null, 160);
      const paths: Record<string, string> = Object.fromEntries(mm.ids.map((id, i) => [String(id), mm.paths[i] ?? '']));
      const years = [...new Set(mm.byYear.map((b) => b.year))];
      const mapFigure = scatterFigure(mm.ids.map((id, i) => ({ x: (mm.xy[i] as [number, number])[0], y: (mm.xy[i] as [number, number])[1], group: `motif ${(mm.cluster[i] as number) + 1}`, text: `${mm.paths[i]} (${mm.years[i] ?? '?'})`, id })),
        { title: `Motifs: UMAP of ${mm.ids.length} keepers (${escapeHtml(mm.modelId)}), k-means k = ${mm.k}`, x: 'UMAP 1', y: 'UMAP 2' });
      const mapHtml = hoverScatterHtml(mapFigure, thumbs, paths, { id: `fig-${figures.length}`, height: 520 });
      figures.push(mapHtml);
      sections.push({
        id: 'motifs', title: 'Motifs', html: `<p>k chosen by ${escapeHtml(mm.kChoice.criterion)}${mm.kChoice.scores.length ? `: ${mm.kChoice.scores.map((s) => `k=${s.k} ${s.silhouette.toFixed(3)}`).join(', ')}` : ''}. PCA keeps ${(100 * mm.explained).toFixed(0)}% of the variance.</p>
${mapHtml}
${fig(stackedBarFigure(years, Array.from({ length: mm.k }, (_, k) => ({ name: `motif ${k + 1}`, values: years.map((y) => mm.byYear.find((b) => b.year === y && b.cluster === k)?.keepers ?? 0) })), { title: 'Motif mix per year', x: 'year', y: 'keepers' }))}
${fig(barFigure(mm.drift.map((d) => d.year), mm.drift.map((d) => d.rate), { title: 'Keeper rate per year', x: 'year', y: 'share of photos kept' }))}
${(await Promise.all(mm.motifs.map(async (m) => `<h3>Motif ${m.cluster + 1}: ${m.size} keepers; nearest the centre</h3>${sheet(await Promise.all(m.nearest.map(async (p) => ({ src: await thumb(workspace, p.preview), caption: p.path }))))}`))).join('\n')}`,
      });
    }

    // ---- sessions
    step('sessions', 4);
    const s = await sessionStats(db);
    const wh = await weekdayHourDensity(db);
    const places = await placeStats(db);
    sections.push({
      id: 'sessions', title: 'Walks: where and when he keeps', html: `
${fig(barFigure(s.sessions.map((x) => x.session_date), s.sessions.map((x) => x.density), { title: 'Keeper density per walk', x: 'walk (day)', y: 'keepers / frames' }))}
${fig(barFigure(s.byHour.map((x) => x.hour), s.byHour.map((x) => x.density), { title: 'Keeper density by hour of day', x: 'hour', y: 'keepers / frames' }))}
${fig(heatmapFigure(wh.hours, wh.weekdays, wh.density, { title: 'Keeper density by weekday and hour', x: 'hour', y: 'weekday' }))}
<div class="row">${htmlTable(s.bySeason, 'By season')}${htmlTable(s.byLength, 'By walk length')}</div>
${htmlTable(s.top, 'The walks with the most keepers')}
${places.withGps ? htmlTable(places.places, `Places (${places.withGps} photos with GPS, 0.01 degree grid)`) : '<p>No photo carries GPS coordinates, so there is no map of places.</p>'}`,
    });

    // ---- drafts
    step('drafts', 5);
    if (columns.has('keeper_band')) {
      let d: Drafts | null = null;
      try {
        d = await issueDrafts(db);
      } catch (err) {
        if (!(err instanceof FluxError)) throw err;
      }
      if (d) {
        const dd = d;
        const sheets = await Promise.all(dd.drafts.map(async (draft) => `<h3>Draft ${draft.index}</h3>${sheet(await Promise.all(draft.photos.map(async (p) => ({ src: await thumb(workspace, p.preview, 100), caption: `${p.capturedAt.slice(0, 16)} ${p.score.toFixed(2)}${p.keeper ? ' kept' : ''}` }))), 90)}`));
        sections.push({ id: 'drafts', title: 'Issue drafts (36 photos, by score, in time order)', html: `<p>${escapeHtml(dd.note ?? `${plural(dd.candidates, 'photo')} score at least ${dd.options.minScore}.`)}</p>${sheets.join('\n')}` });
      }
    }

    // ---- the whole corpus on one map (WebGL beyond a few thousand points)
    step('corpus map', 6);
    if (columns.has('keeper_band') && motifs) {
      const pts = await db.all<{ id: number; path: string; s: number | null; band: string }>(`SELECT photo_id AS id, path, keeper_score AS s, keeper_band AS band FROM photos WHERE captured_at IS NOT NULL ORDER BY photo_id`);
      const hour = await db.all<{ id: number; h: number; d: number }>(`SELECT photo_id AS id, hour(captured_at) + minute(captured_at) / 60.0 AS h, dayofyear(captured_at) AS d FROM photos WHERE captured_at IS NOT NULL ORDER BY photo_id`);
      const byId = new Map(hour.map((h) => [h.id, h]));
      sections.push({
        id: 'map', title: 'Every photo by season and time of day', html: fig(scatterFigure(pts.map((p) => ({ x: byId.get(p.id)?.d ?? 0, y: byId.get(p.id)?.h ?? 0, group: p.band ?? 'unscored', text: `${p.path} ${p.s === null ? '' : p.s.toFixed(2)}`, id: p.id })),
          { title: `${pts.length} photos by day of year and hour, coloured by band`, x: 'day of year', y: 'hour' }), 460),
      });
    }
    step('write', 7);
  } finally {
    db.close();
  }
  const nav = sections.map((s) => `<a href="#${s.id}">${escapeHtml(s.title)}</a>`).join(' · ');
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>FLUX keeper workbench report</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}h2{border-bottom:1px solid #ccc;margin-top:2em}
.sheet{display:flex;flex-wrap:wrap;gap:8px}.sheet figure{margin:0;width:150px}.thumb{display:flex;align-items:center;justify-content:center;background:#f3f3f3}
.sheet img{max-width:150px}figcaption{font-size:11px;word-break:break-all}.row{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
table{margin:8px 0}pre{white-space:pre-wrap;background:#f6f6f6;padding:8px}</style>
${plotlyScript()}</head><body>
<h1>FLUX keeper workbench report</h1>
<p>What would this photographer probably keep? The model ranks; he selects. Generated ${escapeHtml(new Date().toISOString().slice(0, 19).replace('T', ' '))} from ${escapeHtml(resolve(options.db))};
seed ${options.seed ?? 7}; keeper model ${escapeHtml(provenance.keeperModel ?? 'none')}; motif vectors ${escapeHtml(provenance.vectors ?? 'none')}.</p>
<nav>${nav}</nav>
${sections.map((s) => `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>${s.html}</section>`).join('\n')}
</body></html>`;
  writeFileAtomic(out, page);
  return { out, figures: figures.length, sections: sections.map((s) => s.id), bytes: Buffer.byteLength(page), seconds: (performance.now() - t0) / 1000 };
}
