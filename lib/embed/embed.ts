/**
 * `flux embed`: every photo, keeper file and inbox photo that has no vector for the model yet gets one, from the
 * preview cache (never the archive). Decoding the next batch runs while the model runs on this one, so both cores
 * work. Vectors go to Parquet parts, the pixel descriptor to DuckDB; a preview that fails is recorded and skipped.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { PreparePool } from './workers.js';
import { dirname, join } from 'node:path';
import { Db } from '../db/duckdb.js';
import { ensureSchema } from '../db/schema.js';
import { checkInt, FluxError } from '../util/check.js';
import { throttle, type OnProgress } from '../util/progress.js';
import { DESCRIPTOR_NAMES } from './descriptor.js';
import { defaultModel, findModel, type ModelSpec } from './models.js';
import { OnnxImageModel } from './onnx.js';
import { decodeRgb, modelPixels, toTensor } from './preprocess.js';
import { augment, sampleAugment } from './augment.js';
import { Rng } from '../util/rng.js';
import { storedKeys, VECTOR_SETS, writePart, type VectorSet } from './store.js';

export interface EmbedOptions {
  db: string;
  /** A registry id or a model .json; default: the best model present; `none`: the pixel descriptor only. */
  model?: string;
  /** Images per inference batch; default 16. */
  batchSize?: number;
  /** Vectors per Parquet part; default 1024. */
  partSize?: number;
  sets?: VectorSet[];
  /** Embed at most this many images per set (a trial run, or a benchmark at a given size). */
  limit?: number;
  /** Augmented views per training photo (0 = none); needs the session split (`flux dataset`). */
  views?: number;
  /** Seed of the augmentation; recorded in the Parquet metadata. */
  seed?: number;
  onProgress?: OnProgress;
}

export interface EmbedSetReport {
  set: VectorSet;
  images: number;
  alreadyDone: number;
  embedded: number;
  failed: number;
}

export interface EmbedReport {
  /** The model used, or null when only the pixel descriptor was computed. */
  model: string | null;
  modelPath: string | null;
  workspace: string;
  sets: EmbedSetReport[];
  /** Augmented training views written in this run. */
  views: number;
  seconds: number;
  /** Plain words for the user when something is missing (no model). */
  note: string | null;
}

const DESCRIPTOR_COLS = DESCRIPTOR_NAMES.map((n) => `${n} DOUBLE`).join(', ');

/** Creates the tables `flux embed` writes into. */
export async function ensureEmbedSchema(db: Db): Promise<void> {
  await db.run(`CREATE TABLE IF NOT EXISTS descriptors ("set" VARCHAR NOT NULL, id BIGINT NOT NULL, ${DESCRIPTOR_COLS}, PRIMARY KEY ("set", id))`);
  await db.run(`CREATE TABLE IF NOT EXISTS embed_errors ("set" VARCHAR NOT NULL, id BIGINT NOT NULL, model_id VARCHAR NOT NULL,
    preview VARCHAR, message VARCHAR NOT NULL, PRIMARY KEY ("set", id, model_id))`);
}

/** The workspace recorded by ingest (where the previews are), else the database's folder. */
export async function workspaceOf(db: Db): Promise<string> {
  const ws = await db.value<string>(`SELECT value FROM meta WHERE key = 'workspace'`).catch(() => null);
  return ws ?? dirname(db.file);
}

interface Item { id: number; preview: string }
interface Prepared { item: Item; ok: boolean; message?: string; descriptor?: Float32Array }

const TABLE: Record<VectorSet, string> = { photos: 'photos', keepers: 'keeper_files', inbox: 'inbox_photos' };

function resolveModel(option: string | undefined): { spec: ModelSpec; path: string } | null {
  if (option === 'none') return null;
  if (option === undefined) return defaultModel();
  const { spec, path } = findModel(option);
  if (!path) {
    throw new FluxError(`--model: the file of ${spec.id} (${spec.file}) is not in models/ or ../shared/models/; ` +
      (spec.url ? `fetch it with: flux models fetch ${spec.id}` : 'put it there or describe another model in a .json file'));
  }
  return { spec, path };
}

/** Embeds what has no vector yet. */
export async function embed(options: EmbedOptions): Promise<EmbedReport> {
  const t0 = performance.now();
  const batchSize = checkInt('--batch-size', options.batchSize ?? 16, 1, 1024);
  const partSize = checkInt('--part-size', options.partSize ?? 1024, 1, 1_000_000);
  const resolved = resolveModel(options.model);
  const note = resolved ? null : options.model === 'none' ? 'descriptor only (--model none)'
    : 'no ONNX image model found in models/ or ../shared/models/: only the pixel descriptor was computed. ' +
      'Fetch a model with: flux models fetch clip-vit-b32 (needs internet), then run flux embed again.';
  const onProgress = throttle(options.onProgress);
  const db = await Db.open(options.db);
  let model: OnnxImageModel | null = null;
  let pool = null as PreparePool | null;
  try {
    await ensureSchema(db);
    await ensureEmbedSchema(db);
    const workspace = await workspaceOf(db);
    model = resolved ? await OnnxImageModel.load(resolved.spec, resolved.path) : null;
    pool = new PreparePool(Number(process.env.FLUX_DECODE_WORKERS ?? availableParallelism()));
    const spec = resolved?.spec ?? null;
    const reports: EmbedSetReport[] = [];
    for (const set of options.sets ?? (Object.keys(VECTOR_SETS) as VectorSet[])) {
      const items = await db.all<Item>(`SELECT ${VECTOR_SETS[set]} AS id, preview FROM ${TABLE[set]} WHERE preview IS NOT NULL ORDER BY 1`);
      const haveVector = spec ? await storedKeys(db, workspace, spec.id, set) : new Set<string>();
      const haveDescriptor = new Set((await db.all<{ id: number }>(`SELECT id FROM descriptors WHERE "set" = ?`, [set])).map((r) => r.id));
      const failedBefore = new Set((await db.all<{ id: number }>(`SELECT id FROM embed_errors WHERE "set" = ? AND model_id = ?`, [set, spec?.id ?? 'descriptor'])).map((r) => r.id));
      const todo = items.filter((it) => !failedBefore.has(it.id) && ((spec && !haveVector.has(`${it.id}:0`)) || !haveDescriptor.has(it.id)))
        .slice(0, options.limit ?? Infinity);
      const report: EmbedSetReport = { set, images: items.length, alreadyDone: items.length - todo.length, embedded: 0, failed: 0 };
      reports.push(report);
      const size = spec?.preprocessing.size ?? 0;
      const tensor = new Float32Array(spec ? batchSize * 3 * size * size : 0);
      let vectors: Array<{ id: number; view: number; vector: Float32Array }> = [];
      let descriptors: Prepared[] = [];
      const flush = async (): Promise<void> => {
        // the part lands first; descriptors and errors after it (re-computing them on a resumed run is harmless)
        if (spec && vectors.length) await writePart(db, workspace, spec, set, vectors);
        await db.transaction(async () => {
          const ok = descriptors.filter((d) => d.ok && d.descriptor);
          await db.insert('descriptors', ['"set"', 'id', ...DESCRIPTOR_NAMES], ok.map((d) => [set, d.item.id, ...Array.from(d.descriptor as Float32Array, Number)]), 'INSERT OR REPLACE');
          const bad = descriptors.filter((d) => !d.ok);
          await db.insert('embed_errors', ['"set"', 'id', 'model_id', 'preview', 'message'], bad.map((d) => [set, d.item.id, spec?.id ?? 'descriptor', d.item.preview, d.message ?? 'failed']), 'INSERT OR REPLACE');
        });
        vectors = [];
        descriptors = [];
      };
      // decode a whole batch in the worker pool: preview -> RGB -> descriptor and model tensor
      const prepare = async (batch: Item[]): Promise<Array<Prepared & { tensor?: Float32Array | null }>> => Promise.all(batch.map(async (item) => {
        const r = await (pool as PreparePool).prepare(join(workspace, item.preview), spec?.preprocessing ?? null);
        return r.ok ? { item, ok: true, descriptor: r.descriptor, tensor: r.tensor } : { item, ok: false, message: `preview ${item.preview}: ${r.message}` };
      }));
      onProgress({ stage: `embed ${set}`, done: 0, total: todo.length });
      let done = 0;
      // the workers stay up to PREFETCH batches ahead, so they keep decoding while the model runs and parts are written
      const PREFETCH = 4;
      const queue: Array<Promise<Array<Prepared & { tensor?: Float32Array | null }>>> = [];
      let queued = 0;
      const refill = (): void => {
        while (queue.length < PREFETCH && queued < todo.length) {
          queue.push(prepare(todo.slice(queued, queued + batchSize)));
          queued += batchSize;
        }
      };
      refill();
      for (let b = 0; b < todo.length; b += batchSize) {
        const prepared = await (queue.shift() as Promise<Array<Prepared & { tensor?: Float32Array | null }>>);
        refill();
        const good = prepared.filter((p) => p.ok);
        if (model && spec && good.length) {
          good.forEach((p, i) => tensor.set(p.tensor as Float32Array, i * 3 * size * size));
          try {
            const out = await model.run(tensor, good.length);
            good.forEach((p, i) => vectors.push({ id: p.item.id, view: 0, vector: out.embedding.slice(i * spec.dim, (i + 1) * spec.dim) }));
          } catch (err) {
            for (const p of good) Object.assign(p, { ok: false, message: `inference failed for the batch: ${(err as Error).message.split('\n')[0]}` });
          }
        }
        for (const p of prepared) {
          // only the descriptor waits for the flush; the model tensor (600 KB) is done with
          p.tensor = null;
          descriptors.push(p);
          if (p.ok) report.embedded++;
          else report.failed++;
        }
        done += prepared.length;
        onProgress({ stage: `embed ${set}`, done, total: todo.length });
        if (vectors.length >= partSize || descriptors.length >= partSize) await flush();
      }
      await flush();
    }
    const views = model && spec && (options.views ?? 0) > 0 ? await embedViews(db, model, spec, workspace, checkInt('--views', options.views, 1, 32), options.seed ?? 7, batchSize, partSize, onProgress) : 0;
    return { model: spec?.id ?? null, modelPath: resolved?.path ?? null, workspace, sets: reports, views, seconds: (performance.now() - t0) / 1000, note };
  } finally {
    await pool?.close();
    await model?.close();
    db.close();
  }
}

/**
 * Augmented views 1..n of the training photos (session split). Validation and test photos are never augmented.
 * Each view's random choices come from the seed, the photo and the view number, so a resumed run makes the same views.
 */
async function embedViews(db: Db, model: OnnxImageModel, spec: ModelSpec, workspace: string, n: number, seed: number, batchSize: number,
  partSize: number, onProgress: OnProgress): Promise<number> {
  const hasSplit = Number(await db.value(`SELECT count(*) FROM information_schema.tables WHERE table_name = 'dataset_split'`)) > 0;
  if (!hasSplit || Number(await db.value(`SELECT count(*) FROM dataset_split WHERE scheme = 'session'`)) === 0) {
    throw new FluxError('--views: augmented views are for the training split only, and there is no split yet: run flux dataset --db FILE first');
  }
  const items = await db.all<Item>(`SELECT p.photo_id AS id, p.preview FROM photos p JOIN dataset_split s USING (photo_id)
    WHERE s.scheme = 'session' AND s.split = 'train' AND p.preview IS NOT NULL ORDER BY 1`);
  const have = await storedKeys(db, workspace, spec.id, 'photos');
  const todo = items.flatMap((it) => Array.from({ length: n }, (_, v) => ({ ...it, view: v + 1 }))).filter((x) => !have.has(`${x.id}:${x.view}`));
  const size = spec.preprocessing.size;
  const tensor = new Float32Array(batchSize * 3 * size * size);
  let rows: Array<{ id: number; view: number; vector: Float32Array }> = [];
  let written = 0;
  onProgress({ stage: 'embed views', done: 0, total: todo.length });
  for (let b = 0; b < todo.length; b += batchSize) {
    const batch = todo.slice(b, b + batchSize);
    const ready = (await Promise.all(batch.map(async (x) => {
      try {
        const { rgb, width, height } = await decodeRgb(await readFile(join(workspace, x.preview)));
        const px = await modelPixels(rgb, width, height, spec.preprocessing);
        return { x, px: augment(px, size, sampleAugment(new Rng(seed).fork(`view:${x.id}:${x.view}`), size)) };
      } catch {
        return null;
      }
    }))).filter((r): r is { x: typeof batch[number]; px: Uint8Array } => r !== null);
    ready.forEach((r, i) => toTensor(r.px, spec.preprocessing, tensor, i));
    if (ready.length) {
      const out = await model.run(tensor, ready.length);
      ready.forEach((r, i) => rows.push({ id: r.x.id, view: r.x.view, vector: out.embedding.slice(i * spec.dim, (i + 1) * spec.dim) }));
    }
    if (rows.length >= partSize || b + batchSize >= todo.length) {
      if (rows.length) await writePart(db, workspace, spec, 'photos', rows, { augment_seed: String(seed), augment: 'hflip, crop 200/224, brightness/contrast +-0.1 (luminance), rotation +-5 deg' });
      written += rows.length;
      rows = [];
    }
    onProgress({ stage: 'embed views', done: Math.min(todo.length, b + batchSize), total: todo.length });
  }
  return written;
}
