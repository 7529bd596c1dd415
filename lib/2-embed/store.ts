/**
 * Vectors on disk: Parquet parts under `<workspace>/embeddings/<model_id>/<set>/part-NNNNN.parquet`, one row per
 * photo and view (`photo_id`, `model_id`, `view`, `vector` FLOAT[dim]) with the model id, dimension and
 * preprocessing in the file's key-value metadata. Parts are written whole (temporary name, then rename), so a run
 * that stops keeps every finished part and the next run skips what they hold.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { FluxError } from '../util/check.js';
import * as arrow from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { writeFileAtomic } from '../util/fsutil.js';
import { join } from 'node:path';
import { Db, lit } from '../db/duckdb.js';
import { MODELS, type ModelSpec } from './models.js';

/** The three sets of images that get vectors, and the id column of each. */
export const VECTOR_SETS = { photos: 'photo_id', keepers: 'keeper_id', inbox: 'inbox_id' } as const;
export type VectorSet = keyof typeof VECTOR_SETS;

/** A model's id with characters safe for a folder name. */
export const safeId = (id: string): string => id.replace(/[^A-Za-z0-9._-]/g, '_');

/** The folder of one set's parts for one model. */
export function vectorDir(workspace: string, modelId: string, set: VectorSet): string {
  return join(workspace, 'embeddings', safeId(modelId), set);
}

/** A path as a glob pattern that matches only itself: `[`, `*` and `?` in a folder name become classes. */
export const globEscape = (path: string): string => path.replace(/[[*?]/g, (c) => `[${c}]`);

/**
 * The glob that reads every part of a set (for `read_parquet`), or null when there is none yet. The workspace's own
 * path is escaped: a folder named `Photos [2022]` is a folder, not a pattern.
 */
export function vectorGlob(workspace: string, modelId: string, set: VectorSet): string | null {
  const dir = vectorDir(workspace, modelId, set);
  if (!existsSync(dir) || !readdirSync(dir).some((f) => /^part-\d+\.parquet$/.test(f))) return null;
  return join(globEscape(dir), 'part-*.parquet');
}

/**
 * The embedding model a stage reads the vectors of when none is named: `preferred` (the best model present on this
 * machine) when it has vectors of every set in `sets`, else the first model of the registry that has; null when none
 * has. A workspace embedded with another model than the one found here still finds its vectors.
 */
export function modelWithVectors(
  workspace: string,
  preferred: string | null,
  sets: readonly VectorSet[] = ['photos'],
): string | null {
  const has = (id: string): boolean => sets.every((s) => vectorGlob(workspace, id, s) !== null);
  if (preferred && has(preferred)) return preferred;
  return MODELS.find((m) => has(m.id))?.id ?? null;
}

/** Which (id, view) pairs already have a vector. */
export async function storedKeys(db: Db, workspace: string, modelId: string, set: VectorSet): Promise<Set<string>> {
  const glob = vectorGlob(workspace, modelId, set);
  if (!glob) return new Set();
  const col = VECTOR_SETS[set];
  const rows = await db.all<{ id: number; view: number }>(`SELECT ${col} AS id, view FROM read_parquet(${lit(glob)})`);
  return new Set(rows.map((r) => `${r.id}:${r.view}`));
}

/**
 * Writes one part of vectors; returns its file. The part is built as an Arrow table whose vectors are one contiguous
 * Float32Array (a fixed-size list column, no per-number conversion) and written by parquet-wasm (arrow-rs);
 * DuckDB reads it back with its own Parquet reader.
 */
export async function writePart(
  _db: Db,
  workspace: string,
  spec: ModelSpec,
  set: VectorSet,
  rows: ReadonlyArray<{ id: number; view: number; vector: Float32Array }>,
  extra: Record<string, string> = {},
): Promise<string> {
  const dir = vectorDir(workspace, spec.id, set);
  mkdirSync(dir, { recursive: true });
  // stray temporary files are from a run that was killed while writing: never valid, always safe to drop
  for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
  const next = readdirSync(dir).filter((f) => /^part-\d+\.parquet$/.test(f)).length;
  const file = join(dir, `part-${String(next).padStart(5, '0')}.parquet`);
  const sorted = [...rows].sort((a, b) => a.id - b.id || a.view - b.view);
  const n = sorted.length;
  const floats = new Float32Array(n * spec.dim);
  sorted.forEach((r, i) => floats.set(r.vector.subarray(0, spec.dim), i * spec.dim));
  const item = arrow.makeData({ type: new arrow.Float32(), length: n * spec.dim, data: floats });
  const listType = new arrow.FixedSizeList(spec.dim, new arrow.Field('item', new arrow.Float32(), false));
  const table = new arrow.Table({
    [VECTOR_SETS[set]]: arrow.makeVector(BigInt64Array.from(sorted, (r) => BigInt(r.id))),
    model_id: arrow.vectorFromArray(
      sorted.map(() => spec.id),
      new arrow.Utf8(),
    ),
    view: arrow.makeVector(Int32Array.from(sorted, (r) => r.view)),
    vector: arrow.makeVector(arrow.makeData({ type: listType, length: n, nullCount: 0, child: item })),
  });
  const meta = new Map(
    Object.entries({
      model_id: spec.id,
      dim: String(spec.dim),
      preprocessing: JSON.stringify(spec.preprocessing),
      output: spec.output,
      model_sha256: spec.sha256 ?? '',
      ...extra,
    }),
  );
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).setKeyValueMetadata(meta).build();
  const bytes = pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props);
  writeFileAtomic(file, bytes, { durable: true });
  return file;
}

/** Reads vectors of a set back (optionally one view) as id -> Float32Array. */
export async function readVectors(
  db: Db,
  workspace: string,
  modelId: string,
  set: VectorSet,
  view = 0,
): Promise<Map<number, Float32Array>> {
  const glob = vectorGlob(workspace, modelId, set);
  const out = new Map<number, Float32Array>();
  if (!glob) return out;
  const rows = await db.all<{ id: number; vector: number[] }>(
    `SELECT ${VECTOR_SETS[set]} AS id, vector FROM read_parquet(${lit(glob)}) WHERE view = ?`,
    [view],
  );
  for (const r of rows) out.set(r.id, Float32Array.from(r.vector));
  return out;
}

/** Vectors of a set as one row-major matrix, read straight from the Parquet parts (no per-number conversion). */
export interface StoredVectors {
  ids: number[];
  views: number[];
  dim: number;
  data: Float32Array;
}

/**
 * Reads every vector of a set (all views, or the views `keep` accepts) into one Float32Array, part by part through
 * parquet-wasm and Arrow. Rows are ordered by id, then view.
 */
export async function readStoredVectors(
  workspace: string,
  modelId: string,
  set: VectorSet,
  keep: (view: number) => boolean = () => true,
): Promise<StoredVectors> {
  const dir = vectorDir(workspace, modelId, set);
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^part-\d+\.parquet$/.test(f))
        .sort()
    : [];
  const chunks: Array<{ id: number; view: number; vec: Float32Array }> = [];
  let dim = 0;
  for (const f of files) {
    const table = arrow.tableFromIPC(pq.readParquet(readFileSync(join(dir, f))).intoIPCStream());
    const idCol = table.getChild(VECTOR_SETS[set]);
    const viewCol = table.getChild('view');
    const vecCol = table.getChild('vector');
    if (!idCol || !viewCol || !vecCol)
      throw new FluxError(`${join(dir, f)}: not a vector part (expected columns ${VECTOR_SETS[set]}, view, vector)`);
    // FLOAT[dim] as written here, or a plain list of floats (a part another tool wrote)
    const fixed = arrow.DataType.isFixedSizeList(vecCol.type);
    if (fixed) dim = (vecCol.type as arrow.FixedSizeList).listSize;
    let row = 0;
    for (const data of vecCol.data) {
      const values = data.children[0]?.values as Float32Array;
      const offset = fixed ? data.offset * dim + (data.children[0]?.offset ?? 0) : (data.children[0]?.offset ?? 0);
      for (let i = 0; i < data.length; i++, row++) {
        const view = Number(viewCol.get(row));
        const start = fixed ? offset + i * dim : offset + (data.valueOffsets[i] as number);
        if (!fixed) dim = (data.valueOffsets[i + 1] as number) - (data.valueOffsets[i] as number);
        if (!keep(view)) continue;
        chunks.push({ id: Number(idCol.get(row)), view, vec: values.subarray(start, start + dim) });
      }
    }
  }
  chunks.sort((a, b) => a.id - b.id || a.view - b.view);
  // a resumed run may have written a row twice (a part landed, the process died before it was recorded): keep one
  const unique = chunks.filter(
    (c, i) => i === 0 || c.id !== (chunks[i - 1] as typeof c).id || c.view !== (chunks[i - 1] as typeof c).view,
  );
  const data = new Float32Array(unique.length * dim);
  unique.forEach((c, i) => data.set(c.vec, i * dim));
  return { ids: unique.map((c) => c.id), views: unique.map((c) => c.view), dim, data };
}
