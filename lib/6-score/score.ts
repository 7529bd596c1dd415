/**
 * `flux score`: a keeper score in [0, 1] for every photo, from the saved keeper model's ONNX graph. Confirmed
 * keepers score 1.0; clear technical failures (black or badly underexposed frames, dark frames of one colour,
 * blown-out frames, nothing in focus) score 0.0 with the reason; the rest get the calibrated probability and a band.
 * `scoreInboxSet` does the same for the inbox photos already ingested and embedded (the inbox flow, with its page,
 * is lib/pipeline/inbox.ts).
 *
 * The parts: failure rules (failures.ts), scoring rows through the graph (scoring.ts), the inbox page
 * (inbox-page.ts); the model file is lib/5-rank/model-file.ts and the score tables lib/db/models.ts.
 */
import type { Db } from '../db/duckdb.js';
import { knownInboxCopies, writeInboxScores, writePhotoScores } from '../db/models.js';
import { currentModelDir, loadKeeperModel, type KeeperModel } from '../5-rank/model-file.js';
import type { OnProgress } from '../util/progress.js';
import type { Provider, ProviderChoice } from '../onnx/runtime.js';
import type { InboxItem } from './inbox-page.js';
import {
  countBands,
  descriptorMap,
  modelFeatures,
  scoreRowsOnnx,
  surfaceThreshold,
  type ScoredRow,
  type SurfaceThreshold,
} from './scoring.js';

export interface ScoreReport {
  model: string;
  /**
   * The auto-surface threshold the photos were surfaced by (null: none): the portal's, refitted on the review
   * decisions for this model, else the model's own.
   */
  threshold: number | null;
  /** Where the threshold comes from, and in words. */
  thresholdSource: SurfaceThreshold;
  modelDir: string;
  /** The ONNX Runtime execution provider the scorer graph ran on. */
  provider: Provider;
  set: 'photos' | 'inbox';
  counts: Record<string, number>;
  /** The inbox report file. */
  html: string | null;
  skipped: Array<{ path: string; reason: string }>;
  seconds: number;
}

export interface ScoreOptions {
  /** The keeper model folder (default: the one the last `flux train` recorded). */
  modelDir?: string;
  /** The ONNX Runtime execution provider of the scorer; default `auto`, the best that loads. */
  provider?: ProviderChoice;
  onProgress?: OnProgress;
}

/** Scores every corpus photo with the keeper model and writes the scores into `photos`. */
export async function score(db: Db, options: ScoreOptions = {}): Promise<ScoreReport> {
  const t0 = performance.now();
  const dir = await currentModelDir(db, options.modelDir);
  const model = loadKeeperModel(dir);
  options.onProgress?.({ stage: 'score', done: 0, total: 1 });
  const rows = await modelFeatures(db, model, 'photos');
  const keepers = new Set(
    (await db.all<{ id: number }>('SELECT photo_id AS id FROM photos WHERE keeper')).map((r) => r.id),
  );
  const all = (await db.all<{ id: number }>('SELECT photo_id AS id FROM photos ORDER BY photo_id')).map((r) => r.id);
  const desc = await descriptorMap(db, 'photos');
  const surface = await surfaceThreshold(db, model);
  const { scored, provider } = await scoreRowsOnnx(
    dir,
    model,
    rows,
    desc,
    keepers,
    all,
    options.provider,
    surface.value,
  );
  await writePhotoScores(db, scored, model.id, dir);
  options.onProgress?.({ stage: 'score', done: 1, total: 1 });
  return {
    model: model.id,
    threshold: surface.value,
    thresholdSource: surface,
    modelDir: dir,
    provider,
    set: 'photos',
    counts: countBands(scored),
    html: null,
    skipped: [],
    seconds: (performance.now() - t0) / 1000,
  };
}

/** The inbox scored: every photo with its score, the photos skipped with the reason, and the model. */
export interface InboxScored {
  items: InboxItem[];
  scored: ScoredRow[];
  skipped: Array<{ path: string; reason: string }>;
  model: KeeperModel;
  modelDir: string;
  /** The ONNX Runtime execution provider the scorer graph ran on. */
  provider: Provider;
  /** The auto-surface threshold the photos were surfaced by. */
  threshold: SurfaceThreshold;
}

/**
 * Scores the inbox photos (ingested and embedded) with the keeper model and replaces `inbox_scores` with them. A new
 * photo that is byte for byte one the archive already holds is said to be so (the score stays the model's).
 */
export async function scoreInboxSet(
  db: Db,
  model: KeeperModel,
  dir: string,
  onnx: ProviderChoice = 'auto',
): Promise<InboxScored> {
  const rows = await modelFeatures(db, model, 'inbox');
  const photos = await db.all<{
    id: number;
    path: string;
    preview: string | null;
    captured_at: string | null;
  }>(`SELECT inbox_id AS id,
    path, preview, CAST(captured_at AS VARCHAR) AS captured_at FROM inbox_photos ORDER BY path`);
  const desc = await descriptorMap(db, 'inbox');
  const ids = photos.map((p) => p.id);
  const threshold = await surfaceThreshold(db, model);
  const { scored, provider } = await scoreRowsOnnx(dir, model, rows, desc, new Set(), ids, onnx, threshold.value);
  const known = new Map<number, string>();
  for (const k of await knownInboxCopies(db)) {
    known.set(
      k.id,
      k.kind === 'keepers'
        ? `already among the keepers as ${k.path}`
        : `already in the originals as ${k.path}${k.keeper ? ', a confirmed keeper' : ''}`,
    );
  }
  for (const r of scored) {
    const note = known.get(r.id);
    if (note) r.reason = r.reason ? `${r.reason}; ${note}` : note;
  }
  const byId = new Map(photos.map((p) => [p.id, p]));
  const pathOf = (r: ScoredRow): string => (byId.get(r.id) as { path: string }).path;
  const now = new Date().toISOString().replace('T', ' ').slice(0, 19);
  await writeInboxScores(
    db,
    scored.map((r) => ({ ...r, path: pathOf(r) })),
    { id: model.id, trainedAt: model.createdAt ?? null },
    now,
  );
  const errors = await db.all<{ path: string; reason: string }>(`SELECT path, stage || ': ' || message AS reason
    FROM ingest_errors WHERE root = 'inbox' ORDER BY path`);
  const skipped = [
    ...errors,
    ...scored.filter((r) => r.band === 'unscored').map((r) => ({ path: pathOf(r), reason: r.reason ?? 'not scored' })),
  ];
  const items = scored.map((r): InboxItem => ({ ...r, ...(byId.get(r.id) as Omit<InboxItem, keyof ScoredRow>) }));
  return { items, scored, skipped, model, modelDir: dir, provider, threshold };
}

export { countBands };
