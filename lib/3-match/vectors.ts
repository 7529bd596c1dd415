/**
 * Vectors for the similarity step: the embedding model's (from Parquet), or, with no model, a small grey
 * thumbnail of the preview (32x32, mean removed), which tells copies and light edits from other frames well enough
 * to be useful and never better than the model.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Db } from '../db/duckdb.js';
import { vectorSimilarities } from '../db/matching.js';
import { vectorGlob } from '../2-embed/store.js';

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

/** 32x32 grey thumbnails of previews as unit vectors with the mean removed. */
export async function thumbnailVectors(
  workspace: string,
  items: ReadonlyArray<{ id: number; preview: string | null }>,
): Promise<Map<number, Float32Array>> {
  const out = new Map<number, Float32Array>();
  await Promise.all(
    items.map(async (it) => {
      if (!it.preview) return;
      try {
        const px = await sharp(await readFile(join(workspace, it.preview)))
          .resize(32, 32, { fit: 'fill' })
          .greyscale()
          .raw()
          .toBuffer();
        const v = Float32Array.from(px);
        let mean = 0;
        for (const x of v) mean += x;
        mean /= v.length;
        for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) - mean;
        out.set(it.id, normalise(v));
      } catch {
        // a preview that does not decode has no vector; the keeper is reported as such
      }
    }),
  );
  return out;
}

/** Scores (keeper, photo) pairs by cosine similarity; pairs without two vectors are left out. */
export interface PairScorer {
  readonly source: string;
  score(pairs: ReadonlyArray<readonly [number, number]>): Promise<Map<string, number>>;
}

/** The key of a scored pair. */
export const pairKey = (keeper: number, photo: number): string => `${keeper}:${photo}`;

/**
 * Scores with the embedding model's vectors inside DuckDB: the vectors never leave the database, so 400,000
 * photos cost a join, not a transfer.
 */
export function modelScorer(db: Db, workspace: string, modelId: string): PairScorer {
  const photos = vectorGlob(workspace, modelId, 'photos');
  const keepers = vectorGlob(workspace, modelId, 'keepers');
  return {
    source: `model:${modelId}`,
    async score(pairs) {
      const out = new Map<string, number>();
      if (!photos || !keepers || pairs.length === 0) return out;
      for (const r of await vectorSimilarities(db, keepers, photos, pairs)) out.set(pairKey(r.k, r.p), r.s);
      return out;
    },
  };
}

/** Scores with preview thumbnails, computed on first use and kept. */
export function thumbnailScorer(
  workspace: string,
  keeperPreview: (id: number) => string | null,
  photoPreview: (id: number) => string | null,
): PairScorer {
  const keepers = new Map<number, Float32Array | null>();
  const photos = new Map<number, Float32Array | null>();
  const fill = async (
    cache: Map<number, Float32Array | null>,
    ids: number[],
    preview: (id: number) => string | null,
  ): Promise<void> => {
    const need = [...new Set(ids)].filter((id) => !cache.has(id));
    for (let i = 0; i < need.length; i += 256) {
      const part = need.slice(i, i + 256);
      const got = await thumbnailVectors(
        workspace,
        part.map((id) => ({ id, preview: preview(id) })),
      );
      for (const id of part) cache.set(id, got.get(id) ?? null);
    }
  };
  return {
    source: 'thumbnail',
    async score(pairs) {
      await fill(
        keepers,
        pairs.map((p) => p[0]),
        keeperPreview,
      );
      await fill(
        photos,
        pairs.map((p) => p[1]),
        photoPreview,
      );
      const out = new Map<string, number>();
      for (const [k, p] of pairs) {
        const a = keepers.get(k);
        const b = photos.get(p);
        if (a && b) out.set(pairKey(k, p), cosine(a, b));
      }
      return out;
    },
  };
}
