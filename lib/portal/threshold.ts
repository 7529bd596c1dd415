/**
 * The auto-surface threshold from the photographer's own review: precision and recall of the keeper score against
 * his keep/reject decisions on the inbox, the lowest threshold whose precision reaches the target, and what it
 * would ask of him: photos surfaced per 1,000 new ones. Refitted when the decisions pause and written to the database
 * (`meta` key `surface_threshold`) and to `<workspace>/calibration/surface-threshold.json`, where `flux score` can
 * read it (`readSurfaceCalibration` in lib/db/decisions.ts).
 */
import { setMeta } from '../db/corpus.js';
import { join } from 'node:path';
import type { Db } from '../db/duckdb.js';
import { tableColumns } from '../db/table.js';
import { chooseThreshold, tradeoff, type TradeoffPoint } from '../5-rank/calibrate.js';
import { writeFileAtomic } from '../util/fsutil.js';
import { SURFACE_THRESHOLD_KEY, type SurfaceCalibration } from '../db/decisions.js';

/** Fewer decisions than this (or kept photos) give no threshold: too few to say anything. */
export const MIN_DECISIONS = 20;
export const MIN_KEEPS = 3;
export const TARGET_PRECISION = 0.8;

export interface ThresholdFit {
  calibration: SurfaceCalibration;
  /** Precision and recall at every distinct score among the decided photos, highest first. */
  curve: TradeoffPoint[];
}

/**
 * Fits the threshold on the decisions so far (scored photos only; failures and unscored ones are left out), held
 * out: a decision made before the scoring model trained was one of its training rows, and its score would flatter
 * the model, so only decisions made since count (all of them for scores of a model without a training time).
 */
export async function fitSurfaceThreshold(db: Db, targetPrecision = TARGET_PRECISION): Promise<ThresholdFit> {
  const hasDecisions = (await tableColumns(db, 'review_decisions')).length > 0;
  const scoreColumns = await tableColumns(db, 'inbox_scores');
  const hasScores = scoreColumns.length > 0;
  // scores written before the scores recorded their model's training time: every decision counts
  const trainedAt = scoreColumns.includes('model_trained_at') ? 's.model_trained_at' : 'NULL';
  const all =
    hasDecisions && hasScores
      ? await db.all<{ s: number; kept: boolean; trained: boolean }>(`SELECT s.keeper_score AS s,
      d.decision = 'keep' AS kept, coalesce(d.decided_at <= ${trainedAt}, false) AS trained
    FROM review_decisions d JOIN inbox_photos p ON p.inbox_id = d.photo_id JOIN inbox_scores s ON s.path = p.path
    WHERE s.keeper_score IS NOT NULL AND s.band NOT IN ('failure', 'keeper')`)
      : [];
  const rows = all.filter((r) => !r.trained);
  const scores = hasScores
    ? (
        await db.all<{ s: number }>(`SELECT keeper_score AS s FROM inbox_scores
    WHERE keeper_score IS NOT NULL AND band NOT IN ('failure', 'keeper')`)
      ).map((r) => r.s)
    : [];
  const model = hasScores ? await db.value<string>('SELECT max(keeper_model) FROM inbox_scores') : null;
  const prob = rows.map((r) => r.s);
  const y = rows.map((r) => (r.kept ? 1 : 0));
  const keeps = y.reduce((a: number, b) => a + b, 0);
  const rule = `lowest threshold with precision >= ${targetPrecision} against the photographer's decisions`;
  const base = {
    rule,
    decisions: rows.length,
    trainedOn: all.length - rows.length,
    keeps,
    rejects: rows.length - keeps,
    inboxPhotos: scores.length,
    model,
    fittedAt: new Date().toISOString(),
  };
  const curve = tradeoff(prob, y);
  if (rows.length < MIN_DECISIONS || keeps < MIN_KEEPS) {
    const note =
      `${rows.length} decisions on scored photos (${keeps} kept) so far` +
      (base.trainedOn ? ` since the model trained on ${base.trainedOn} earlier ones` : '') +
      `; the threshold is fitted from ${MIN_DECISIONS} decisions with at least ${MIN_KEEPS} kept`;
    return {
      calibration: { ...base, threshold: null, precision: null, recall: null, reviewPer1000: null, note },
      curve,
    };
  }
  const point = chooseThreshold(prob, y, { targetPrecision });
  if (!point) {
    const note = `no threshold reaches precision ${targetPrecision} on these decisions; nothing would be surfaced`;
    return {
      calibration: { ...base, threshold: null, precision: null, recall: null, reviewPer1000: null, note },
      curve,
    };
  }
  const surfaced = scores.filter((s) => s >= point.threshold).length;
  const reviewPer1000 = scores.length ? (1000 * surfaced) / scores.length : null;
  return {
    calibration: {
      ...base,
      threshold: point.threshold,
      precision: point.precision,
      recall: point.recall,
      reviewPer1000,
      note: null,
    },
    curve,
  };
}

/** Writes the calibration to the database and beside the workspace's other outputs; returns the file. */
export async function writeSurfaceCalibration(
  db: Db,
  workspace: string,
  calibration: SurfaceCalibration,
): Promise<string> {
  const text = JSON.stringify(calibration, null, 2);
  await setMeta(db, SURFACE_THRESHOLD_KEY, text);
  const file = join(workspace, 'calibration', 'surface-threshold.json');
  writeFileAtomic(file, `${text}\n`);
  return file;
}

/** Refits and writes the calibration; returns the fit. */
export async function refitSurfaceThreshold(db: Db, workspace: string): Promise<ThresholdFit> {
  const fit = await fitSurfaceThreshold(db);
  await writeSurfaceCalibration(db, workspace, fit.calibration);
  return fit;
}
