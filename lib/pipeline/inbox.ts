/**
 * `flux score --inbox DIR`: the new photos of an inbox folder are ingested and embedded into the workspace (the
 * inbox is only read), scored with the keeper model into `inbox_scores`, and listed in an HTML page with
 * thumbnails. The database is opened once for the whole flow.
 */
import { join } from 'node:path';
import { Db } from '../db/duckdb.js';
import { archiveRoots, workspaceOf } from '../db/schema.js';
import { ingest } from '../1-ingest/ingest.js';
import { embed } from '../2-embed/embed.js';
import { detect } from '../2-detect/detect.js';
import { DETECTORS, type DetectorName, runtimeOf } from '../2-detect/models.js';
import { examinedModels } from '../db/detections.js';
import { usesPeople } from '../4-dataset/rows.js';
import { peopleBoxes, runFamily } from '../4-dataset/people.js';
import { FluxError } from '../util/check.js';
import { decodeWorkers, onnxProvider } from './stages.js';
import type { ProviderChoice } from '../onnx/runtime.js';
import { currentModelDir, loadKeeperModel } from '../5-rank/model-file.js';
import { inboxHtml } from '../6-score/inbox-page.js';
import { countBands, scoreInboxSet, type ScoreReport } from '../6-score/score.js';
import { assertOutsideArchive, checkDir, checkOutFile, writeFileAtomic } from '../util/fsutil.js';
import type { OnProgress } from '../util/progress.js';
import type { KeeperModel } from '../5-rank/model-file.js';

/**
 * A keeper model trained with the people columns needs them for the inbox too: the detectors that examined the
 * corpus run on the inbox photos they have not seen (resumable, like flux detect). Without the detector files the
 * inbox is refused in one line, not scored with every people column unknown.
 */
export async function detectInbox(db: Db, model: KeeperModel, onProgress?: OnProgress): Promise<DetectorName[]> {
  if (!usesPeople(model.featureSet)) return [];
  const ids = await examinedModels(db, 'photos');
  const used = new Set(ids.map(runFamily));
  const names = DETECTORS.filter((n) => used.has(n));
  // the runtime the corpus was examined on, so the inbox's detections carry the same model ids
  const runtime = ids.some((id) => runtimeOf(id) === 'onnx') ? 'auto' : 'tfjs';
  if (!names.length) {
    throw new FluxError(
      `keeper model ${model.id} uses the people columns (${model.featureSet}) but no detector has examined the ` +
        'corpus: run flux detect, then flux train again',
    );
  }
  try {
    await detect(db, { sets: ['inbox'], models: names, runtime, onProgress });
  } catch (err) {
    if (!(err instanceof FluxError)) throw err;
    throw new FluxError(
      `keeper model ${model.id} uses the people columns (${model.featureSet}), so the inbox needs ` +
        `${names.join(' and ')} before scoring: ${err.message}`,
    );
  }
  return names;
}

export interface InboxOptions {
  db: string;
  /** The folder of new photos (only read). */
  inbox: string;
  /** The keeper model folder (default: the one the last `flux train` recorded). */
  modelDir?: string;
  /** The inbox page (default `<workspace>/reports/inbox.html`). */
  out?: string;
  /** Image decoding workers of the inbox's embedding; default FLUX_DECODE_WORKERS, else one per core. */
  decodeWorkers?: number;
  /**
   * The ONNX Runtime execution provider of the inbox's embedding and scoring; default FLUX_ONNX_PROVIDER, else auto.
   */
  provider?: ProviderChoice;
  onProgress?: OnProgress;
}

/** Ingests, embeds and scores the photos of an inbox folder, and writes the inbox page. */
export async function scoreInbox(options: InboxOptions): Promise<ScoreReport> {
  const t0 = performance.now();
  const inbox = checkDir('--inbox', options.inbox);
  const provider = options.provider ?? onnxProvider();
  const db = await Db.openIndex(options.db);
  try {
    // the inbox recorded last time may be another folder: this one is the inbox now; where the archive is: never
    // written, and neither is the inbox
    const roots = { ...(await archiveRoots(db)), inbox };
    const dir = await currentModelDir(db, options.modelDir);
    const model = loadKeeperModel(dir);
    const workspace = await workspaceOf(db);
    const out = checkOutFile('--out', options.out ?? join(workspace, 'reports', 'inbox.html'), 'inbox.html');
    assertOutsideArchive('--out', out, roots);
    assertOutsideArchive('--db', db.file, roots);
    assertOutsideArchive('workspace', workspace, roots);
    await ingest(db, { inbox, workspace, onProgress: options.onProgress });
    await embed(db, {
      sets: ['inbox'],
      model: model.embeddingModel ?? 'none',
      decodeWorkers: options.decodeWorkers ?? decodeWorkers(),
      provider,
      onProgress: options.onProgress,
    });
    await detectInbox(db, model, options.onProgress);
    const r = await scoreInboxSet(db, model, dir, provider);
    // the detected people and faces, for the page's overlay (photos no detector examined have none)
    const boxes = await peopleBoxes(db, 'inbox');
    const items = r.items.map((i) => (boxes.has(i.id) ? { ...i, people: boxes.get(i.id) } : i));
    writeFileAtomic(out, inboxHtml(items, r.skipped, model, workspace, inbox, r.threshold));
    return {
      model: model.id,
      threshold: r.threshold.value,
      thresholdSource: r.threshold,
      modelDir: dir,
      provider: r.provider,
      set: 'inbox',
      counts: countBands(r.scored),
      html: out,
      skipped: r.skipped,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    db.close();
  }
}
