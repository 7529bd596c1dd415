/**
 * Motifs and the curator in the portal: the UMAP map of the keepers coloured by motif cluster (`keeperMotifs`),
 * clicks to exclude a keeper or mark a favourite (the curator's own tables), a farthest-point or k-means run with its
 * Monte Carlo stability (`curateVectors`, saved as `flux curate` saves it), and an export as `flux curate --export`
 * makes, into a folder of the workspace (a request never names a path).
 */
import { removeExclusion, setFavourite } from '../db/curator.js';
import { join } from 'node:path';
import type { Db } from '../db/duckdb.js';
import { keeperMotifs, type MotifMap } from '../8-analysis/motifs.js';
import {
  curateVectors,
  ensureCuratorSchema,
  exclude,
  exclusions,
  exportSelection,
  loadPhotoVectors,
  MAX_ITERATIONS,
  saveSelection,
  technicalFailures,
  type CurateMethod,
  type CurateResult,
  type ExportReport,
} from '../7-curate/curate.js';
import { FluxError, checkChoice, checkInt } from '../util/check.js';
import { escapeHtml, pageHtml } from '../util/html.js';

export interface MotifPoint {
  photo_id: number;
  x: number;
  y: number;
  cluster: number;
  path: string;
  excluded: boolean;
  favourite: boolean;
}

export interface MotifsAnswer {
  k: number;
  criterion: string;
  model: string;
  points: MotifPoint[];
}

/** The keeper map with each keeper's exclusion and favourite marks. */
export async function motifPoints(db: Db, map: MotifMap): Promise<MotifsAnswer> {
  await ensureCuratorSchema(db);
  const excluded = await exclusions(db);
  const favourites = new Set((await db.all<{ id: number }>('SELECT photo_id AS id FROM favourites')).map((r) => r.id));
  const points = map.ids.map((id, i) => ({
    photo_id: id,
    x: (map.xy[i] as [number, number])[0],
    y: (map.xy[i] as [number, number])[1],
    cluster: map.cluster[i] as number,
    path: map.paths[i] as string,
    excluded: excluded.has(id),
    favourite: favourites.has(id),
  }));
  return { k: map.k, criterion: map.kChoice.criterion, model: map.modelId, points };
}

/** The motif map, computed once per portal run and keeper count (UMAP takes a minute on 15,000 keepers). */
export function motifCache(): (db: Db) => Promise<MotifMap> {
  let cached: { keepers: number; map: MotifMap } | null = null;
  return async (db) => {
    const keepers = Number(await db.value('SELECT count(*) FROM photos WHERE keeper'));
    if (keepers === 0) throw new FluxError('no keepers yet: run flux match first; the motif map shows the keepers');
    if (cached?.keepers !== keepers) cached = { keepers, map: await keeperMotifs(db, { seed: 7 }) };
    return cached.map;
  };
}

/** Marks or unmarks a keeper as excluded from the curator's runs, or as a favourite. */
export async function markPhoto(db: Db, photoId: number, mark: 'excluded' | 'favourite', on: boolean): Promise<void> {
  await ensureCuratorSchema(db);
  const known = await db.value('SELECT photo_id FROM photos WHERE photo_id = ?', [photoId]);
  if (known === null) throw new FluxError(`photo_id: no photo ${photoId} in this database`);
  if (mark === 'excluded' && on) await exclude(db, [photoId], 'portal');
  else if (mark === 'excluded') await removeExclusion(db, photoId);
  else await setFavourite(db, photoId, on);
}

export interface RunRequest {
  method?: unknown;
  target?: unknown;
  iterations?: unknown;
  seed?: unknown;
}

/** A curator run over the keepers as `flux curate --keepers` makes it (exclusions and failures left out), saved. */
export async function runCurator(db: Db, body: RunRequest): Promise<CurateResult & { model: string }> {
  const method = checkChoice('method', body.method ?? 'fps', ['fps', 'kmeans'] as const) as CurateMethod;
  const target = checkInt('target', body.target ?? 20, 1, 10_000);
  const iterations = checkInt('iterations', body.iterations ?? 20, 1, MAX_ITERATIONS);
  const seed = checkInt('seed', body.seed ?? 7, 0, 0xffffffff);
  const input = await loadPhotoVectors(db, { keepersOnly: true });
  const excluded = new Set([...(await exclusions(db)), ...(await technicalFailures(db))]);
  const r = await curateVectors(input, { method, target, iterations, seed, excluded });
  await saveSelection(db, r, input.modelId, false);
  return { ...r, model: input.modelId };
}

/** Exports a run's selection into a new folder of the workspace, as `flux curate --export` does. */
export async function exportRun(db: Db, workspace: string, r: CurateResult): Promise<ExportReport> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  return exportSelection(db, r, join(workspace, 'exports', `curator-${stamp}`));
}

/** The motif page; static/motifs.js draws the map from `/api/motifs`. */
export function motifsPageHtml(dbFile: string, nav: string): string {
  const body = `${nav}
<h1>Motifs and curator <small class="db">${escapeHtml(dbFile.split('/').pop())}</small></h1>
<p id="summary">computing the motif map…</p>
<p class="keys">Click a keeper to exclude it from the curator's runs (again to bring it back); shift-click to mark a
favourite. A run colours its picks by how often the Monte Carlo iterations chose them.</p>
<div class="bar"><label>Method <select id="method"><option value="fps">farthest-point (diverse)</option>
<option value="kmeans">k-means (representative)</option></select></label>
<label>Photos <input id="target" type="number" min="1" value="20" size="4"></label>
<label>Iterations <input id="iterations" type="number" min="1" max="${MAX_ITERATIONS}" value="20" size="4"></label>
<button id="run">run</button> <button id="export" disabled>export the selection</button></div>
<p id="status" role="alert"></p>
<div class="row"><div id="map"></div>
<figure id="hover" class="card"><div class="img"></div><figcaption></figcaption></figure></div>`;
  return pageHtml({
    title: 'FLUX motifs and curator',
    head: '<link rel="stylesheet" href="/static/portal.css"><script type="module" src="/static/motifs.js"></script>',
    body,
  });
}
