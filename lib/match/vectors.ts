/**
 * Vectors for the similarity step: the embedding model's (from Parquet), or, with no model, a small grey
 * thumbnail of the preview (32x32, mean removed), which tells copies and light edits from other frames well enough
 * to be useful and never better than the model.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { Db, lit } from '../db/duckdb.js';
import { VECTOR_SETS, vectorGlob, type VectorSet } from '../embed/store.js';

/** Scales a vector to unit length in place; returns it. */
export function normalise(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += (v[i] as number) * (v[i] as number);
  const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * inv;
  return v;
}

/** Cosine similarity of two unit vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** Unit vectors of view 0 for the given ids of a set. */
export async function loadVectors(db: Db, workspace: string, modelId: string, set: VectorSet, ids: Set<number>): Promise<Map<number, Float32Array>> {
  const out = new Map<number, Float32Array>();
  const glob = vectorGlob(workspace, modelId, set);
  if (!glob || ids.size === 0) return out;
  const col = VECTOR_SETS[set];
  const list = [...ids];
  for (let i = 0; i < list.length; i += 5000) {
    const part = list.slice(i, i + 5000);
    const rows = await db.all<{ id: number; vector: number[] }>(`SELECT ${col} AS id, vector FROM read_parquet(${lit(glob)})
      WHERE view = 0 AND ${col} IN (SELECT unnest(?::BIGINT[]))`, [JSON.stringify(part)]);
    for (const r of rows) out.set(r.id, normalise(Float32Array.from(r.vector)));
  }
  return out;
}

/** 32x32 grey thumbnails of previews as unit vectors with the mean removed. */
export async function thumbnailVectors(workspace: string, items: ReadonlyArray<{ id: number; preview: string | null }>): Promise<Map<number, Float32Array>> {
  const out = new Map<number, Float32Array>();
  await Promise.all(items.map(async (it) => {
    if (!it.preview) return;
    try {
      const px = await sharp(await readFile(join(workspace, it.preview))).resize(32, 32, { fit: 'fill' }).greyscale().raw().toBuffer();
      const v = Float32Array.from(px);
      let mean = 0;
      for (const x of v) mean += x;
      mean /= v.length;
      for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) - mean;
      out.set(it.id, normalise(v));
    } catch {
      // a preview that does not decode has no vector; the keeper is reported as such
    }
  }));
  return out;
}
