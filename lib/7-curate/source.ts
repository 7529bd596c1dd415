/**
 * The vectors the curator spreads its picks over: a model's photo vectors (view 0) from the Parquet parts, or,
 * with no model vectors on this machine, the pixel descriptor standardised over the photos.
 */
import { join } from 'node:path';
import type { Db } from '../db/duckdb.js';
import { workspaceOf } from '../2-embed/embed.js';
import { archiveRoots } from '../db/schema.js';
import { defaultModel } from '../2-embed/models.js';
import { modelWithVectors, readStoredVectors, vectorGlob } from '../2-embed/store.js';
import { DESCRIPTOR_NAMES } from '../2-embed/descriptor.js';
import { FluxError } from '../util/check.js';
import { unitRows } from '../util/vectors.js';
import type { CurateInput } from './vote.js';

/** What `loadPhotoVectors` found besides the vectors. */
export interface VectorSource {
  modelId: string;
  /** Photos in scope without a vector of the model (left out of the run). */
  withoutVector: number;
  /** Why the vectors are not a model's, when the pixel descriptor stands in; null otherwise. */
  fallback: string | null;
}

/** Which photos the curator works on: all, only keepers, or those a SQL condition on `photos` selects. */
export interface VectorScope {
  model?: string;
  keepersOnly?: boolean;
  where?: string;
}

/**
 * The message of a query on `photos` DuckDB refused: the --where condition's fault when one was given, else the
 * database's (a photos table without the workbench's columns), which blames no option.
 */
function badWhere(db: Db, where: string | undefined, err: unknown): FluxError {
  const why = (err as Error).message.split('\n')[0];
  if (where === undefined) {
    return new FluxError(`${db.file}: the photos cannot be read (${why}); is it a database flux ingest built?`);
  }
  return new FluxError(`--where: the condition "${where}" is not valid SQL on photos: ${why}`);
}

/** The photos' vectors (view 0) of a model, optionally only keepers or those a SQL condition on `photos` selects. */
export async function loadPhotoVectors(db: Db, options: VectorScope = {}): Promise<CurateInput & VectorSource> {
  const workspace = await workspaceOf(db);
  const modelId = options.model ?? modelWithVectors(workspace, defaultModel()?.spec.id ?? null) ?? undefined;
  const glob = modelId ? vectorGlob(workspace, modelId, 'photos') : null;
  const filters = [options.keepersOnly ? 'p.keeper' : null, options.where ? `(${options.where})` : null]
    .filter(Boolean)
    .join(' AND ');
  if (!glob && options.model === undefined) {
    const d = await descriptorVectors(db, filters, options.where);
    return {
      ...d,
      fallback:
        `no model vectors under ${join(workspace, 'embeddings')}: the curator spreads its picks ` +
        `over the ${DESCRIPTOR_NAMES.length}-value pixel descriptor (tone and technique, not what is in the picture); ` +
        "run flux embed for a model's vectors",
    };
  }
  if (!modelId || !glob)
    throw new FluxError(`--model: no photo vectors${modelId ? ` of ${modelId}` : ''} yet; run flux embed first`);
  // which photos: a SQL condition on photos picks the ids; the vectors come straight from the Parquet parts
  let wanted: Set<number>;
  try {
    const rows = await db.all<{ id: number }>(
      `SELECT p.photo_id AS id FROM photos p ${filters ? `WHERE ${filters}` : ''}`,
    );
    wanted = new Set(rows.map((r) => r.id));
  } catch (err) {
    throw badWhere(db, options.where, err);
  }
  if (wanted.size === 0 && filters) throw nothingToCurate(options.where, options.keepersOnly);
  const stored = await readStoredVectors(workspace, modelId, 'photos', (v) => v === 0);
  const dim = stored.dim;
  // a vector with a value that is not a number (a broken part) is no vector: left out, and counted
  const finite = (i: number): boolean => stored.data.subarray(i * dim, (i + 1) * dim).every(Number.isFinite);
  const idx: number[] = [];
  stored.ids.forEach((id, i) => {
    if (wanted.has(id) && finite(i)) idx.push(i);
  });
  const data = new Float32Array(idx.length * dim);
  idx.forEach((src, r) => data.set(stored.data.subarray(src * dim, (src + 1) * dim), r * dim));
  if (idx.length === 0) {
    throw new FluxError(
      `curate: none of the ${wanted.size} photos${filters ? ' in scope' : ''} has a ${modelId} vector yet; ` +
        `run flux embed --db ${db.file}${options.model ? ` --model ${modelId}` : ''} first`,
    );
  }
  return {
    ids: idx.map((i) => stored.ids[i] as number),
    matrix: unitRows({ data, rows: idx.length, dim }),
    modelId,
    withoutVector: wanted.size - idx.length,
    fallback: null,
  };
}

/** The error of a --where or --keepers filter that leaves no photo. */
function nothingToCurate(where: string | undefined, keepersOnly: boolean | undefined): FluxError {
  return new FluxError(
    `${
      where
        ? `--where: no photo${keepersOnly ? ' marked as a keeper' : ''} meets "${where}"`
        : '--keepers: no photo is marked as a keeper (run flux match first)'
    }; nothing to curate`,
  );
}

/** What is missing when no photo has a vector or a descriptor: photos, their embedding, or a run of flux embed. */
async function missingVectors(db: Db): Promise<FluxError> {
  const photos = Number(await db.value('SELECT count(*) FROM photos'));
  if (photos === 0) {
    const originals = (await archiveRoots(db)).originals;
    return new FluxError(
      `curate: the index holds no photos: flux ingest found no JPEG${originals ? ` under ${originals}` : ''}; ` +
        'ingest a folder of photos with flux ingest --originals DIR first',
    );
  }
  const failed = Number(await db.value(`SELECT count(*) FROM embed_errors WHERE "set" = 'photos'`));
  if (failed > 0) {
    return new FluxError(
      `curate: none of the ${photos} photos could be embedded (${failed} failed); ` +
        `flux errors --db ${db.file} lists them with the reason`,
    );
  }
  return new FluxError(
    `curate: none of the ${photos} photos has a vector or a pixel descriptor yet: run flux embed --db ${db.file} ` +
      '(it computes at least the pixel descriptor)',
  );
}

/**
 * With no model vectors on this machine, the pixel descriptor stands in: each measure standardised over the
 * photos, so the curator still spreads its picks over tone and technique.
 */
async function descriptorVectors(
  db: Db,
  filters: string,
  where: string | undefined,
): Promise<CurateInput & { modelId: string; withoutVector: number }> {
  const names = DESCRIPTOR_NAMES;
  const standardised = names.map(
    (n) => `(d.${n} - avg(d.${n}) OVER ()) / coalesce(nullif(stddev_pop(d.${n}) OVER (), 0), 1) AS ${n}`,
  );
  let rows: Array<Record<string, number>>;
  try {
    rows = await db.all(`SELECT d.id, ${standardised.join(', ')}
      FROM descriptors d JOIN photos p ON d."set" = 'photos' AND p.photo_id = d.id
      ${filters ? `WHERE ${filters}` : ''} ORDER BY d.id`);
  } catch (err) {
    throw badWhere(db, where, err);
  }
  if (
    rows.length === 0 &&
    filters &&
    Number(await db.value(`SELECT count(*) FROM descriptors WHERE "set" = 'photos'`)) > 0
  ) {
    throw nothingToCurate(where, false);
  }
  if (rows.length === 0) throw await missingVectors(db);
  const dim = names.length;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) =>
    names.forEach((n, j) => {
      data[i * dim + j] = Number(r[n] ?? 0);
    }),
  );
  const inScope = Number(await db.value(`SELECT count(*) FROM photos p ${filters ? `WHERE ${filters}` : ''}`));
  return {
    ids: rows.map((r) => Number(r.id)),
    matrix: unitRows({ data, rows: rows.length, dim }),
    modelId: 'descriptor',
    withoutVector: inScope - rows.length,
  };
}
