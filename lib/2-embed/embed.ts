/**
 * `flux embed`: every photo, keeper file and inbox photo that has no vector for the model yet gets one, from the
 * preview cache (never the archive). Worker threads decode the next batches while the model runs on this one in
 * a thread of its own, so both cores work. Vectors go to Parquet parts, the pixel descriptor to DuckDB; a preview
 * that fails is recorded and skipped.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InferenceWorker, PreparePool } from './workers.js';
import type { Db } from '../db/duckdb.js';
import { ensureSchema, workspaceOf } from '../db/schema.js';
import { descriptorIds, failedIds, writeDescriptors } from '../db/vectors.js';
import { checkInt, FluxError } from '../util/check.js';
import { throttle, type OnProgress } from '../util/progress.js';
import { defaultModel, findModel, type ModelSpec, type Preprocessing } from './models.js';
import { OnnxImageModel } from '../onnx/image-model.js';
import type { Provider, ProviderChoice } from '../onnx/runtime.js';
import { storedKeys, VECTOR_SETS, writePart, type VectorSet } from './store.js';
import { tableExists } from '../db/table.js';

export interface EmbedOptions {
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
  /** Image decoding workers; default one per core (the pipeline fills it from FLUX_DECODE_WORKERS). */
  decodeWorkers?: number;
  /** The ONNX Runtime execution provider of the model; default `auto`, the best that loads. */
  provider?: ProviderChoice;
  onProgress?: OnProgress;
}

export interface EmbedSetReport {
  set: VectorSet;
  images: number;
  alreadyDone: number;
  embedded: number;
  /** Of `embedded`, images that had their vector and got only their descriptor (written before its later columns). */
  descriptorOnly: number;
  failed: number;
  /** Batches the model failed on (their photos are tried again on the next run). */
  inferenceErrors: string[];
}

export interface EmbedReport {
  /** The model used, or null when only the pixel descriptor was computed. */
  model: string | null;
  modelPath: string | null;
  /** The execution provider the model ran on, or null with no model. */
  provider: Provider | null;
  workspace: string;
  sets: EmbedSetReport[];
  /** Augmented training views written in this run. */
  views: number;
  /** Augmented views whose preview could not be read: tried again on the next run. */
  viewFailures: Array<{ id: number; view: number; preview: string; message: string }>;
  seconds: number;
  /** Seconds spent decoding, embedding and writing (the whole run less opening, model loading and bookkeeping). */
  embedSeconds: number;
  /** Plain words for the user when something is missing (no model). */
  note: string | null;
}

/** Where the previews and embeddings are (defined with the schema, which ingest reads it from too). */
export { workspaceOf } from '../db/schema.js';

interface Item {
  id: number;
  preview: string;
}
interface Prepared {
  item: Item;
  view: number;
  ok: boolean;
  message?: string;
  descriptor?: Float32Array | null;
}

const TABLE: Record<VectorSet, string> = { photos: 'photos', keepers: 'keeper_files', inbox: 'inbox_photos' };

function resolveModel(option: string | undefined): { spec: ModelSpec; path: string } | null {
  if (option === 'none') return null;
  if (option === undefined) return defaultModel();
  const { spec, path } = findModel(option);
  if (!path) {
    throw new FluxError(
      `--model: the file of ${spec.id} (${spec.file}) is not in models/ or ../shared/models/; ` +
        (spec.url
          ? `fetch it with: flux models fetch ${spec.id}`
          : 'put it there or describe another model in a .json file'),
    );
  }
  return { spec, path };
}

/** What one run shares between its sets: the database, the workers, the model and the settings. */
interface EmbedRun {
  db: Db;
  workspace: string;
  spec: ModelSpec | null;
  pool: PreparePool;
  /** The model's thread, started when the first batch is ready (a run with nothing to embed starts none). */
  inference: () => InferenceWorker;
  batchSize: number;
  partSize: number;
  limit: number;
  onProgress: OnProgress;
}

/**
 * The images of a set that lack a vector (for the model) or a descriptor, earlier failures last; `vectorless` holds
 * the ids of those that lack the vector (the others need only their descriptor: a database made before the later
 * descriptor columns).
 */
async function todoOf(
  run: EmbedRun,
  set: VectorSet,
): Promise<{ items: Item[]; todo: Item[]; vectorless: Set<number> }> {
  const { db, spec } = run;
  const items = await db.all<Item>(
    `SELECT ${VECTOR_SETS[set]} AS id, preview FROM ${TABLE[set]} WHERE preview IS NOT NULL ORDER BY 1`,
  );
  const haveVector = spec ? await storedKeys(db, run.workspace, spec.id, set) : new Set<string>();
  const haveDescriptor = await descriptorIds(db, set);
  // photos that failed before are tried again (a preview may have been restored or its folder remounted), after
  // the others, so a --limit window is not filled by the same failures on every run
  const failedBefore = await failedIds(db, set, spec?.id ?? 'descriptor');
  const todo = items
    .filter((it) => (spec && !haveVector.has(`${it.id}:0`)) || !haveDescriptor.has(it.id))
    .sort((a, b) => Number(failedBefore.has(a.id)) - Number(failedBefore.has(b.id)))
    .slice(0, run.limit);
  const vectorless = new Set(spec ? todo.filter((it) => !haveVector.has(`${it.id}:0`)).map((it) => it.id) : []);
  return { items, todo, vectorless };
}

/** Embeds what one set lacks; returns its report and the seconds spent decoding, embedding and writing. */
async function embedSet(run: EmbedRun, set: VectorSet): Promise<{ report: EmbedSetReport; seconds: number }> {
  const { db, workspace, spec, onProgress } = run;
  const { items, todo, vectorless } = await todoOf(run, set);
  const report: EmbedSetReport = {
    set,
    images: items.length,
    alreadyDone: items.length - todo.length,
    embedded: 0,
    descriptorOnly: 0,
    failed: 0,
    inferenceErrors: [],
  };
  let vectors: Array<{ id: number; view: number; vector: Float32Array }> = [];
  let prepared: Prepared[] = [];
  const flush = async (): Promise<void> => {
    // the part lands first; descriptors and errors after it (re-computing them on a resumed run is harmless)
    if (spec && vectors.length) await writePart(db, workspace, spec, set, vectors);
    await writeDescriptors(
      db,
      set,
      spec?.id ?? 'descriptor',
      prepared.flatMap((d) => (d.ok && d.descriptor ? [{ id: d.item.id, descriptor: d.descriptor }] : [])),
      prepared.flatMap((d) =>
        d.ok ? [] : [{ id: d.item.id, preview: d.item.preview, message: d.message ?? 'failed' }],
      ),
    );
    vectors = [];
    prepared = [];
  };
  onProgress({ stage: `embed ${set}`, done: 0, total: todo.length });
  const t1 = performance.now();
  let done = 0;
  // the model runs on the images without a vector; the others (a descriptor to fill in) are only decoded
  const withModel = todo.filter((it) => vectorless.has(it.id)).map((item) => ({ item, view: 0 }));
  const descriptorOnly = todo.filter((it) => !vectorless.has(it.id)).map((item) => ({ item, view: 0 }));
  const pass = (jobs: typeof withModel, model: ModelSpec | null): Promise<void> =>
    pipelined(run.pool, workspace, jobs, run.batchSize, model?.preprocessing ?? null, null, async (batch, tensor) => {
      const good = batch.filter((p) => p.ok);
      let inferenceFailed = false;
      if (model && good.length) {
        try {
          const out = await run.inference().run(tensor, good.length);
          good.forEach((p, i) =>
            vectors.push({
              id: p.item.id,
              view: 0,
              vector: out.embedding.slice(i * model.dim, (i + 1) * model.dim),
            }),
          );
        } catch (err) {
          // the model failed, not the photos: their descriptors are kept and the next run tries the vectors again
          inferenceFailed = true;
          report.inferenceErrors.push((err as Error).message.split('\n')[0] ?? 'inference failed');
        }
      }
      for (const p of batch) {
        prepared.push(p);
        if (!p.ok || (inferenceFailed && model)) report.failed++;
        else {
          report.embedded++;
          if (!model && spec) report.descriptorOnly++;
        }
      }
      done += batch.length;
      onProgress({ stage: `embed ${set}`, done, total: todo.length });
      if (vectors.length >= run.partSize || prepared.length >= run.partSize) await flush();
    });
  if (spec) await pass(withModel, spec);
  await pass(descriptorOnly, null);
  await flush();
  return { report, seconds: (performance.now() - t1) / 1000 };
}

/** The note for the user when no model runs. */
function noteOf(resolved: unknown, model: string | undefined): string | null {
  if (resolved) return null;
  return model === 'none'
    ? 'descriptor only (--model none)'
    : 'no ONNX image model found in models/ or ../shared/models/: only the pixel descriptor was computed. ' +
        'Fetch a model with: flux models fetch clip-vit-b32 (needs internet), then run flux embed again.';
}

/** The embed options checked (each bad one named), before any work. */
export function embedSettings(options: EmbedOptions): {
  batchSize: number;
  partSize: number;
  viewCount: number;
  workers: number;
} {
  return {
    batchSize: checkInt('--batch-size', options.batchSize ?? 16, 1, 1024),
    partSize: checkInt('--part-size', options.partSize ?? 1024, 1, 1_000_000),
    viewCount: checkInt('--views', options.views ?? 0, 0, 32),
    workers: checkInt('decodeWorkers', options.decodeWorkers ?? availableParallelism(), 1, 64),
  };
}

/**
 * Embeds what has no vector yet, in an open database (which stays open: the caller closes it). Stages below the
 * pipeline take their settings as options: the number of decoding workers comes from the caller.
 */
export async function embed(db: Db, options: EmbedOptions = {}): Promise<EmbedReport> {
  const t0 = performance.now();
  const { batchSize, partSize, viewCount, workers } = embedSettings(options);
  const resolved = resolveModel(options.model);
  const onProgress = throttle(options.onProgress);
  let model: InferenceWorker | null = null;
  let pool = null as PreparePool | null;
  try {
    await ensureSchema(db);
    const workspace = await workspaceOf(db);
    // loaded once here to check the file (a clear message naming it); it runs in a thread of its own
    // and to choose the execution provider, which the thread then uses as it is
    let provider: Provider | null = null;
    if (resolved) {
      const checked = await OnnxImageModel.load(resolved.spec, resolved.path, 1, options.provider ?? 'auto');
      provider = checked.provider;
      await checked.close();
    }
    const inference = (): InferenceWorker => {
      const { spec, path } = resolved as { spec: ModelSpec; path: string };
      return (model ??= new InferenceWorker(spec, path, provider as Provider));
    };
    pool = new PreparePool(workers);
    const spec = resolved?.spec ?? null;
    const limit = options.limit ?? Infinity;
    const run: EmbedRun = { db, workspace, spec, pool, inference, batchSize, partSize, limit, onProgress };
    const sets: EmbedSetReport[] = [];
    let steady = 0;
    for (const set of options.sets ?? (Object.keys(VECTOR_SETS) as VectorSet[])) {
      const { report, seconds } = await embedSet(run, set);
      sets.push(report);
      steady += seconds;
    }
    const { written: views, failures: viewFailures } =
      spec && viewCount > 0 ? await embedViews(run, spec, viewCount, options.seed ?? 7) : { written: 0, failures: [] };
    return {
      model: spec?.id ?? null,
      modelPath: resolved?.path ?? null,
      provider,
      workspace,
      sets,
      views,
      viewFailures,
      seconds: (performance.now() - t0) / 1000,
      embedSeconds: steady,
      note: noteOf(resolved, options.model),
    };
  } finally {
    await pool?.close();
    await (model as InferenceWorker | null)?.close();
  }
}

/**
 * Runs jobs through the decoding pool up to PREFETCH batches ahead, handing each prepared batch, in order, to
 * `consume` (which runs the model and writes): the workers keep decoding while the model runs.
 */
async function pipelined(
  pool: PreparePool,
  workspace: string,
  jobs: ReadonlyArray<{ item: Item; view: number }>,
  batchSize: number,
  preprocessing: Preprocessing | null,
  augmentSeed: number | null,
  consume: (batch: Prepared[], tensors: Float32Array) => Promise<void>,
): Promise<void> {
  const PREFETCH = 4;
  const slot = preprocessing ? 3 * preprocessing.size * preprocessing.size : 0;
  // batch buffers shared with the workers, who write each tensor into its slot: no copies, nothing for the GC
  const free: SharedArrayBuffer[] = [];
  const take = (): SharedArrayBuffer => free.pop() ?? new SharedArrayBuffer(Math.max(4, batchSize * slot * 4));
  type Pending = { buffer: SharedArrayBuffer; ready: Promise<Prepared[]> };
  const prepare = (batch: ReadonlyArray<{ item: Item; view: number }>): Pending => {
    const buffer = take();
    const ready = Promise.all(
      batch.map(async ({ item, view }, i): Promise<Prepared> => {
        const augment = augmentSeed === null ? undefined : { seed: augmentSeed, id: item.id, view };
        const r = await pool.prepare(
          join(workspace, item.preview),
          preprocessing,
          augment,
          slot ? { buffer, offset: i * slot } : undefined,
        );
        return r.ok
          ? { item, view, ok: true, descriptor: r.descriptor }
          : { item, view, ok: false, message: `preview ${item.preview}: ${r.message}` };
      }),
    );
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

/**
 * Augmented views 1..n of the training photos (session split). Validation and test photos are never augmented.
 * Each view's random choices come from the seed, the photo and the view number, so a resumed run makes the same views.
 */
async function embedViews(
  run: EmbedRun,
  spec: ModelSpec,
  n: number,
  seed: number,
): Promise<{ written: number; failures: EmbedReport['viewFailures'] }> {
  const { db, workspace, onProgress } = run;
  const hasSplit = await tableExists(db, 'dataset_split');
  if (!hasSplit || Number(await db.value(`SELECT count(*) FROM dataset_split WHERE scheme = 'session'`)) === 0) {
    throw new FluxError(
      '--views: augmented views are for the training split only, and there is no split yet: ' +
        'run flux dataset --db FILE first',
    );
  }
  const items = await db.all<Item>(`SELECT p.photo_id AS id, p.preview
    FROM photos p JOIN dataset_split s USING (photo_id)
    WHERE s.scheme = 'session' AND s.split = 'train' AND p.preview IS NOT NULL ORDER BY 1`);
  const have = await storedKeys(db, workspace, spec.id, 'photos');
  const todo = items
    .flatMap((item) => Array.from({ length: n }, (_, v) => ({ item, view: v + 1 })))
    .filter((x) => !have.has(`${x.item.id}:${x.view}`));
  let rows: Array<{ id: number; view: number; vector: Float32Array }> = [];
  let written = 0;
  let done = 0;
  const failures: EmbedReport['viewFailures'] = [];
  const flush = async (): Promise<void> => {
    const augment = 'hflip, crop 200/224 centred within 2%, brightness/contrast +-0.1 (luminance), rotation +-1 deg';
    if (rows.length) await writePart(db, workspace, spec, 'photos', rows, { augment_seed: String(seed), augment });
    written += rows.length;
    rows = [];
  };
  onProgress({ stage: 'embed views', done: 0, total: todo.length });
  await pipelined(run.pool, workspace, todo, run.batchSize, spec.preprocessing, seed, async (prepared, tensor) => {
    const ready = prepared.filter((p) => p.ok);
    for (const p of prepared)
      if (!p.ok)
        failures.push({ id: p.item.id, view: p.view, preview: p.item.preview, message: p.message ?? 'failed' });
    if (ready.length) {
      const out = await run.inference().run(tensor, ready.length);
      ready.forEach((p, i) =>
        rows.push({
          id: p.item.id,
          view: p.view,
          vector: out.embedding.slice(i * spec.dim, (i + 1) * spec.dim),
        }),
      );
    }
    done += prepared.length;
    onProgress({ stage: 'embed views', done, total: todo.length });
    if (rows.length >= run.partSize) await flush();
  });
  await flush();
  return { written, failures };
}
