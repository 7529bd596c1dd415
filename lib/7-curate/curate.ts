/**
 * The dataset curator: diverse (farthest-point) or representative (k-means) subsets with Monte Carlo stability,
 * exclusions keyed by photo_id (one index space end to end), export of the picks with their sidecars, and a CSV.
 * `curate` runs the stage on an open database; `excludePhotos` and `clearExclusions` keep the exclusions.
 */
import type { Db } from '../db/duckdb.js';
import { archiveRoots } from '../db/schema.js';
import { tableColumns } from '../db/table.js';
import {
  addExclusions,
  clearExclusions,
  ensureCuratorSchema,
  excludedIds,
  replaceCuratorVotes,
  votedAtLeast,
} from '../db/curator.js';
import { checkNumber, FluxError } from '../util/check.js';
import { plainCsvValue } from '../util/csv.js';
import { assertOutsideArchive, checkOutFile, writeFileAtomic } from '../util/fsutil.js';
import type { OnProgress } from '../util/progress.js';
import type { ProviderChoice } from '../onnx/runtime.js';
import { plural } from '../util/text.js';
import { checkExportDir, curatorCsv, exportSelection, photoPaths, type ExportReport } from './export.js';
import { loadPhotoVectors, type VectorSource } from './source.js';
import { curateVectors, frequencyOf, type CurateMethod, type CurateResult, type VoteBand } from './vote.js';

export { clearExclusions, ensureCuratorSchema };
export * from './vote.js';
export * from './source.js';
export * from './export.js';

/** Stores a run's selection and, when asked, replaces the favourites with it. */
export async function saveSelection(db: Db, r: CurateResult, modelId: string, favourites: boolean): Promise<void> {
  const chosen = new Set(r.selection.map((x) => x.photoId));
  // the selection, then every other photo some iteration picked (so `exclude --above` sees all the votes)
  const rest = [...r.votes.entries()]
    .filter(([id]) => !chosen.has(id))
    .map(([photoId, votes]) => ({ photoId, votes, ...frequencyOf(votes, r.iterations), selected: false }));
  const run = { method: r.method, target: r.target, iterations: r.iterations, seed: r.seed, modelId };
  await replaceCuratorVotes(db, run, [...r.selection.map((x) => ({ ...x, selected: true })), ...rest], favourites);
}

/** The photo_id of a path under the originals (a kept photo or one of its duplicates), or null. */
async function photoIdOfPath(db: Db, path: string): Promise<number | null> {
  const id = await db.value<number>(
    `SELECT photo_id FROM photos WHERE path = ?
    UNION ALL SELECT photo_id FROM corpus_duplicates WHERE path = ? LIMIT 1`,
    [path, path],
  );
  return id === null || id === undefined ? null : Number(id);
}

/**
 * The photo_ids behind what a user typed: a photo_id, or a photo's path under the originals (as the curator CSV's
 * Subfolder and Filename give it; a spreadsheet can round a 16-digit photo_id, never a path), also as the CSV
 * wrote a name that starts like a formula (behind an apostrophe).
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
    // the path as given, else with each part read as selection.csv wrote it (a name that starts like a formula
    // behind an apostrophe: Subfolder/'=name.JPG)
    const plain = t.split('/').map(plainCsvValue).join('/');
    const id = (await photoIdOfPath(db, t)) ?? (plain !== t ? await photoIdOfPath(db, plain) : null);
    if (id === null) unknown.push(ref);
    else out.push(id);
  }
  if (unknown.length) {
    const named = unknown
      .slice(0, 5)
      .map((u) => `"${u}"`)
      .join(', ');
    throw new FluxError(
      `flux curate exclude: ${named}${unknown.length > 5 ? ` (and ${unknown.length - 5} more)` : ''} ` +
        'is neither a photo_id nor a path under the originals (Subfolder/Filename in selection.csv); ' +
        'nothing was excluded',
    );
  }
  return out;
}

/**
 * Adds exclusions (photo_ids); returns how many were added.
 * @throws FluxError naming the ids that are no photo of the index (nothing is added then).
 */
export async function exclude(db: Db, ids: number[], reason: string): Promise<number> {
  const rows = await db.all<{ photo_id: number }>(
    `SELECT photo_id FROM photos WHERE photo_id IN (SELECT unnest(?::BIGINT[]))`,
    [JSON.stringify(ids)],
  );
  const known = new Set(rows.map((r) => Number(r.photo_id)));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length) {
    const more = unknown.length > 10 ? ` (and ${unknown.length - 10} more)` : '';
    throw new FluxError(
      `flux curate exclude: no photo has the photo_id ${unknown.slice(0, 10).join(', ')}${more}; ` +
        'the ids are in the photo_id column of selection.csv and of the photos table; nothing was excluded',
    );
  }
  return addExclusions(db, ids, reason);
}

/**
 * Photos `flux score` found to be clear technical failures (black or badly underexposed, dark and of one colour,
 * blown-out, nothing in focus): farthest-point sampling would pick them first, as the most unusual frames, so the
 * curator leaves them out unless asked to keep them. Empty before the corpus is scored.
 */
export async function technicalFailures(db: Db): Promise<Set<number>> {
  if (!(await tableColumns(db, 'photos')).includes('keeper_band')) return new Set();
  // a photo he kept is never a failure, whatever an earlier score said
  const rows = await db.all<{ photo_id: number }>(
    `SELECT photo_id FROM photos WHERE keeper_band = 'failure' AND NOT coalesce(keeper, false)`,
  );
  return new Set(rows.map((r) => Number(r.photo_id)));
}

/** The excluded photo_ids. */
export async function exclusions(db: Db): Promise<Set<number>> {
  return excludedIds(db);
}

/** What `flux curate exclude` was given: photos (photo_ids or paths), or a frequency of the last run. */
export interface ExcludeOptions {
  refs: string[];
  /** Every photo the last run picked at least this often (percent), selected or not. */
  above?: string | number;
}

/** Excludes photos by hand or by the last run's frequencies; returns how many were added. */
export async function excludePhotos(db: Db, options: ExcludeOptions): Promise<number> {
  const above = options.above === undefined ? undefined : checkNumber('--above', options.above, 0, 100);
  const rest = options.refs;
  if (above !== undefined && rest.length) {
    throw new FluxError(
      `flux curate exclude: give photos or --above, not both (received --above ${above} and ${rest.join(' ')})`,
    );
  }
  if (above === undefined && !rest.length) {
    throw new FluxError(
      'flux curate exclude: name the photos to exclude (photo_ids or paths under the originals), or --above PERCENT',
    );
  }
  if (above === undefined) return exclude(db, await photoRefs(db, rest), 'by hand');
  // every photo the last run voted for at or above the frequency, selected or not
  const ids = await votedAtLeast(db, above);
  if (ids === null)
    throw new FluxError(
      'flux curate exclude --above: no curator run yet to take the frequencies from; run flux curate first',
    );
  return exclude(db, ids, `picked >= ${above}%`);
}

/** The options of one curator run (`flux curate`). */
export interface CurateStageOptions {
  /** fps or kmeans (checked). */
  method?: string;
  target?: number;
  iterations?: number;
  seed?: number;
  /** Embedding model of the vectors (default: the first present; the pixel descriptor when none is). */
  model?: string;
  keepersOnly?: boolean;
  /** A SQL condition on `photos`. */
  where?: string;
  /** Replace the favourites with the selection. */
  favourites?: boolean;
  /** Keep the photos `flux score` marked as technical failures. */
  keepFailures?: boolean;
  /** A folder to copy the selection into (checked before any work). */
  exportDir?: string;
  /** A file to write the selection to as CSV, without copying photos (checked before any work). */
  csv?: string;
  /** The ONNX Runtime execution provider of the matrix kernels; default `auto`, the best that loads. */
  provider?: ProviderChoice;
  onProgress?: OnProgress;
}

/** What one curator run did. */
export interface CurateReport {
  result: CurateResult;
  source: VectorSource;
  /** Photos the run chose among (in scope, with a vector, not excluded, not a left-out failure). */
  photos: number;
  /** Excluded photos that were in scope, and technical failures left out. */
  excludedLeftOut: number;
  failuresLeftOut: number;
  bands: Record<VoteBand, number>;
  favourites: boolean;
  /** The CSV written with --csv, and what --export did. */
  csv: string | null;
  exported: ExportReport | null;
}

/**
 * One curator run on an open database: checks where it will write before any work, loads the vectors in scope,
 * leaves out exclusions and technical failures, votes, stores the votes (and favourites), then writes the CSV and
 * the export.
 */
export async function curate(db: Db, options: CurateStageOptions = {}): Promise<CurateReport> {
  await ensureCuratorSchema(db);
  // the export folder and the CSV file are checked before anything is computed or saved
  if (options.exportDir) await checkExportDir(db, options.exportDir);
  const csvFile = options.csv ? checkOutFile('--csv', options.csv, 'selection.csv') : null;
  if (csvFile) assertOutsideArchive('--csv', csvFile, await archiveRoots(db));
  const input = await loadPhotoVectors(db, {
    model: options.model,
    keepersOnly: options.keepersOnly,
    where: options.where,
  });
  const excluded = await excludedIds(db);
  const failures = options.keepFailures ? new Set<number>() : await technicalFailures(db);
  const inRun = new Set(input.ids);
  const failuresLeftOut = [...failures].filter((id) => inRun.has(id) && !excluded.has(id)).length;
  const excludedLeftOut = [...excluded].filter((id) => inRun.has(id)).length;
  const result = await curateVectors(input, {
    method: (options.method ?? 'fps') as CurateMethod,
    target: options.target ?? 150,
    iterations: options.iterations ?? 20,
    seed: options.seed ?? 7,
    excluded: new Set([...excluded, ...failures]),
    provider: options.provider,
    onProgress: options.onProgress,
  });
  await saveSelection(db, result, input.modelId, Boolean(options.favourites));
  const bands = { stable: 0, frequent: 0, occasional: 0 };
  for (const s of result.selection) bands[s.band]++;
  if (csvFile) writeFileAtomic(csvFile, curatorCsv(result, await photoPaths(db), await excludedIds(db)));
  const exported = options.exportDir ? await exportSelection(db, result, options.exportDir) : null;
  const source: VectorSource = { modelId: input.modelId, withoutVector: input.withoutVector, fallback: input.fallback };
  return {
    result,
    source,
    photos: input.ids.length - excludedLeftOut - failuresLeftOut,
    excludedLeftOut,
    failuresLeftOut,
    bands,
    favourites: Boolean(options.favourites),
    csv: csvFile,
    exported,
  };
}

/** A curator run as the lines `flux curate` prints. */
export function formatCurate(r: CurateReport): string {
  const s = r.source;
  const lines: string[] = [];
  if (s.fallback) lines.push(`note: ${s.fallback}`);
  if (s.withoutVector)
    lines.push(
      `${plural(s.withoutVector, 'photo')} in scope without a ${s.modelId} vector left out (flux embed makes them)`,
    );
  if (r.excludedLeftOut)
    lines.push(`${plural(r.excludedLeftOut, 'excluded photo')} left out (flux curate clear to bring them back)`);
  if (r.failuresLeftOut)
    lines.push(`${plural(r.failuresLeftOut, 'technical failure')} left out (--keep-failures to include them)`);
  const x = r.result;
  lines.push(
    `${x.method}: ${x.selection.length} of ${r.photos} photos (${s.modelId}), ${x.iterations} iterations, ` +
      `seed ${x.seed}: ` +
      `${r.bands.stable} picked >= 90%, ${r.bands.frequent} >= 70%, ${r.bands.occasional} less often` +
      `${r.favourites ? '; favourites replaced' : ''}`,
  );
  // k-means over photos that share few distinct vectors finds fewer representatives than asked for
  const asked = Math.min(x.target, r.photos);
  if (x.selection.length < asked)
    lines.push(
      `${x.selection.length} picked of the ${asked} asked for: the runs found no more distinct photos ` +
        '(many share a vector); farthest-point (--method fps) picks copies once the distinct ones are used up',
    );
  if (x.provider) lines.push(`matrix kernels on ${x.provider} (ONNX Runtime execution provider)`);
  if (r.csv) lines.push(`selection written to ${r.csv}`);
  const e = r.exported;
  if (e) {
    lines.push(
      `exported ${e.copied.length} photos to ${e.dir}` +
        `${e.already.length ? `; ${e.already.length} already there from an earlier export` : ''} (CSV ${e.csv})`,
    );
    for (const k of e.skipped) lines.push(`skipped ${k.path || k.photoId}: ${k.reason}`);
  }
  return lines.join('\n');
}
