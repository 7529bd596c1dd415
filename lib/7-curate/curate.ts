/**
 * The dataset curator: diverse (farthest-point) or representative (k-means) subsets with Monte Carlo stability,
 * exclusions keyed by photo_id (one index space end to end), export of the picks with their sidecars, and a CSV.
 */
import { constants, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { Db } from '../db/duckdb.js';
import { workspaceOf } from '../2-embed/embed.js';
import { defaultModel } from '../2-embed/models.js';
import { readStoredVectors, vectorGlob } from '../2-embed/store.js';
import { DESCRIPTOR_NAMES } from '../2-embed/descriptor.js';
import { csvCell } from '../util/csv.js';
import { checkChoice, checkInt, FluxError } from '../util/check.js';
import { archiveRoots } from '../db/schema.js';
import { assertOutsideArchive, isInside, nearestExisting, realPath, writeFileAtomic } from '../util/fsutil.js';
import type { OnProgress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { farthestPointRuns, kmeansRun } from './algorithms.js';
import { unitRows, type VectorMatrix } from '../util/vectors.js';
import { MatMul } from '../onnx/matmul.js';
import type { Provider, ProviderChoice } from '../onnx/runtime.js';

export type CurateMethod = 'fps' | 'kmeans';

export interface CurateInput {
  ids: number[];
  matrix: VectorMatrix;
}

export interface CurateOptions {
  method: CurateMethod;
  target: number;
  iterations: number;
  seed: number;
  /** photo_ids removed before the computation. */
  excluded?: ReadonlySet<number>;
  onProgress?: OnProgress;
  /** The ONNX Runtime execution provider of the matrix kernels; default `auto`, the best that loads. */
  provider?: ProviderChoice;
}

export interface CurateResult {
  method: CurateMethod;
  target: number;
  iterations: number;
  seed: number;
  /** The photo_ids every iteration picked, in pick order. */
  runs: number[][];
  votes: Map<number, number>;
  /** Top `target` by votes (ties: the earlier first pick), with frequency in percent. */
  selection: Array<{ photoId: number; votes: number; frequency: number; band: 'stable' | 'frequent' | 'occasional' }>;
  /** The execution provider the matrix kernels ran on (none when the target took every photo). */
  provider?: Provider;
}

/** A photo's share of the iterations that picked it, in percent (one decimal), and its heat-map band. */
function frequencyOf(votes: number, iterations: number): { frequency: number; band: 'stable' | 'frequent' | 'occasional' } {
  const frequency = Math.round((1000 * votes) / iterations) / 10;
  return { frequency, band: frequency >= 90 ? 'stable' : frequency >= 70 ? 'frequent' : 'occasional' };
}

/** Runs the Monte Carlo selection; excluded photos are removed before anything is computed. */
export async function curateVectors(input: CurateInput, options: CurateOptions): Promise<CurateResult> {
  const method = checkChoice('--method', options.method, ['fps', 'kmeans'] as const);
  const target = checkInt('--target', options.target, 1, 100_000);
  const iterations = checkInt('--iterations', options.iterations, 1, 30);
  const seed = checkInt('--seed', options.seed, 0, 0xffffffff);
  const excluded = options.excluded ?? new Set<number>();
  const keep = input.ids.map((id, i) => [id, i] as const).filter(([id]) => !excluded.has(id));
  const d = input.matrix.dim;
  const data = new Float32Array(keep.length * d);
  keep.forEach(([, i], j) => data.set(input.matrix.data.subarray(i * d, i * d + d), j * d));
  const m: VectorMatrix = { data, rows: keep.length, dim: d };
  const ids = keep.map(([id]) => id);
  const rng = new Rng(seed);
  let runs: number[][];
  let provider: Provider | undefined;
  if (target >= m.rows) {
    runs = Array.from({ length: iterations }, () => [...ids]);
  } else {
    const mm = await MatMul.create(0, options.provider ?? 'auto');
    provider = mm.provider;
    try {
      if (method === 'fps') {
        const starts = Array.from({ length: iterations }, (_, i) => rng.fork(`fps:${i}`).int(0, m.rows - 1));
        runs = (await farthestPointRuns(m, target, starts, mm)).map((r) => r.map((row) => ids[row] as number));
      } else {
        runs = [];
        for (let i = 0; i < iterations; i++) {
          const r = await kmeansRun(m, target, rng.fork(`kmeans:${i}`), mm);
          runs.push(r.representatives.map((row) => ids[row] as number));
          options.onProgress?.({ stage: 'curate', done: i + 1, total: iterations });
        }
      }
    } finally {
      await mm.close();
    }
  }
  const votes = new Map<number, number>();
  const firstSeen = new Map<number, number>();
  runs.forEach((run, r) => run.forEach((id, j) => {
    votes.set(id, (votes.get(id) ?? 0) + 1);
    if (!firstSeen.has(id)) firstSeen.set(id, r * 1e6 + j);
  }));
  const selection = [...votes.entries()].sort((a, b) => b[1] - a[1] || (firstSeen.get(a[0]) as number) - (firstSeen.get(b[0]) as number))
    .slice(0, target).map(([photoId, v]) => ({ photoId, votes: v, ...frequencyOf(v, iterations) }));
  return { method, target, iterations, seed, runs, votes, selection, ...(provider ? { provider } : {}) };
}

/** Creates the curator's tables. */
export async function ensureCuratorSchema(db: Db): Promise<void> {
  await db.run(`CREATE TABLE IF NOT EXISTS curator_exclusions (photo_id BIGINT PRIMARY KEY, reason VARCHAR, added_at TIMESTAMP DEFAULT current_timestamp)`);
  await db.run(`CREATE TABLE IF NOT EXISTS favourites (photo_id BIGINT PRIMARY KEY, added_at TIMESTAMP DEFAULT current_timestamp)`);
  await db.run(`CREATE TABLE IF NOT EXISTS curator_selection (photo_id BIGINT PRIMARY KEY, votes INTEGER, frequency DOUBLE, band VARCHAR,
    method VARCHAR, target INTEGER, iterations INTEGER, seed BIGINT, model_id VARCHAR)`);
  // every photo the last run voted for is kept, the selection (the top target) marked
  await db.run('ALTER TABLE curator_selection ADD COLUMN IF NOT EXISTS selected BOOLEAN DEFAULT true');
}

/** The photos' vectors (view 0) of a model, optionally only keepers or those a SQL condition on `photos` selects. */
/** What `loadPhotoVectors` found besides the vectors. */
export interface VectorSource {
  modelId: string;
  /** Photos in scope without a vector of the model (left out of the run). */
  withoutVector: number;
  /** Why the vectors are not a model's, when the pixel descriptor stands in; null otherwise. */
  fallback: string | null;
}

export async function loadPhotoVectors(db: Db, options: { model?: string; keepersOnly?: boolean; where?: string } = {}): Promise<CurateInput & VectorSource> {
  const workspace = await workspaceOf(db);
  const modelId = options.model ?? defaultModel()?.spec.id;
  const glob = modelId ? vectorGlob(workspace, modelId, 'photos') : null;
  const filters = [options.keepersOnly ? 'p.keeper' : null, options.where ? `(${options.where})` : null].filter(Boolean).join(' AND ');
  if (!glob && options.model === undefined) {
    const d = await descriptorVectors(db, filters, options.where);
    return { ...d, fallback: `no ${modelId ?? 'model'} vectors under ${join(workspace, 'embeddings')}: the curator spreads its picks over the 12-value pixel descriptor (tone and technique, not what is in the picture); run flux embed for a model's vectors` };
  }
  if (!modelId || !glob) throw new FluxError(`--model: no photo vectors${modelId ? ` of ${modelId}` : ''} yet; run flux embed first`);
  // which photos: a SQL condition on photos picks the ids; the vectors come straight from the Parquet parts
  let wanted: Set<number>;
  try {
    wanted = new Set((await db.all<{ id: number }>(`SELECT p.photo_id AS id FROM photos p ${filters ? `WHERE ${filters}` : ''}`)).map((r) => r.id));
  } catch (err) {
    throw new FluxError(`--where: the condition "${options.where}" is not valid SQL on photos: ${(err as Error).message.split('\n')[0]}`);
  }
  if (wanted.size === 0 && filters) throw nothingToCurate(options.where, options.keepersOnly);
  const stored = await readStoredVectors(workspace, modelId, 'photos', (v) => v === 0);
  const idx: number[] = [];
  stored.ids.forEach((id, i) => { if (wanted.has(id)) idx.push(i); });
  const dim = stored.dim;
  const data = new Float32Array(idx.length * dim);
  idx.forEach((src, r) => data.set(stored.data.subarray(src * dim, (src + 1) * dim), r * dim));
  if (idx.length === 0) {
    throw new FluxError(`curate: none of the ${wanted.size} photos${filters ? ' in scope' : ''} has a ${modelId} vector yet; run flux embed --db ${db.file}${options.model ? ` --model ${modelId}` : ''} first`);
  }
  return { ids: idx.map((i) => stored.ids[i] as number), matrix: unitRows({ data, rows: idx.length, dim }), modelId, withoutVector: wanted.size - idx.length, fallback: null };
}

/** The error of a --where or --keepers filter that leaves no photo. */
function nothingToCurate(where: string | undefined, keepersOnly: boolean | undefined): FluxError {
  return new FluxError(`${where ? `--where: no photo${keepersOnly ? ' marked as a keeper' : ''} meets "${where}"` : '--keepers: no photo is marked as a keeper (run flux match first)'}; nothing to curate`);
}

/**
 * With no model vectors on this machine, the pixel descriptor stands in: each measure standardised over the
 * photos, so the curator still spreads its picks over tone and technique.
 */
async function descriptorVectors(db: Db, filters: string, where: string | undefined): Promise<CurateInput & { modelId: string; withoutVector: number }> {
  const names = DESCRIPTOR_NAMES;
  let rows: Array<Record<string, number>>;
  try {
    rows = await db.all(`SELECT d.id, ${names.map((n) => `(d.${n} - avg(d.${n}) OVER ()) / coalesce(nullif(stddev_pop(d.${n}) OVER (), 0), 1) AS ${n}`).join(', ')}
      FROM descriptors d JOIN photos p ON d."set" = 'photos' AND p.photo_id = d.id ${filters ? `WHERE ${filters}` : ''} ORDER BY d.id`);
  } catch (err) {
    throw new FluxError(`--where: the condition "${where}" is not valid SQL on photos: ${(err as Error).message.split('\n')[0]}`);
  }
  if (rows.length === 0 && filters && Number(await db.value(`SELECT count(*) FROM descriptors WHERE "set" = 'photos'`)) > 0) {
    throw nothingToCurate(where, false);
  }
  if (rows.length === 0) throw new FluxError('curate: no vectors: run flux embed first (it computes at least the pixel descriptor)');
  const dim = names.length;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => names.forEach((n, j) => { data[i * dim + j] = Number(r[n] ?? 0); }));
  const inScope = Number(await db.value(`SELECT count(*) FROM photos p ${filters ? `WHERE ${filters}` : ''}`));
  return { ids: rows.map((r) => Number(r.id)), matrix: unitRows({ data, rows: rows.length, dim }), modelId: 'descriptor', withoutVector: inScope - rows.length };
}

/** Stores a run's selection and, when asked, replaces the favourites with it. */
export async function saveSelection(db: Db, r: CurateResult, modelId: string, favourites: boolean): Promise<void> {
  await ensureCuratorSchema(db);
  const chosen = new Set(r.selection.map((x) => x.photoId));
  // the selection, then every other photo some iteration picked (so `exclude --above` sees all the votes)
  const rest = [...r.votes.entries()].filter(([id]) => !chosen.has(id)).map(([photoId, votes]) => ({ photoId, votes, ...frequencyOf(votes, r.iterations) }));
  await db.transaction(async () => {
    await db.run('DELETE FROM curator_selection');
    await db.insert('curator_selection', ['photo_id', 'votes', 'frequency', 'band', 'method', 'target', 'iterations', 'seed', 'model_id', 'selected'],
      [...r.selection.map((x) => [x, true] as const), ...rest.map((x) => [x, false] as const)].map(([x, sel]) => [x.photoId, x.votes, x.frequency, x.band, r.method, r.target, r.iterations, r.seed, modelId, sel]));
    if (favourites) {
      await db.run('DELETE FROM favourites');
      await db.insert('favourites', ['photo_id'], r.selection.map((s) => [s.photoId]));
    }
  });
}

/**
 * The photo_ids behind what a user typed: a photo_id, or a photo's path under the originals (as the curator CSV's
 * Subfolder and Filename give it; a spreadsheet can round a 16-digit photo_id, never a path).
 * @throws FluxError naming what matches no photo.
 */
export async function photoRefs(db: Db, refs: string[]): Promise<number[]> {
  const out: number[] = [];
  const unknown: string[] = [];
  for (const ref of refs) {
    const t = ref.trim().replace(/\\/g, '/');
    if (/^\d+$/.test(t) && Number.isSafeInteger(Number(t))) {
      out.push(Number(t));
      continue;
    }
    const id = await db.value<number>(`SELECT photo_id FROM photos WHERE path = ? UNION ALL SELECT photo_id FROM corpus_duplicates WHERE path = ? LIMIT 1`, [t, t]);
    if (id === null || id === undefined) unknown.push(ref);
    else out.push(Number(id));
  }
  if (unknown.length) {
    throw new FluxError(`flux curate exclude: ${unknown.slice(0, 5).map((u) => `"${u}"`).join(', ')}${unknown.length > 5 ? ` (and ${unknown.length - 5} more)` : ''} ` +
      'is neither a photo_id nor a path under the originals (Subfolder/Filename in selection.csv); nothing was excluded');
  }
  return out;
}

/**
 * Adds exclusions (photo_ids), or every voted photo at or above a frequency; returns how many were added.
 * @throws FluxError naming the ids that are no photo of the index (nothing is added then).
 */
export async function exclude(db: Db, ids: number[], reason: string): Promise<number> {
  await ensureCuratorSchema(db);
  const known = new Set((await db.all<{ photo_id: number }>(`SELECT photo_id FROM photos WHERE photo_id IN (SELECT unnest(?::BIGINT[]))`, [JSON.stringify(ids)])).map((r) => Number(r.photo_id)));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length) {
    throw new FluxError(`flux curate exclude: no photo has the photo_id ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ` (and ${unknown.length - 10} more)` : ''}; ` +
      'the ids are in the photo_id column of selection.csv and of the photos table; nothing was excluded');
  }
  const before = Number(await db.value('SELECT count(*) FROM curator_exclusions'));
  await db.insert('curator_exclusions', ['photo_id', 'reason'], ids.map((id) => [id, reason]), 'INSERT OR IGNORE');
  return Number(await db.value('SELECT count(*) FROM curator_exclusions')) - before;
}

/**
 * Photos `flux score` found to be clear technical failures (black or badly underexposed, dark and of one colour, blown-out, nothing in focus): farthest-point
 * sampling would pick them first, as the most unusual frames, so the curator leaves them out unless asked to keep
 * them. Empty before the corpus is scored.
 */
export async function technicalFailures(db: Db): Promise<Set<number>> {
  const scored = Number(await db.value(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'photos' AND column_name = 'keeper_band'`));
  if (!scored) return new Set();
  // a photo he kept is never a failure, whatever an earlier score said
  return new Set((await db.all<{ photo_id: number }>(`SELECT photo_id FROM photos WHERE keeper_band = 'failure' AND NOT coalesce(keeper, false)`)).map((r) => Number(r.photo_id)));
}

/** The excluded photo_ids. */
export async function exclusions(db: Db): Promise<Set<number>> {
  await ensureCuratorSchema(db);
  return new Set((await db.all<{ photo_id: number }>('SELECT photo_id FROM curator_exclusions')).map((r) => r.photo_id));
}

const SIDECARS = ['.txt', '.caption', '.json'];

export interface ExportReport {
  dir: string;
  copied: Array<{ photoId: number; from: string; to: string; sidecars: string[] }>;
  /** Photos an earlier export already put there, byte for byte (not copied again). */
  already: Array<{ photoId: number; from: string; to: string }>;
  skipped: Array<{ photoId: number; path: string; reason: string }>;
  csv: string;
}

/**
 * Checks an export folder before any work or any change to the database: outside the archive, and a folder, not a
 * file; makes it when it is not there yet. Returns it resolved.
 */
export async function checkExportDir(db: Db, dir: string): Promise<string> {
  const roots = await archiveRoots(db);
  if (!roots.originals) throw new FluxError('--export: the database does not record an originals folder (run flux ingest first)');
  const target = resolve(dir);
  assertOutsideArchive('--export', target, roots);
  // the nearest part of the path that exists must be a folder
  const p = nearestExisting(target);
  if (p && !statSync(p).isDirectory()) throw new FluxError(`--export: ${p} is a file${p === target ? '' : ` (on the way to ${target})`}; name a folder to copy the selection into`);
  // made now, so a folder that cannot be made stops the run before anything is saved
  try {
    mkdirSync(target, { recursive: true });
  } catch (err) {
    throw new FluxError(`--export: cannot make the folder ${target}: ${(err as Error).message.split('\n')[0]}`);
  }
  return target;
}

/** Same size and bytes. */
function sameBytes(a: string, b: string): boolean {
  try {
    return statSync(a).size === statSync(b).size && readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/**
 * Copies the selected, non-excluded photos (and their same-stem sidecars) into `dir` without ever overwriting:
 * `name.ext`, then `{parent}_{name.ext}`, then `{parent}_{stem}_{n}{ext}`, where a name counts as taken when the
 * image or any of its sidecars' names is; a photo an earlier export put there byte for byte is kept, not copied
 * again. Symbolic links (photos or sidecars) are not followed, and modification times are kept. Writes
 * `selection.csv` beside them (`selection_2.csv`, ... when an earlier export's is there), whose `exported_as` column
 * names the file each photo was copied to.
 */
export async function exportSelection(db: Db, r: CurateResult, dir: string): Promise<ExportReport> {
  const target = await checkExportDir(db, dir);
  const originals = (await archiveRoots(db)).originals as string;
  const originalsReal = realPath(originals);
  const excluded = await exclusions(db);
  const paths = await photoPaths(db);
  let csvName = 'selection.csv';
  for (let n = 2; existsSync(join(target, csvName)); n++) csvName = `selection_${n}.csv`;
  const report: ExportReport = { dir: target, copied: [], already: [], skipped: [], csv: join(target, csvName) };
  for (const s of r.selection) {
    const rel = paths.get(s.photoId);
    if (excluded.has(s.photoId)) { report.skipped.push({ photoId: s.photoId, path: rel ?? '', reason: 'excluded' }); continue; }
    if (!rel) { report.skipped.push({ photoId: s.photoId, path: '', reason: 'not in the index' }); continue; }
    const src = join(originals, rel);
    const kind = fileKind(src);
    if (kind === 'missing') { report.skipped.push({ photoId: s.photoId, path: rel, reason: `source missing: ${src}` }); continue; }
    // only the archive's own files leave it: a link (to anywhere) is not followed, as ingest does not follow one
    if (kind === 'link' || !isInside(realPath(src), originalsReal)) { report.skipped.push({ photoId: s.photoId, path: rel, reason: `a symbolic link or outside the originals, not copied: ${src}` }); continue; }
    const ext = extname(rel);
    const stem = basename(rel, ext);
    const parent = basename(dirname(rel)) || 'root';
    const sidecarFiles = SIDECARS.map((e) => join(dirname(src), stem + e)).filter((f) => fileKind(f) !== 'missing');
    const linkedSidecars = sidecarFiles.filter((f) => fileKind(f) !== 'file');
    const sidecars = sidecarFiles.filter((f) => fileKind(f) === 'file');
    const candidates = (n: number): string => (n === 0 ? stem : n === 1 ? `${parent}_${stem}` : `${parent}_${stem}_${n - 1}`);
    let chosen: string | null = null;
    let already = false;
    for (let n = 0; n < 10_000 && !chosen; n++) {
      const base = candidates(n).replace(/[/\\]/g, '_');
      const names = [base + ext, ...sidecars.map((f) => base + extname(f))];
      if (!names.every((x) => isInside(join(target, x), target))) continue;
      if (names.every((x) => !existsSync(join(target, x)))) chosen = base;
      // an earlier export of the same photo (and its sidecars) under this name: kept, not copied again
      else if (sameBytes(src, join(target, base + ext)) && sidecars.every((f) => sameBytes(f, join(target, base + extname(f))))) {
        chosen = base;
        already = true;
      }
    }
    if (!chosen) { report.skipped.push({ photoId: s.photoId, path: rel, reason: 'no free name' }); continue; }
    try {
      const to = join(target, chosen + ext);
      const copiedSidecars: string[] = [];
      if (already) {
        report.already.push({ photoId: s.photoId, from: src, to });
      } else {
        copyKeepingTimes(src, to);
        for (const f of sidecars) {
          const dest = join(target, chosen + extname(f));
          copyKeepingTimes(f, dest);
          copiedSidecars.push(dest);
        }
        report.copied.push({ photoId: s.photoId, from: src, to, sidecars: copiedSidecars });
      }
      for (const f of linkedSidecars) report.skipped.push({ photoId: s.photoId, path: relative(originals, f), reason: 'a sidecar that is a symbolic link or not a file, not copied' });
    } catch (err) {
      report.skipped.push({ photoId: s.photoId, path: rel, reason: `copy failed: ${(err as Error).message}` });
    }
  }
  writeFileAtomic(report.csv, curatorCsv(r, paths, excluded, new Map([...report.copied, ...report.already].map((c) => [c.photoId, basename(c.to)]))));
  return report;
}

/** What is at a path, without following a link. */
function fileKind(path: string): 'file' | 'link' | 'other' | 'missing' {
  try {
    const st = lstatSync(path);
    return st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/** Copies a file that must not exist yet, keeping its modification time. */
function copyKeepingTimes(from: string, to: string): void {
  copyFileSync(from, to, constants.COPYFILE_EXCL);
  const st = statSync(from);
  // seconds as a number keep sub-millisecond precision that a Date would drop
  utimesSync(to, st.atimeMs / 1000, st.mtimeMs / 1000);
}

/** Every photo's path under the originals, by photo_id (what the curator CSV names). */
export async function photoPaths(db: Db): Promise<Map<number, string>> {
  return new Map((await db.all<{ photo_id: number; path: string }>('SELECT photo_id, path FROM photos')).map((x) => [Number(x.photo_id), x.path]));
}

/**
 * PhotoMapAI's CSV columns (Filename and Subfolder of the original) plus photo_id and exported_as, the name an export
 * gave the copy (empty when the photo was not copied): the selection, then the excluded photos. Safe to open in a
 * spreadsheet.
 */
export function curatorCsv(r: CurateResult, paths: Map<number, string>, excluded: ReadonlySet<number>, exported: ReadonlyMap<number, string> = new Map()): string {
  const head = 'Filename,Subfolder,Count,Frequency(%),Index,Status,photo_id,exported_as';
  const row = (id: number, count: number, freq: number, index: number, status: string): string => {
    const p = paths.get(id) ?? '';
    return [basename(p), dirname(p) === '.' ? '' : dirname(p), count, freq, index, status, id, exported.get(id) ?? ''].map(csvCell).join(',');
  };
  const included = r.selection.filter((s) => !excluded.has(s.photoId)).map((s, i) => row(s.photoId, s.votes, s.frequency, i, 'included'));
  const out = [...excluded].sort((a, b) => a - b).map((id, i) => row(id, r.votes.get(id) ?? 0, 0, i, 'excluded'));
  return `${[head, ...included, ...out].join('\n')}\n`;
}
