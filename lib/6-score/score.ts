/**
 * `flux score`: a keeper score in [0, 1] for every photo, from the saved keeper model's ONNX graph. Confirmed
 * keepers score 1.0; clear technical failures (black or badly underexposed frames, dark frames of one colour, blown-out frames, nothing in focus) score 0.0 with the reason; the
 * rest get the calibrated probability and a band. With `--inbox DIR`, new photos are ingested and embedded into the
 * workspace (the inbox is only read), scored into `inbox_scores`, and listed in an HTML report with thumbnails.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Db } from '../db/duckdb.js';
import { embed, workspaceOf } from '../2-embed/embed.js';
import { DESCRIPTOR_NAMES } from '../2-embed/descriptor.js';
import { ingest } from '../1-ingest/ingest.js';
import { escapeHtml, previewDataUri } from '../util/html.js';
import { archiveRoots } from '../db/schema.js';
import { FluxError } from '../util/check.js';
import { assertOutsideArchive, checkDir, checkOutFile, writeFileAtomic } from '../util/fsutil.js';
import type { OnProgress } from '../util/progress.js';
import { BAND_LABELS, bandOf, type Band } from '../5-rank/calibrate.js';
import { loadFeatures, type FeatureRows } from '../4-dataset/rows.js';
import { OnnxScorer } from '../onnx/scorer.js';
import type { Provider, ProviderChoice } from '../onnx/runtime.js';
import type { KeeperModel } from '../5-rank/train.js';

/** Loads a saved keeper model folder. */
export function loadKeeperModel(dir: string): KeeperModel {
  const need = ['config.json', 'weights.json', 'calibration.json'];
  for (const f of need) if (!existsSync(join(dir, f))) throw new FluxError(`--model-dir: ${join(dir, f)} not found; train a model with flux train first`);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as KeeperModel;
  const weights = JSON.parse(readFileSync(join(dir, 'weights.json'), 'utf8')) as Pick<KeeperModel, 'names' | 'standardizer' | 'params'>;
  const calibration = JSON.parse(readFileSync(join(dir, 'calibration.json'), 'utf8')) as KeeperModel['calibration'];
  return { ...config, ...weights, calibration };
}

/** Which model a database names: the last one trained, or the one whose scores `photos` holds. */
export type ModelKey = 'keeper_model' | 'keeper_scored_dir';

/**
 * Records a model folder in the database both relative to the database's own folder and absolute: a project moved or
 * copied whole finds its own models by the first, a database moved on its own finds the model by the second.
 */
export async function recordModelDir(db: Db, key: ModelKey, dir: string): Promise<void> {
  const abs = resolve(dir);
  await db.run('INSERT OR REPLACE INTO meta VALUES (?, ?)', [key, JSON.stringify({ rel: relative(dirname(db.file), abs) || '.', abs })]);
}

/**
 * A model folder the database recorded, as an absolute path: where the relative record points when that folder is
 * there, else the absolute record (older databases recorded a plain absolute path); null when none was recorded.
 */
export async function recordedModelDir(db: Db, key: ModelKey): Promise<string | null> {
  const v = await db.value<string>('SELECT value FROM meta WHERE key = ?', [key]);
  if (!v) return null;
  if (!v.startsWith('{')) return resolve(dirname(db.file), v);
  const { rel, abs } = JSON.parse(v) as { rel: string; abs: string };
  const near = resolve(dirname(db.file), rel);
  return existsSync(near) || !existsSync(abs) ? near : abs;
}

/** The keeper model named by `--model-dir`, else the one the last `flux train` recorded in the database. */
export async function currentModelDir(db: Db, dir?: string): Promise<string> {
  if (dir) return resolve(dir);
  const recorded = await recordedModelDir(db, 'keeper_model');
  if (!recorded) throw new FluxError(`${db.file}: no keeper model yet; run flux train --db ${db.file} first (or pass --model-dir)`);
  if (!existsSync(join(recorded, 'config.json'))) {
    throw new FluxError(`${db.file}: the keeper model the last flux train recorded, ${recorded}, is gone; run flux train --db ${db.file} again (or pass --model-dir)`);
  }
  return recorded;
}

/**
 * Descriptor limits of a clear technical failure, something no photographer keeps. A dark or light frame counts as
 * black or white only when it is also nearly featureless (tiny tonal range and contrast), so night scenes, fog and
 * high-key photographs stay; a frame whose mean is almost white, or mostly clipped white, is blown out.
 */
export const FAILURE_RULES = {
  featureless: { dynamicRange: 0.16, contrast: 0.04 },
  /** Mean luma (0..1) below which a featureless frame is black; above `white` it is white. */
  black: 0.35,
  /**
   * A dark frame with lights in it (a night street, lit windows) is a photograph, not a black frame: its brightest
   * 1% reach at least `range` above the darkest, and at least `ratio` times its mean. Underexposure keeps the
   * brightest near the mean (1.5-5 times in real photographs darkened 3-4 stops).
   */
  lit: { range: 0.12, ratio: 8 },
  white: 0.85,
  /** Mean luma above which any frame is blown out. */
  blownOut: 0.94,
  /** Mean luma and clipped share that together are blown out. */
  bright: { brightness: 0.9, clipWhite: 0.7 },
  /** Share of clipped white pixels that is blown out whatever else. */
  clipWhite: 0.9,
  /**
   * Sharpness (log Laplacian energy) below this: no edge anywhere, nothing in focus at all. Deliberately strict: a
   * blurred street scene (motion, a missed focus the photographer liked) keeps its model score.
   */
  sharpness: 0.3,
  /**
   * A dark featureless frame of one colour (sky, a wall), not black: saturated and colourful. Saturation alone is not
   * enough, since the noise of near-black pixels is "saturated"; colourfulness (opponent channels) is not fooled.
   */
  tinted: { saturation: 0.25, colourfulness: 0.1 },
};

/** Why a photo is a clear technical failure, or null. `d` maps descriptor names to values. */
export function failureReason(d: Record<string, number>): string | null {
  const b = d.brightness as number, dr = d.dynamic_range as number, c = d.contrast as number, cw = d.clip_white as number, sh = d.sharpness as number;
  if (![b, dr, c, cw, sh].every(Number.isFinite)) return null;
  const r = FAILURE_RULES;
  const featureless = dr < r.featureless.dynamicRange && c < r.featureless.contrast;
  const lit = dr >= r.lit.range && dr >= r.lit.ratio * b;
  if (featureless && b < r.black && !lit) {
    const tinted = (d.saturation ?? 0) > r.tinted.saturation && (d.colourfulness ?? 0) > r.tinted.colourfulness;
    const what = tinted ? `dark featureless frame of one colour (saturation ${(d.saturation as number).toFixed(2)}, ` : 'black or badly underexposed frame (';
    return `${what}brightness ${b.toFixed(3)}, tonal range ${dr.toFixed(3)})`;
  }
  if ((featureless && b > r.white) || b > r.blownOut || (b > r.bright.brightness && cw > r.bright.clipWhite) || cw > r.clipWhite) {
    return `blown-out frame (brightness ${b.toFixed(3)}, ${(cw * 100).toFixed(0)}% clipped white)`;
  }
  if (sh < r.sharpness) return `nothing in focus (sharpness ${sh.toFixed(3)})`;
  return null;
}

async function descriptorMap(db: Db, set: 'photos' | 'inbox'): Promise<Map<number, Record<string, number>>> {
  const rows = await db.all<Record<string, number> & { id: number }>(`SELECT id, ${DESCRIPTOR_NAMES.map((n) => `"${n}"`).join(', ')} FROM descriptors WHERE "set" = ?`, [set]);
  return new Map(rows.map((r) => [r.id, r]));
}

/** Features of a set in the model's column order (checked). */
async function modelFeatures(db: Db, model: KeeperModel, set: 'photos' | 'inbox'): Promise<FeatureRows> {
  const rows = await loadFeatures(db, await workspaceOf(db), { set, featureSet: model.featureSet, modelId: model.embeddingModel });
  if (rows.ids.length && (rows.dim !== model.dim || rows.names.some((n, i) => n !== model.names[i]))) {
    throw new FluxError(`keeper model ${model.id} expects ${model.dim} features (${model.featureSet}); the ${set} rows have ${rows.dim}. Re-embed with ${model.embeddingModel} or retrain`);
  }
  return rows;
}

export interface ScoredRow {
  id: number;
  /** The keeper score: 1.0 confirmed keeper, 0.0 failure, else the model's calibrated probability. */
  score: number | null;
  /** The model's calibrated probability whatever the rules say (ranks keepers among themselves, for drafts). */
  model: number | null;
  /** The model's raw ranking score before calibration: it orders photos an isotonic calibration ties. */
  raw: number | null;
  band: Band | 'unscored';
  reason: string | null;
  /** At or above the model's auto-surface threshold (never a confirmed keeper, a failure or an unscored photo). */
  surfaced: boolean;
}

/**
 * Whether a score reaches the auto-surface threshold. The threshold was chosen on the model's scores in double
 * precision; the ONNX graph computes in single precision and equals them within 1e-5, so a photo exactly at the
 * threshold (with isotonic calibration, a whole tied group at the top) must not fall below it by rounding.
 */
export function surfacedAt(score: number, threshold: number | null): boolean {
  return threshold !== null && score >= threshold - SCORE_TOLERANCE;
}

/** How far the ONNX graph's score may lie from the TensorFlow.js model's (tested on 1,000 rows). */
export const SCORE_TOLERANCE = 1e-5;

/** Scores feature rows through the model's ONNX graph, then applies the keeper and failure rules. */
async function scoreRowsOnnx(dir: string, model: KeeperModel, rows: FeatureRows,
  desc: Map<number, Record<string, number>>, keepers: Set<number>, all: number[],
  provider: ProviderChoice): Promise<{ scored: ScoredRow[]; provider: Provider }> {
  const scorer = await OnnxScorer.load(join(dir, 'model.onnx'), 0, provider);
  try {
    const { prob, raw } = rows.ids.length ? await scorer.score(rows.x, rows.dim) : { prob: new Float32Array(0), raw: new Float32Array(0) };
    const byId = new Map(rows.ids.map((id, i) => [id, i]));
    const threshold = model.threshold.value;
    const scored = all.map((id): ScoredRow => {
      const i = byId.get(id);
      const p = i === undefined ? null : prob[i] as number;
      const r = i === undefined ? null : raw[i] as number;
      if (keepers.has(id)) return { id, score: 1, model: p, raw: r, band: 'keeper', reason: 'confirmed keeper', surfaced: false };
      const d = desc.get(id);
      const failure = d ? failureReason(d) : null;
      if (failure) return { id, score: 0, model: p, raw: r, band: 'failure', reason: failure, surfaced: false };
      if (p === null) return { id, score: null, model: null, raw: null, band: 'unscored', reason: d ? `no ${model.embeddingModel} vector` : 'no descriptor (preview failed)', surfaced: false };
      return { id, score: p, model: p, raw: r, band: bandOf(p), reason: null, surfaced: surfacedAt(p, threshold) };
    });
    return { scored, provider: scorer.provider };
  } finally {
    await scorer.close();
  }
}

export interface ScoreReport {
  model: string;
  /** The model's auto-surface threshold (null when none reached its rule). */
  threshold: number | null;
  modelDir: string;
  /** The ONNX Runtime execution provider the scorer graph ran on. */
  provider: Provider;
  set: 'photos' | 'inbox';
  counts: Record<string, number>;
  /** The inbox report file. */
  html: string | null;
  skipped: Array<{ path: string; reason: string }>;
  seconds: number;
}

export interface ScoreOptions {
  db: string;
  modelDir?: string;
  /** Score the photos of this folder instead of the corpus. */
  inbox?: string;
  /** The inbox report (default `<workspace>/reports/inbox.html`). */
  out?: string;
  /** Image decoding workers of the inbox's embedding; default one per core. */
  decodeWorkers?: number;
  /** The ONNX Runtime execution provider of the scorer (and the inbox's embedding); default `auto`. */
  provider?: ProviderChoice;
  onProgress?: OnProgress;
}

const countBands = (rows: ScoredRow[]): Record<string, number> => {
  const c: Record<string, number> = { total: rows.length };
  for (const r of rows) c[r.band] = (c[r.band] ?? 0) + 1;
  c.surfaced = rows.filter((r) => r.surfaced).length;
  return c;
};

/** Runs `flux score`. */
export async function score(options: ScoreOptions): Promise<ScoreReport> {
  const t0 = performance.now();
  if (options.inbox !== undefined) return scoreInbox(options, t0);
  const db = await Db.openIndex(options.db);
  try {
    const dir = await currentModelDir(db, options.modelDir);
    const model = loadKeeperModel(dir);
    options.onProgress?.({ stage: 'score', done: 0, total: 1 });
    const rows = await modelFeatures(db, model, 'photos');
    const keepers = new Set((await db.all<{ id: number }>('SELECT photo_id AS id FROM photos WHERE keeper')).map((r) => r.id));
    const all = (await db.all<{ id: number }>('SELECT photo_id AS id FROM photos ORDER BY photo_id')).map((r) => r.id);
    const onnx = options.provider ?? 'auto';
    const desc = await descriptorMap(db, 'photos');
    const { scored, provider } = await scoreRowsOnnx(dir, model, rows, desc, keepers, all, onnx);
    await db.transaction(async () => {
      await db.run('ALTER TABLE photos ADD COLUMN IF NOT EXISTS keeper_band VARCHAR');
      await db.run('ALTER TABLE photos ADD COLUMN IF NOT EXISTS score_reason VARCHAR');
      await db.run('ALTER TABLE photos ADD COLUMN IF NOT EXISTS model_score DOUBLE');
      await db.run('ALTER TABLE photos ADD COLUMN IF NOT EXISTS raw_score DOUBLE');
      await db.run('ALTER TABLE photos ADD COLUMN IF NOT EXISTS surfaced BOOLEAN');
      await db.run('CREATE OR REPLACE TEMP TABLE new_scores (photo_id BIGINT, s DOUBLE, m DOUBLE, raw DOUBLE, band VARCHAR, reason VARCHAR, surfaced BOOLEAN)');
      await db.append('new_scores', ['bigint', 'double', 'double', 'double', 'varchar', 'varchar', 'boolean'], scored.map((r) => [r.id, r.score, r.model, r.raw, r.band, r.reason, r.surfaced]));
      await db.run(`UPDATE photos SET keeper_score = n.s, model_score = n.m, raw_score = n.raw, keeper_band = n.band, score_reason = n.reason, surfaced = n.surfaced
        FROM new_scores n WHERE photos.photo_id = n.photo_id`);
      await db.run('DROP TABLE new_scores');
      await db.run(`INSERT OR REPLACE INTO meta VALUES ('keeper_scored_by', ?)`, [model.id]);
      await recordModelDir(db, 'keeper_scored_dir', dir);
    });
    options.onProgress?.({ stage: 'score', done: 1, total: 1 });
    return {
      model: model.id, threshold: model.threshold.value, modelDir: dir, provider, set: 'photos',
      counts: countBands(scored), html: null, skipped: [], seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    db.close();
  }
}

async function scoreInbox(options: ScoreOptions, t0: number): Promise<ScoreReport> {
  const inbox = checkDir('--inbox', options.inbox);
  // where the archive is: never written, and neither is the inbox
  let roots: Record<string, string>;
  let dir: string;
  let model: KeeperModel;
  let workspace: string;
  const db0 = await Db.openIndex(options.db);
  try {
    // the inbox recorded last time may be another folder: this one is the inbox now
    roots = { ...(await archiveRoots(db0)), inbox };
    dir = await currentModelDir(db0, options.modelDir);
    model = loadKeeperModel(dir);
    workspace = await workspaceOf(db0);
  } finally {
    db0.close();
  }
  const out = checkOutFile('--out', options.out ?? join(workspace, 'reports', 'inbox.html'), 'inbox.html');
  assertOutsideArchive('--out', out, roots);
  assertOutsideArchive('--db', options.db, roots);
  assertOutsideArchive('workspace', workspace, roots);
  const db = await Db.openIndex(options.db);
  try {
    await ingest(db, { inbox, workspace, onProgress: options.onProgress });
    const embedding = { sets: ['inbox' as const], model: model.embeddingModel ?? 'none', onProgress: options.onProgress };
    await embed(db, { ...embedding, decodeWorkers: options.decodeWorkers, provider: options.provider });
    const rows = await modelFeatures(db, model, 'inbox');
    const photos = await db.all<{ id: number; path: string; preview: string | null; captured_at: string | null }>(`SELECT inbox_id AS id, path, preview,
      CAST(captured_at AS VARCHAR) AS captured_at FROM inbox_photos ORDER BY path`);
    const { scored, provider } = await scoreRowsOnnx(dir, model, rows, await descriptorMap(db, 'inbox'), new Set(),
      photos.map((p) => p.id), options.provider ?? 'auto');
    // a new photo that is byte for byte one the archive already holds is said to be so (the score stays the model's)
    const known = new Map<number, string>();
    for (const k of await db.all<{ id: number; path: string; keeper: boolean | null; kind: string }>(`
      SELECT i.inbox_id AS id, arg_min(a.path, a.rank) AS path, arg_min(a.kind, a.rank) AS kind, bool_or(a.keeper) AS keeper FROM inbox_photos i JOIN (
        SELECT p.sha256, p.path, p.keeper, 'originals' AS kind, '0' || p.path AS rank FROM photos p
        UNION ALL SELECT d.sha256, d.path, p.keeper, 'originals', '0' || d.path FROM corpus_duplicates d JOIN photos p USING (photo_id)
        UNION ALL SELECT sha256, path, true, 'keepers', '1' || path FROM keeper_files) a ON a.sha256 = i.sha256
      GROUP BY i.inbox_id`)) {
      known.set(Number(k.id), k.kind === 'keepers' ? `already among the keepers as ${k.path}` : `already in the originals as ${k.path}${k.keeper ? ', a confirmed keeper' : ''}`);
    }
    for (const r of scored) {
      const note = known.get(r.id);
      if (note) r.reason = r.reason ? `${r.reason}; ${note}` : note;
    }
    const byId = new Map(photos.map((p) => [p.id, p]));
    await db.run(`CREATE OR REPLACE TABLE inbox_scores (path VARCHAR PRIMARY KEY, keeper_score DOUBLE, band VARCHAR, surfaced BOOLEAN, reason VARCHAR,
      raw_score DOUBLE, keeper_model VARCHAR, scored_at TIMESTAMP)`);
    const now = new Date().toISOString().replace('T', ' ').slice(0, 19);
    await db.append('inbox_scores', ['varchar', 'double', 'varchar', 'boolean', 'varchar', 'double', 'varchar', 'varchar'],
      scored.map((r) => [(byId.get(r.id) as { path: string }).path, r.score, r.band, r.surfaced, r.reason, r.raw, model.id, now]));
    const skipped = [
      ...(await db.all<{ path: string; reason: string }>(`SELECT path, stage || ': ' || message AS reason FROM ingest_errors WHERE root = 'inbox' ORDER BY path`)),
      ...scored.filter((r) => r.band === 'unscored').map((r) => ({ path: (byId.get(r.id) as { path: string }).path, reason: r.reason ?? 'not scored' })),
    ];
    const items = scored.map((r) => ({ ...r, ...(byId.get(r.id) as { path: string; preview: string | null; captured_at: string | null }) }));
    writeFileAtomic(out, inboxHtml(items, skipped, model, workspace, inbox));
    return {
      model: model.id, threshold: model.threshold.value, modelDir: dir, provider, set: 'inbox',
      counts: countBands(scored), html: out, skipped, seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    db.close();
  }
}

/** A score as shown: two decimals, but a small non-zero one is not shown as the 0.00 of a failure. */
export function scoreText(s: number): string {
  return s > 0 && s < 0.005 ? '<0.01' : s.toFixed(2);
}

const BAND_COLOURS: Record<string, string> = { keeper: '#1b7837', review: '#1b7837', uncertain: '#b8860b', unlikely: '#777', failure: '#b2182b', unscored: '#777' };

/** The inbox report: photos by score (then time), thumbnails embedded, so the file stands alone. */
export function inboxHtml(items: Array<ScoredRow & { path: string; preview: string | null; captured_at: string | null }>, skipped: Array<{ path: string; reason: string }>,
  model: KeeperModel, workspace: string, inbox: string): string {
  // by score; photos a calibration ties keep the model's own order (its raw score), then time
  const sorted = [...items].sort((a, b) => (b.score ?? -1) - (a.score ?? -1) || (b.raw ?? -Infinity) - (a.raw ?? -Infinity) || String(a.captured_at).localeCompare(String(b.captured_at)));
  const threshold = model.threshold.value;
  const cards = sorted.map((r) => {
    const src = previewDataUri(workspace, r.preview);
    const label = r.band === 'unscored' ? 'not scored' : BAND_LABELS[r.band as Band];
    return `<figure class="card${r.surfaced ? ' surfaced' : ''}" data-band="${r.band}"><div class="img">${src ? `<img src="${src}" alt="${escapeHtml(r.path)}">` : 'no preview'}</div>
<figcaption><b style="color:${BAND_COLOURS[r.band]}">${r.score === null ? '–' : escapeHtml(scoreText(r.score))}</b> ${escapeHtml(label)}${r.surfaced ? ` · <b class="surf">surfaced</b>` : ''}<br>${escapeHtml(r.path)}${r.captured_at ? `<br><small>${escapeHtml(r.captured_at)}</small>` : ''}${r.reason && r.band !== 'unscored' ? `<br><small>${escapeHtml(r.reason)}</small>` : ''}</figcaption></figure>`;
  }).join('\n');
  const counts = countBands(items);
  const summary = [`surfaced automatically: ${counts.surfaced ?? 0}`,
    ...(['review', 'uncertain', 'unlikely', 'failure', 'unscored'] as const).map((b) => `${b === 'unscored' ? 'not scored' : BAND_LABELS[b]}: ${counts[b] ?? 0}`)].join(' · ');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Inbox keeper scores</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}.grid{display:flex;flex-wrap:wrap;gap:12px}.card{width:220px;margin:0}
.surfaced{outline:3px solid #1b7837;outline-offset:2px}.surf{color:#1b7837}.img{height:150px;display:flex;align-items:center;justify-content:center;background:#f3f3f3}.img img{max-width:220px;max-height:150px}
figcaption{font-size:12px;line-height:1.35;word-break:break-all}table{border-collapse:collapse}td{padding:2px 8px;border-bottom:1px solid #ddd}</style></head><body>
<h1>Inbox keeper scores</h1>
<p>${escapeHtml(inbox)} · ${items.length} photos · model ${escapeHtml(model.id)} (${escapeHtml(model.arch)}, ${escapeHtml(model.featureSet)}${model.embeddingModel ? `, ${escapeHtml(model.embeddingModel)}` : ''})</p>
<p>${escapeHtml(summary)}</p>
<p><small>The score estimates how likely this photographer would keep the photo, learned from his own keepers; it ranks, he selects.
${threshold !== null ? `Photos scoring at least the auto-surface threshold, ${threshold.toFixed(3)} (${escapeHtml(model.threshold.rule)}), are surfaced without asking, whatever their band.` : `No auto-surface threshold: none reached its rule (${escapeHtml(model.threshold.rule)}) on validation, so nothing is surfaced without asking.`}</small></p>
<div class="grid">${cards}</div>
${skipped.length ? `<h2>Skipped</h2><table>${skipped.map((s) => `<tr><td>${escapeHtml(s.path)}</td><td>${escapeHtml(s.reason)}</td></tr>`).join('')}</table>` : ''}
</body></html>`;
}

