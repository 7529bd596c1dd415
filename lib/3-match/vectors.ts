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
import { readStoredVectors, vectorGlob, type StoredVectors } from '../2-embed/store.js';
import { MatMul } from '../onnx/matmul.js';

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
  /** The `top` most similar photos of the whole corpus per keeper, best first (brute force), when the scorer can. */
  nearest?(keepers: readonly number[], top: number): Promise<Map<number, Array<{ id: number; s: number }>>>;
}

/** Rows of photo vectors multiplied at once: 16,384 x 512 floats is 32 MB. */
const BLOCK = 16_384;

/**
 * The `top` nearest photos by cosine similarity for each keeper vector, by brute force over every photo vector
 * (view 0): blocks of photo rows times the keepers' matrix on the ONNX matrix kernels, a running top list per keeper.
 */
export async function corpusNearest(
  keepers: ReadonlyMap<number, Float32Array>,
  photos: StoredVectors,
  top: number,
): Promise<Map<number, Array<{ id: number; s: number }>>> {
  const ids = [...keepers.keys()];
  const m = ids.length;
  const dim = photos.dim;
  const out = new Map<number, Array<{ id: number; s: number }>>(ids.map((id) => [id, []]));
  if (m === 0 || photos.ids.length === 0) return out;
  // the keepers' unit vectors as columns: [dim, m]
  const kt = new Float32Array(dim * m);
  ids.forEach((id, j) => {
    const v = normalise(Float32Array.from(keepers.get(id) as Float32Array));
    for (let d = 0; d < dim; d++) kt[d * m + j] = v[d] as number;
  });
  const mm = await MatMul.create();
  try {
    const lists = ids.map((id) => out.get(id) as Array<{ id: number; s: number }>);
    for (let r0 = 0; r0 < photos.ids.length; r0 += BLOCK) {
      const rows = Math.min(BLOCK, photos.ids.length - r0);
      const block = photos.data.subarray(r0 * dim, (r0 + rows) * dim);
      const y = await mm.run(block, rows, dim, kt, m);
      for (let r = 0; r < rows; r++) {
        let n = 0;
        for (let d = 0; d < dim; d++) n += (block[r * dim + d] as number) ** 2;
        const inv = n > 0 ? 1 / Math.sqrt(n) : 0;
        for (let j = 0; j < m; j++) {
          const s = (y[r * m + j] as number) * inv;
          const list = lists[j] as Array<{ id: number; s: number }>;
          if (list.length === top && s <= (list[top - 1] as { s: number }).s) continue;
          list.push({ id: photos.ids[r0 + r] as number, s });
          list.sort((a, b) => b.s - a.s);
          if (list.length > top) list.pop();
        }
      }
    }
  } finally {
    await mm.close();
  }
  return out;
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
    async nearest(ids, top) {
      const want = new Set(ids);
      const ks = await readStoredVectors(workspace, modelId, 'keepers', (v) => v === 0);
      const mine = new Map<number, Float32Array>();
      ks.ids.forEach((id, i) => {
        if (want.has(id)) mine.set(id, ks.data.subarray(i * ks.dim, (i + 1) * ks.dim));
      });
      return corpusNearest(mine, await readStoredVectors(workspace, modelId, 'photos', (v) => v === 0), top);
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
