/**
 * Scoring rows with a saved keeper model: features in the model's column order, its ONNX graph, then the keeper and
 * failure rules (a confirmed keeper scores 1.0, a clear technical failure 0.0 with the reason) and the band.
 */
import { join } from 'node:path';
import type { Db } from '../db/duckdb.js';
import { readSurfaceCalibration } from '../db/decisions.js';
import { workspaceOf } from '../db/schema.js';
import { DESCRIPTOR_NAMES } from '../2-embed/descriptor.js';
import { loadFeatures, usesDescriptor, usesPeople, type FeatureRows } from '../4-dataset/rows.js';
import { DESCRIPTOR_VERSION } from '../db/vectors.js';
import { runFamily } from '../4-dataset/people.js';
import { columnGroup } from '../4-dataset/derived.js';
import { bandOf, type Band } from '../5-rank/calibrate.js';
import type { KeeperModel } from '../5-rank/model-file.js';
import { OnnxScorer } from '../onnx/scorer.js';
import type { Provider, ProviderChoice } from '../onnx/runtime.js';
import { FluxError } from '../util/check.js';
import { failureReason } from './failures.js';

/** The pixel descriptor of every image of a set, by id. */
export async function descriptorMap(db: Db, set: 'photos' | 'inbox'): Promise<Map<number, Record<string, number>>> {
  const cols = DESCRIPTOR_NAMES.map((n) => `"${n}"`).join(', ');
  const rows = await db.all<Record<string, number> & { id: number }>(
    `SELECT id, ${cols} FROM descriptors WHERE "set" = ?`,
    [set],
  );
  return new Map(rows.map((r) => [r.id, r]));
}

/** Features of a set in the model's column order (checked). */
export async function modelFeatures(db: Db, model: KeeperModel, set: 'photos' | 'inbox'): Promise<FeatureRows> {
  const older = descriptorMismatch(model);
  if (older) throw new FluxError(older);
  // the people columns from the person model the ranker was trained on, whichever others ran since
  const family = model.people?.personModel ? runFamily(model.people.personModel) : undefined;
  const rows = await loadFeatures(db, await workspaceOf(db), {
    set,
    featureSet: model.featureSet,
    modelId: model.embeddingModel,
    ...(family ? { personFamily: family } : {}),
  });
  // photos the person model has not examined would all score with the people columns unknown
  if (rows.ids.length && usesPeople(model.featureSet) && !rows.people?.personModel) {
    const of = family ? ` of ${family} (${model.people?.personModel})` : '';
    throw new FluxError(
      `keeper model ${model.id} uses the people columns (${model.featureSet})${of}; no ` +
        `${set === 'inbox' ? 'inbox ' : ''}photo has been through ${family ?? 'a person detector'}: run flux detect ` +
        `--db ${db.file}${family ? ` --models ${family}` : ''} first (flux score --inbox runs it)`,
    );
  }
  if (rows.ids.length && (rows.dim !== model.dim || rows.names.some((n, i) => n !== model.names[i]))) {
    throw new FluxError(columnMismatch(model, rows, set));
  }
  return rows;
}

/**
 * Why a model's columns are not the rows': a vector of another width asks for the model's embedding; columns the
 * rows no longer have (or did not have yet) ask for a model trained on today's rows.
 */
export function columnMismatch(
  model: Pick<KeeperModel, 'id' | 'dim' | 'names' | 'featureSet' | 'embeddingModel'>,
  rows: Pick<FeatureRows, 'dim' | 'names'>,
  set: 'photos' | 'inbox',
): string {
  const head = `keeper model ${model.id} expects ${model.dim} features (${model.featureSet}); the ${set} rows have ${rows.dim}`;
  const isVector = (n: string): boolean => columnGroup(n) === 'vector';
  const gone = model.names.filter((n) => !isVector(n) && !rows.names.includes(n));
  const added = rows.names.filter((n) => !isVector(n) && !model.names.includes(n));
  if (gone.length || added.length) {
    const list = (ns: string[]): string =>
      ns.slice(0, 6).join(', ') + (ns.length > 6 ? ` and ${ns.length - 6} more` : '');
    return (
      `${head}: it was trained on rows of another version` +
      (gone.length ? ` (with ${list(gone)}, which rows no longer have)` : '') +
      (added.length ? ` (without ${list(added)})` : '') +
      '; train again with flux train'
    );
  }
  return `${head}: re-embed with ${model.embeddingModel ?? 'the model it was trained with'} (flux embed), or train again`;
}

/**
 * Why a model cannot score today's descriptor columns: it was trained on rows of another pixel descriptor version,
 * whose columns (the horizon's tilt, say) measured differently; null when it was not, or reads no descriptor.
 */
export function descriptorMismatch(model: Pick<KeeperModel, 'id' | 'featureSet' | 'descriptorVersion'>): string | null {
  const trained = model.descriptorVersion ?? 1;
  if (!usesDescriptor(model.featureSet) || trained === DESCRIPTOR_VERSION) return null;
  return (
    `keeper model ${model.id} was trained on pixel descriptors of version ${trained} (${model.featureSet}); the ` +
    `rows are version ${DESCRIPTOR_VERSION}, whose columns measure differently: train again with flux train`
  );
}

export interface ScoredRow {
  id: number;
  /** The keeper score: 1.0 confirmed keeper, 0.0 failure, else the model's calibrated probability. */
  score: number | null;
  /** The model's calibrated probability whatever the rules say (ranks keepers among themselves, for drafts). */
  model: number | null;
  /** The model's raw ranking score before calibration: it orders photos an isotonic calibration ties. */
  raw: number | null;
  band: Band | 'unscored';
  reason: string | null;
  /**
   * At or above the auto-surface threshold (the portal's refitted one, else the model's); never a confirmed keeper,
   * a failure or an unscored photo.
   */
  surfaced: boolean;
}

/** How far the ONNX graph's score may lie from the TensorFlow.js model's (tested on 1,000 rows). */
export const SCORE_TOLERANCE = 1e-5;

/**
 * Whether a score reaches the auto-surface threshold. The threshold was chosen on the model's scores in double
 * precision; the ONNX graph computes in single precision and equals them within 1e-5, so a photo exactly at the
 * threshold (with isotonic calibration, a whole tied group at the top) must not fall below it by rounding.
 */
export function surfacedAt(score: number, threshold: number | null): boolean {
  return threshold !== null && score >= threshold - SCORE_TOLERANCE;
}

/** The auto-surface threshold a scoring run surfaces by, and where it comes from. */
export interface SurfaceThreshold {
  value: number | null;
  /** `decisions`: refitted by the portal on the photographer's decisions; `model`: chosen when the model trained. */
  source: 'decisions' | 'model';
  /** In words, for the command's output. */
  text: string;
}

/**
 * The threshold `flux score` surfaces by: the one the portal refitted on the photographer's review decisions
 * (`readSurfaceCalibration`) when it was fitted on this model's scores and holds a threshold, else the model's own
 * (chosen on the validation walks when it trained).
 */
export async function surfaceThreshold(db: Db, model: KeeperModel): Promise<SurfaceThreshold> {
  const cal = await readSurfaceCalibration(db);
  const own = model.threshold.value;
  const ownText = own === null ? 'none: no threshold reached its rule' : `${own.toFixed(3)}, ${model.threshold.rule}`;
  if (cal && cal.model === model.id && cal.threshold !== null && Number.isFinite(cal.threshold)) {
    return {
      value: cal.threshold,
      source: 'decisions',
      text:
        `${cal.threshold.toFixed(3)}, refitted on ${cal.decisions} review decisions (${cal.keeps} kept): ` +
        `${cal.rule}; the model's own: ${own === null ? 'none' : own.toFixed(3)}`,
    };
  }
  const why = !cal
    ? ''
    : cal.model !== model.id
      ? `; the portal's refitted threshold is for ${cal.model ?? 'no model'}, not this one`
      : '; the review decisions do not support a threshold yet';
  return { value: own, source: 'model', text: `the model's own: ${ownText}${why}` };
}

/** One photo's row from its probability, raw score, the keeper and failure rules, surfaced at `threshold`. */
export function scoredRow(
  id: number,
  p: number | null,
  r: number | null,
  keeper: boolean,
  d: Record<string, number> | undefined,
  model: KeeperModel,
  threshold: number | null,
): ScoredRow {
  if (keeper) return { id, score: 1, model: p, raw: r, band: 'keeper', reason: 'confirmed keeper', surfaced: false };
  const failure = d ? failureReason(d) : null;
  if (failure) return { id, score: 0, model: p, raw: r, band: 'failure', reason: failure, surfaced: false };
  if (p === null) {
    const reason = d ? `no ${model.embeddingModel} vector` : 'no descriptor (preview failed)';
    return { id, score: null, model: null, raw: null, band: 'unscored', reason, surfaced: false };
  }
  // 1.0 is the confirmed keepers' score: a model probability that rounds to 1 in single precision stays below it
  const score = Math.min(p, NOT_CONFIRMED_MAX);
  return {
    id,
    score,
    model: p,
    raw: r,
    band: bandOf(score),
    reason: null,
    surfaced: surfacedAt(p, threshold),
  };
}

/** The highest keeper score of a photo that is not a confirmed keeper (1.0 says confirmed). */
export const NOT_CONFIRMED_MAX = 0.9999;

/**
 * Scores feature rows through the model's ONNX graph, then applies the keeper and failure rules to the ids `all`;
 * photos scoring at least `threshold` (default: the model's own) are surfaced.
 */
export async function scoreRowsOnnx(
  dir: string,
  model: KeeperModel,
  rows: FeatureRows,
  desc: Map<number, Record<string, number>>,
  keepers: Set<number>,
  all: number[],
  provider: ProviderChoice = 'auto',
  threshold: number | null = model.threshold.value,
): Promise<{ scored: ScoredRow[]; provider: Provider }> {
  const scorer = await OnnxScorer.load(join(dir, 'model.onnx'), 0, provider);
  try {
    const empty = { prob: new Float32Array(0), raw: new Float32Array(0) };
    const { prob, raw } = rows.ids.length ? await scorer.score(rows.x, rows.dim) : empty;
    const byId = new Map(rows.ids.map((id, i) => [id, i]));
    const scored = all.map((id): ScoredRow => {
      const i = byId.get(id);
      const p = i === undefined ? null : (prob[i] as number);
      const r = i === undefined ? null : (raw[i] as number);
      return scoredRow(id, p, r, keepers.has(id), desc.get(id), model, threshold);
    });
    return { scored, provider: scorer.provider };
  } finally {
    await scorer.close();
  }
}

/** Photos per band, with the total and the number surfaced. */
export const countBands = (rows: readonly ScoredRow[]): Record<string, number> => {
  const c: Record<string, number> = { total: rows.length };
  for (const r of rows) c[r.band] = (c[r.band] ?? 0) + 1;
  c.surfaced = rows.filter((r) => r.surfaced).length;
  return c;
};
