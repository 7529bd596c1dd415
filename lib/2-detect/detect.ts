/**
 * `flux detect`: every photo, keeper file and inbox photo that a detector has not examined yet is read from the
 * preview cache (384 px on the long side; see README "People" for why that size) and run through the detectors;
 * what they find goes to `detections`, and every photo looked at, found or not, to `detections_examined`. Batches
 * land in one transaction each, so a killed run resumes where it stopped.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Db, type SqlValue } from '../db/duckdb.js';
import {
  DETECT_SETS,
  type DetectSet,
  ensureDetectionSchema,
  examinedIds,
  type Examined,
  writeExamined,
} from '../db/detections.js';
import { workspaceOf } from '../db/schema.js';
import { initBackend, type BackendName } from '../tfjs/backend.js';
import { checkInt, FluxError } from '../util/check.js';
import { throttle, type OnProgress } from '../util/progress.js';
import { type Detector, loadDetector, type RuntimeChoice, runtimeFor } from './engine.js';
import { decodeRgb } from './image.js';
import { feetShadow } from './shadow.js';
import {
  DETECTOR_SPECS,
  DETECTORS,
  type DetectorName,
  detectorDir,
  modelId,
  presentDetectors,
  type Runtime,
} from './models.js';
import type { Found, Rgb } from './run.js';

/**
 * The detectors `flux detect` runs when none are named: person boxes from centernet (the one that finds the most
 * people, on real photos and on the sample's figures; bench/people-sample.ts) and faces. Poses
 * (movenet-multipose) are asked for with --models.
 */
export const DEFAULT_DETECTORS: readonly DetectorName[] = ['centernet', 'blazeface'];

export interface DetectOptions {
  /** Detectors to run; default DEFAULT_DETECTORS. */
  models?: readonly DetectorName[];
  sets?: readonly DetectSet[];
  /** At most this many photos a set and model this run. */
  limit?: number;
  /** Folder of the detector files; default `<project>/models/detect/human-models-<version>`. */
  modelDir?: string;
  backend?: BackendName;
  /**
   * Where the detectors run: `auto` (default) ONNX Runtime for those with an ONNX conversion (centernet, nanodet,
   * blazeface; the same boxes, faster: bench/detect.ts), TF.js for movenet-multipose; or all on `tfjs`, or all on
   * `onnx`.
   */
  runtime?: RuntimeChoice;
  /**
   * Worker threads for a detector on ONNX Runtime, one photo and one core each; default one per core (at most 8).
   * 1 runs it in this thread. TF.js detectors run in this thread.
   */
  workers?: number;
  /** Photos written per transaction. */
  batchSize?: number;
  onProgress?: OnProgress;
}

export interface DetectModelReport {
  set: DetectSet;
  model: DetectorName;
  modelId: string;
  images: number;
  alreadyDone: number;
  examined: number;
  /** Photos in which the model found something at a score of 0.5 or more. */
  withFinds: number;
  failed: number;
  /** The first photos that could not be examined (path under their root) and why; all are in detections_examined. */
  failures: Array<{ path: string; reason: string }>;
}

export interface DetectReport {
  db: string;
  /** The TF.js backend, when a detector ran on TF.js. */
  backend: BackendName | null;
  /** The runtime of each detector asked for. */
  runtimes: Partial<Record<DetectorName, Runtime>>;
  modelDir: string;
  runs: DetectModelReport[];
  msPerPhoto: Partial<Record<DetectorName, number>>;
  /** Person boxes found before the cast shadow was measured that got it now (see `fillShadows`). */
  shadowsFilled: number;
  /** Of those boxes, the ones left unmeasured: their previews are gone or do not decode. */
  shadowsUnmeasured: number;
  seconds: number;
}

/** Mean luminance (Rec. 601, 0..1) of the frame, or of a box given in fractions of it. */
export function meanLuma(img: Rgb, box?: { x: number; y: number; w: number; h: number }): number {
  const x0 = box ? Math.max(0, Math.floor(box.x * img.width)) : 0;
  const y0 = box ? Math.max(0, Math.floor(box.y * img.height)) : 0;
  const x1 = box ? Math.min(img.width, Math.max(x0 + 1, Math.ceil((box.x + box.w) * img.width))) : img.width;
  const y1 = box ? Math.min(img.height, Math.max(y0 + 1, Math.ceil((box.y + box.h) * img.height))) : img.height;
  let sum = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * img.width + x) * 3;
      sum +=
        0.299 * (img.data[i] as number) + 0.587 * (img.data[i + 1] as number) + 0.114 * (img.data[i + 2] as number);
    }
  }
  return sum / Math.max(1, (x1 - x0) * (y1 - y0)) / 255;
}

function checkModels(models: readonly DetectorName[], dir: string): void {
  for (const m of models)
    if (!DETECTORS.includes(m))
      throw new FluxError(`--models: expected some of ${DETECTORS.join(', ')}, received "${m}"`);
  const present = presentDetectors(dir);
  const missing = models.filter((m) => !present.includes(m));
  if (missing.length) {
    throw new FluxError(
      `detector files missing in ${dir} (${missing.join(', ')}); ` +
        'install them from the npm registry with: flux detect --install',
    );
  }
}

interface SetWork {
  set: DetectSet;
  model: DetectorName;
  todo: Array<{ id: number; path: string; preview: string }>;
  report: DetectModelReport;
}

async function plan(
  db: Db,
  sets: readonly DetectSet[],
  models: readonly DetectorName[],
  runtimes: Partial<Record<DetectorName, Runtime>>,
  limit: number,
): Promise<SetWork[]> {
  const work: SetWork[] = [];
  for (const set of sets) {
    const { table, id } = DETECT_SETS[set];
    const items = await db.all<{ id: number; path: string; preview: string }>(
      `SELECT ${id} AS id, path, preview FROM ${table} WHERE preview IS NOT NULL ORDER BY 1`,
    );
    for (const model of models) {
      const id = modelId(model, runtimes[model]);
      const done = await examinedIds(db, set, id);
      const todo = items
        .filter((it) => !done.has(Number(it.id)))
        .slice(0, limit)
        .map((it) => ({ id: Number(it.id), path: it.path, preview: it.preview }));
      work.push({
        set,
        model,
        todo,
        report: {
          set,
          model,
          modelId: id,
          images: items.length,
          alreadyDone: items.length - items.filter((it) => !done.has(Number(it.id))).length,
          examined: 0,
          withFinds: 0,
          failed: 0,
          failures: [],
        },
      });
    }
  }
  return work;
}

/** How many failures a run names in its report. */
const SHOWN_FAILURES = 5;

/** One photo through one detector: what it found, or why it could not be read. */
async function examine(
  workspace: string,
  w: SetWork,
  item: SetWork['todo'][number],
  detector: Detector,
  time: { ms: number; n: number },
): Promise<Examined> {
  const base: Examined = {
    set: w.set,
    photoId: item.id,
    modelId: w.report.modelId,
    previewSize: null,
    frameLuma: null,
    error: null,
    found: [],
  };
  const file = join(workspace, item.preview);
  try {
    if (!existsSync(file)) throw new Error(`preview ${item.preview} is not in the workspace (run flux ingest again)`);
    const img = await decodeRgb(file).catch((err: Error) => {
      throw new Error(`its preview ${item.preview} does not decode: ${err.message}`);
    });
    const t0 = performance.now();
    const found: Found[] = await detector.detect(img);
    time.ms += performance.now() - t0;
    time.n += 1;
    w.report.examined += 1;
    if (found.some((f) => f.score >= 0.5)) w.report.withFinds += 1;
    return {
      ...base,
      previewSize: Math.max(img.width, img.height),
      frameLuma: meanLuma(img),
      found: found.map((f) => ({
        ...f,
        luma: meanLuma(img, f),
        shadow: f.kind === 'person' ? feetShadow(img, f) : null,
      })),
    };
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0] || 'unreadable';
    w.report.failed += 1;
    if (w.report.failures.length < SHOWN_FAILURES) w.report.failures.push({ path: item.path, reason });
    return { ...base, error: reason };
  }
}

/** Runs one model over the photos of one set that it has not examined yet, as many at once as it has workers. */
async function runSet(
  db: Db,
  workspace: string,
  w: SetWork,
  detector: Detector,
  batchSize: number,
  onProgress: OnProgress,
  time: { ms: number; n: number },
): Promise<void> {
  let batch: Examined[] = [];
  const stage = `detect ${w.set} (${w.model})`;
  onProgress({ stage, done: 0, total: w.todo.length });
  for (let start = 0; start < w.todo.length; start += detector.concurrency) {
    const chunk = w.todo.slice(start, start + detector.concurrency);
    batch.push(...(await Promise.all(chunk.map((item) => examine(workspace, w, item, detector, time)))));
    if (batch.length >= batchSize) {
      await writeExamined(db, batch);
      batch = [];
    }
    onProgress({ stage, done: start + chunk.length, total: w.todo.length });
  }
  await writeExamined(db, batch);
}

/** Runs the detectors over what they have not examined yet, on an open database. */
export async function detect(db: Db, options: DetectOptions = {}): Promise<DetectReport> {
  const t0 = performance.now();
  const models = options.models ?? DEFAULT_DETECTORS;
  const dir = options.modelDir ?? detectorDir();
  checkModels(models, dir);
  const limit = options.limit === undefined ? Infinity : checkInt('--limit', options.limit, 1, Number.MAX_SAFE_INTEGER);
  const batchSize = checkInt('--batch-size', options.batchSize ?? 64, 1, 100_000);
  const workers = checkInt('--workers', options.workers ?? Math.min(8, availableParallelism()), 1, 64);
  const onProgress = throttle(options.onProgress);
  const runtimes = Object.fromEntries(models.map((m) => [m, runtimeFor(m, options.runtime)]));
  const backend = models.some((m) => runtimes[m] === 'tfjs') ? await initBackend(options.backend) : null;
  const report: DetectReport = {
    db: db.file,
    backend: backend?.name ?? null,
    runtimes,
    modelDir: dir,
    runs: [],
    msPerPhoto: {},
    shadowsFilled: 0,
    shadowsUnmeasured: 0,
    seconds: 0,
  };
  {
    await ensureDetectionSchema(db);
    const workspace = await workspaceOf(db);
    const sets = options.sets ?? (Object.keys(DETECT_SETS) as DetectSet[]);
    const work = await plan(db, sets, models, runtimes, limit);
    for (const model of models) {
      const mine = work.filter((w) => w.model === model);
      const time = { ms: 0, n: 0 };
      if (mine.some((w) => w.todo.length)) {
        const detector = await loadDetector(model, runtimes[model] ?? 'tfjs', dir, { workers });
        try {
          for (const w of mine) await runSet(db, workspace, w, detector, batchSize, onProgress, time);
        } finally {
          await detector.dispose();
        }
      }
      if (time.n) report.msPerPhoto[model] = time.ms / time.n;
      report.runs.push(...mine.map((w) => w.report));
    }
    const shadows = await fillShadows(db, workspace, sets, onProgress);
    report.shadowsFilled = shadows.filled;
    report.shadowsUnmeasured = shadows.unmeasured;
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

/**
 * Person boxes found before the cast shadow was measured (`shadow` NULL, from a database older than the column) get
 * it from their photo's preview, each preview read once; a preview that is gone or does not decode leaves its boxes
 * unmeasured (their people column stays unknown), counted so the report says so. Batches land in one transaction
 * each. Returns the boxes measured and the boxes left unmeasured.
 */
export async function fillShadows(
  db: Db,
  workspace: string,
  sets: readonly DetectSet[],
  onProgress?: OnProgress,
): Promise<{ filled: number; unmeasured: number }> {
  let filled = 0;
  let unmeasured = 0;
  for (const set of sets) {
    const { table, id } = DETECT_SETS[set];
    const rows = await db.all<{
      id: number;
      preview: string;
      model_id: string;
      x: number;
      y: number;
      w: number;
      h: number;
    }>(
      `SELECT d.photo_id AS id, t.preview, d.model_id, d.x, d.y, d.w, d.h FROM detections d
        JOIN ${table} t ON t.${id} = d.photo_id
        WHERE d."set" = ? AND d.kind = 'person' AND d.shadow IS NULL AND t.preview IS NOT NULL ORDER BY 1`,
      [set],
    );
    const byPhoto = new Map<number, typeof rows>();
    for (const r of rows) {
      const boxes = byPhoto.get(Number(r.id));
      if (boxes) boxes.push(r);
      else byPhoto.set(Number(r.id), [r]);
    }
    const photos = [...byPhoto.values()];
    const stage = `detect ${set}: cast shadows of earlier boxes`;
    for (let i = 0; i < photos.length; i += 200) {
      const updates: SqlValue[][] = [];
      for (const boxes of photos.slice(i, i + 200)) {
        const first = boxes[0] as (typeof rows)[number];
        const file = join(workspace, first.preview);
        const img = existsSync(file) ? await decodeRgb(file).catch(() => null) : null;
        if (!img) {
          unmeasured += boxes.length;
          continue;
        }
        for (const b of boxes) updates.push([feetShadow(img, b), set, first.id, b.model_id, b.x, b.y, b.w, b.h]);
      }
      await db.transaction(async () => {
        for (const u of updates)
          await db.run(
            `UPDATE detections SET shadow = round(?, 5) WHERE "set" = ? AND photo_id = ? AND model_id = ?
              AND kind = 'person' AND x = ? AND y = ? AND w = ? AND h = ?`,
            u,
          );
      });
      filled += updates.length;
      onProgress?.({ stage, done: Math.min(photos.length, i + 200), total: photos.length });
    }
  }
  return { filled, unmeasured };
}

/** The report as lines for the terminal. */
export function formatDetect(r: DetectReport): string {
  const lines = r.runs.flatMap((x) => [
    `${x.set.padEnd(8)} ${x.model.padEnd(18)} ${x.images} images: ${x.alreadyDone} already examined, ` +
      `${x.examined} examined (${x.withFinds} with a find at score >= 0.5), ${x.failed} failed`,
    ...x.failures.map((f) => `  not examined: ${x.set} ${f.path}: ${f.reason}`),
    ...(x.failed > x.failures.length ? [`  and ${x.failed - x.failures.length} more (detections_examined.error)`] : []),
  ]);
  const ms = Object.entries(r.msPerPhoto)
    .map(([m, v]) => `${m} ${(v as number).toFixed(0)} ms`)
    .join(', ');
  const on = Object.entries(r.runtimes)
    .map(([m, rt]) => `${m} on ${rt === 'onnx' ? 'ONNX Runtime' : `TF.js (${r.backend})`}`)
    .join(', ');
  return [
    ...lines,
    ...(r.shadowsFilled
      ? [`cast shadows measured for ${r.shadowsFilled} person boxes found before the column existed`]
      : []),
    ...(r.shadowsUnmeasured
      ? [
          `${r.shadowsUnmeasured} person boxes left without a cast shadow: their previews are gone or do not ` +
            'decode (run flux ingest again to remake them, then flux detect)',
        ]
      : []),
    `${on}; per photo: ${ms || 'nothing run'}; detector files ${r.modelDir}`,
    `${r.seconds.toFixed(1)} s`,
  ].join('\n');
}

export { DETECTOR_SPECS };
