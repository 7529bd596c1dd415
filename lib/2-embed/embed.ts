/**
 * `flux embed`: every photo, keeper file and inbox photo that has no vector for the model yet gets one, from the
 * preview cache (never the archive). Worker threads decode the next batches while the model runs on this one in
 * a thread of its own, so both cores work. Vectors go to Parquet parts, the pixel descriptor to DuckDB; a preview that fails is recorded and skipped.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InferenceWorker, PreparePool } from './workers.js';
import { Db } from '../db/duckdb.js';
import { ensureSchema, workspaceOf } from '../db/schema.js';
import { checkInt, FluxError } from '../util/check.js';
import { throttle, type OnProgress } from '../util/progress.js';
import { DESCRIPTOR_NAMES } from './descriptor.js';
import { defaultModel, findModel, type ModelSpec, type Preprocessing } from './models.js';
import { OnnxImageModel } from '../onnx/image-model.js';
import { storedKeys, VECTOR_SETS, writePart, type VectorSet } from './store.js';

export interface EmbedOptions {
  /** The database file, or a database the caller has open (and closes). */
  db: string | Db;
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
  /** Batches the model failed on (their photos are tried again on the next run). */
  inferenceErrors: string[];
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
  /** Seconds spent decoding, embedding and writing (the whole run less opening, model loading and bookkeeping). */
  embedSeconds: number;
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

/** Where the previews and embeddings are (defined with the schema, which ingest reads it from too). */
export { workspaceOf } from '../db/schema.js';

interface Item { id: number; preview: string }
interface Prepared { item: Item; view: number; ok: boolean; message?: string; descriptor?: Float32Array | null }

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
  const viewCount = checkInt('--views', options.views ?? 0, 0, 32);
  const resolved = resolveModel(options.model);
  const note = resolved ? null : options.model === 'none' ? 'descriptor only (--model none)'
    : 'no ONNX image model found in models/ or ../shared/models/: only the pixel descriptor was computed. ' +
      'Fetch a model with: flux models fetch clip-vit-b32 (needs internet), then run flux embed again.';
  const onProgress = throttle(options.onProgress);
  const db = typeof options.db === 'string' ? await Db.openIndex(options.db) : options.db;
  let model: InferenceWorker | null = null;
  let pool = null as PreparePool | null;
  try {
    await ensureSchema(db);
    await ensureEmbedSchema(db);
    const workspace = await workspaceOf(db);
    // loaded once here to check the file (a clear message naming it); it runs in a thread of its own, started when
    // the first batch is ready (a run with nothing to embed starts none)
    if (resolved) await (await OnnxImageModel.load(resolved.spec, resolved.path)).close();
    const inference = (): InferenceWorker => (model ??= new InferenceWorker((resolved as { spec: ModelSpec }).spec, (resolved as { path: string }).path));
    pool = new PreparePool(process.env.FLUX_DECODE_WORKERS ? checkInt('FLUX_DECODE_WORKERS', Number(process.env.FLUX_DECODE_WORKERS), 1, 64) : availableParallelism());
    const spec = resolved?.spec ?? null;
    const reports: EmbedSetReport[] = [];
    let steady = 0;
    for (const set of options.sets ?? (Object.keys(VECTOR_SETS) as VectorSet[])) {
      const items = await db.all<Item>(`SELECT ${VECTOR_SETS[set]} AS id, preview FROM ${TABLE[set]} WHERE preview IS NOT NULL ORDER BY 1`);
      const haveVector = spec ? await storedKeys(db, workspace, spec.id, set) : new Set<string>();
      const haveDescriptor = new Set((await db.all<{ id: number }>(`SELECT id FROM descriptors WHERE "set" = ?`, [set])).map((r) => r.id));
      // photos that failed before are tried again (a preview may have been restored or its folder remounted), after
      // the others, so a --limit window is not filled by the same failures on every run
      const failedBefore = new Set((await db.all<{ id: number }>(`SELECT id FROM embed_errors WHERE "set" = ? AND model_id = ?`, [set, spec?.id ?? 'descriptor'])).map((r) => Number(r.id)));
      const todo = items.filter((it) => (spec && !haveVector.has(`${it.id}:0`)) || !haveDescriptor.has(it.id))
        .sort((a, b) => Number(failedBefore.has(a.id)) - Number(failedBefore.has(b.id)))
        .slice(0, options.limit ?? Infinity);
      const report: EmbedSetReport = { set, images: items.length, alreadyDone: items.length - todo.length, embedded: 0, failed: 0, inferenceErrors: [] };
      reports.push(report);
      let vectors: Array<{ id: number; view: number; vector: Float32Array }> = [];
      let descriptors: Prepared[] = [];
      const flush = async (): Promise<void> => {
        // the part lands first; descriptors and errors after it (re-computing them on a resumed run is harmless)
        if (spec && vectors.length) await writePart(db, workspace, spec, set, vectors);
        await writeDescriptors(db, set, spec?.id ?? 'descriptor', descriptors);
        vectors = [];
        descriptors = [];
      };
      onProgress({ stage: `embed ${set}`, done: 0, total: todo.length });
      const t1 = performance.now();
      let done = 0;
      await pipelined(pool as PreparePool, workspace, todo.map((item) => ({ item, view: 0 })), batchSize, spec?.preprocessing ?? null, null, async (prepared, tensor) => {
        const good = prepared.filter((p) => p.ok);
        let inferenceFailed = false;
        if (resolved && spec && good.length) {
          try {
            const out = await inference().run(tensor, good.length);
            good.forEach((p, i) => vectors.push({ id: p.item.id, view: 0, vector: out.embedding.slice(i * spec.dim, (i + 1) * spec.dim) }));
          } catch (err) {
            // the model failed, not the photos: their descriptors are kept and the next run tries the vectors again
            inferenceFailed = true;
            report.inferenceErrors.push((err as Error).message.split('\n')[0] ?? 'inference failed');
          }
        }
        for (const p of prepared) {
          descriptors.push(p);
          if (!p.ok || (inferenceFailed && spec)) report.failed++;
          else report.embedded++;
        }
        done += prepared.length;
        onProgress({ stage: `embed ${set}`, done, total: todo.length });
        if (vectors.length >= partSize || descriptors.length >= partSize) await flush();
      });
      await flush();
      steady += (performance.now() - t1) / 1000;
    }
    const views = resolved && spec && viewCount > 0
      ? await embedViews(db, inference, pool, spec, workspace, viewCount, options.seed ?? 7, batchSize, partSize, onProgress) : 0;
    const seconds = (performance.now() - t0) / 1000;
    return { model: spec?.id ?? null, modelPath: resolved?.path ?? null, workspace, sets: reports, views, seconds, embedSeconds: steady, note };
  } finally {
    await pool?.close();
    await (model as InferenceWorker | null)?.close();
    if (typeof options.db === 'string') db.close();
  }
}

/**
 * Runs jobs through the decoding pool up to PREFETCH batches ahead, handing each prepared batch, in order, to
 * `consume` (which runs the model and writes): the workers keep decoding while the model runs.
 */
async function pipelined(pool: PreparePool, workspace: string, jobs: ReadonlyArray<{ item: Item; view: number }>, batchSize: number,
  preprocessing: Preprocessing | null, augmentSeed: number | null, consume: (batch: Prepared[], tensors: Float32Array) => Promise<void>): Promise<void> {
  const PREFETCH = 4;
  const slot = preprocessing ? 3 * preprocessing.size * preprocessing.size : 0;
  // batch buffers shared with the workers, who write each tensor into its slot: no copies, nothing for the GC
  const free: SharedArrayBuffer[] = [];
  const take = (): SharedArrayBuffer => free.pop() ?? new SharedArrayBuffer(Math.max(4, batchSize * slot * 4));
  const prepare = (batch: ReadonlyArray<{ item: Item; view: number }>): { buffer: SharedArrayBuffer; ready: Promise<Prepared[]> } => {
    const buffer = take();
    const ready = Promise.all(batch.map(async ({ item, view }, i): Promise<Prepared> => {
      const r = await pool.prepare(join(workspace, item.preview), preprocessing, augmentSeed === null ? undefined : { seed: augmentSeed, id: item.id, view },
        slot ? { buffer, offset: i * slot } : undefined);
      return r.ok ? { item, view, ok: true, descriptor: r.descriptor } : { item, view, ok: false, message: `preview ${item.preview}: ${r.message}` };
    }));
    return { buffer, ready };
  };
  const queue: Array<{ buffer: SharedArrayBuffer; ready: Promise<Prepared[]> }> = [];
  let queued = 0;
  const refill = (): void => {
    while (queue.length < PREFETCH && queued < jobs.length) {
      queue.push(prepare(jobs.slice(queued, queued + batchSize)));
      queued += batchSize;
    }
  };
  refill();
  while (queue.length) {
    const { buffer, ready } = queue.shift() as { buffer: SharedArrayBuffer; ready: Promise<Prepared[]> };
    const prepared = await ready;
    refill();
    // failed images leave holes: move the good tensors together, in order
    const all = new Float32Array(buffer);
    let n = 0;
    prepared.forEach((p, i) => {
      if (!p.ok) return;
      if (i !== n && slot) all.copyWithin(n * slot, i * slot, (i + 1) * slot);
      n++;
    });
    await consume(prepared, all.subarray(0, n * slot));
    free.push(buffer);
  }
}

/** Descriptors and failures of a flushed batch, through the appender (INSERT OR REPLACE from a staging table). */
async function writeDescriptors(db: Db, set: VectorSet, modelId: string, rows: readonly Prepared[]): Promise<void> {
  const ok = rows.filter((d) => d.ok && d.descriptor);
  const bad = rows.filter((d) => !d.ok);
  await db.transaction(async () => {
    if (ok.length) {
      await db.run(`CREATE TEMP TABLE IF NOT EXISTS descriptor_stage AS SELECT * FROM descriptors LIMIT 0`);
      await db.append('descriptor_stage', ['varchar', 'bigint', ...DESCRIPTOR_NAMES.map(() => 'double' as const)],
        ok.map((d) => [set, d.item.id, ...Array.from(d.descriptor as Float32Array, Number)]));
      await db.run('INSERT OR REPLACE INTO descriptors SELECT * FROM descriptor_stage');
      await db.run('DELETE FROM descriptor_stage');
      // a photo that failed before and worked now is no longer an error
      await db.run(`DELETE FROM embed_errors WHERE "set" = ? AND model_id = ? AND id IN (SELECT unnest(?::BIGINT[]))`, [set, modelId, JSON.stringify(ok.map((d) => d.item.id))]);
    }
    await db.insert('embed_errors', ['"set"', 'id', 'model_id', 'preview', 'message'], bad.map((d) => [set, d.item.id, modelId, d.item.preview, d.message ?? 'failed']), 'INSERT OR REPLACE');
  });
}

/**
 * Augmented views 1..n of the training photos (session split). Validation and test photos are never augmented.
 * Each view's random choices come from the seed, the photo and the view number, so a resumed run makes the same views.
 */
async function embedViews(db: Db, model: () => InferenceWorker, pool: PreparePool, spec: ModelSpec, workspace: string, n: number, seed: number, batchSize: number,
  partSize: number, onProgress: OnProgress): Promise<number> {
  const hasSplit = Number(await db.value(`SELECT count(*) FROM information_schema.tables WHERE table_name = 'dataset_split'`)) > 0;
  if (!hasSplit || Number(await db.value(`SELECT count(*) FROM dataset_split WHERE scheme = 'session'`)) === 0) {
    throw new FluxError('--views: augmented views are for the training split only, and there is no split yet: run flux dataset --db FILE first');
  }
  const items = await db.all<Item>(`SELECT p.photo_id AS id, p.preview FROM photos p JOIN dataset_split s USING (photo_id)
    WHERE s.scheme = 'session' AND s.split = 'train' AND p.preview IS NOT NULL ORDER BY 1`);
  const have = await storedKeys(db, workspace, spec.id, 'photos');
  const todo = items.flatMap((item) => Array.from({ length: n }, (_, v) => ({ item, view: v + 1 }))).filter((x) => !have.has(`${x.item.id}:${x.view}`));
  let rows: Array<{ id: number; view: number; vector: Float32Array }> = [];
  let written = 0;
  let done = 0;
  const flush = async (): Promise<void> => {
    if (rows.length) await writePart(db, workspace, spec, 'photos', rows, { augment_seed: String(seed), augment: 'hflip, crop 200/224, brightness/contrast +-0.1 (luminance), rotation +-5 deg' });
    written += rows.length;
    rows = [];
  };
  onProgress({ stage: 'embed views', done: 0, total: todo.length });
  await pipelined(pool, workspace, todo, batchSize, spec.preprocessing, seed, async (prepared, tensor) => {
    const ready = prepared.filter((p) => p.ok);
    if (ready.length) {
      const out = await model().run(tensor, ready.length);
      ready.forEach((p, i) => rows.push({ id: p.item.id, view: p.view, vector: out.embedding.slice(i * spec.dim, (i + 1) * spec.dim) }));
    }
    done += prepared.length;
    onProgress({ stage: 'embed views', done, total: todo.length });
    if (rows.length >= partSize) await flush();
  });
  await flush();
  return written;
}
