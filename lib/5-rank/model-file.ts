/**
 * The keeper model file: `models/keeper-<id>/` holds config.json, weights.json, calibration.json, metrics.json and
 * model.onnx. Training writes it; scoring, the ONNX export and the report read it. The database records which
 * folder the last training wrote (see lib/db/models.ts).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Db } from '../db/duckdb.js';
import { recordedModelDir } from '../db/models.js';
import type { FeatureSet, PeopleRuns } from '../4-dataset/rows.js';
import { FluxError } from '../util/check.js';
import { writeFileAtomic } from '../util/fsutil.js';
import { plural } from '../util/text.js';
import type { CalibrationChoice } from './calibrate.js';
import { scorerGraph } from './graph.js';
import type { Arch, Hyper, ScorerParams } from './scorers.js';

/** Saved keeper model: everything `flux score` and the ONNX export need. */
export interface KeeperModel {
  id: string;
  arch: Arch;
  featureSet: FeatureSet;
  embeddingModel: string | null;
  seed: number;
  /** The seed of the split by walk it was trained, calibrated and tested on (absent in older models). */
  splitSeed?: number;
  /**
   * The pixel descriptor version of the rows it was trained on (lib/db/vectors.ts), with descriptor columns; absent
   * in models trained before versions were recorded (version 1) and in models without those columns.
   */
  descriptorVersion?: number;
  hyper: Partial<Hyper>;
  backend: string;
  scheme: string;
  names: string[];
  dim: number;
  standardizer: { mean: number[]; std: number[] };
  params: ScorerParams;
  calibration: CalibrationChoice;
  threshold: { rule: string; value: number | null };
  createdAt: string;
  /**
   * With the people columns: the detector runs they were read from. Scoring reads the same person model's columns
   * (absent in models saved before it was kept: the preferred model that ran).
   */
  people?: PeopleRuns;
}

/** Writes `keeper-<id>/`: config.json, weights.json, calibration.json, metrics.json, model.onnx. */
export function saveModel(dir: string, model: KeeperModel, metrics: unknown): void {
  mkdirSync(dir, { recursive: true });
  const { params, standardizer, calibration, ...config } = model;
  const configJson = {
    ...config,
    names: undefined,
    columns: model.names.length,
    calibration: calibration.calibration.method,
  };
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(configJson, null, 2));
  writeFileAtomic(join(dir, 'weights.json'), JSON.stringify({ names: model.names, standardizer, params }));
  writeFileAtomic(join(dir, 'calibration.json'), JSON.stringify(calibration, null, 2));
  const finite = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
  writeFileAtomic(join(dir, 'metrics.json'), JSON.stringify(metrics, finite, 2));
  writeFileAtomic(join(dir, 'model.onnx'), modelGraph(model));
}

/** Whether a folder name is one flux train writes a model into (`keeper-<id>`). */
const isModelFolder = (name: string): boolean => name.startsWith('keeper-');

/** Loads a saved keeper model folder. */
export function loadKeeperModel(dir: string): KeeperModel {
  const need = ['config.json', 'weights.json', 'calibration.json'];
  for (const f of need) {
    if (existsSync(join(dir, f))) continue;
    // the folder flux train writes into (--models-dir) holds one folder per model: name one of those
    const models = existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir).filter(isModelFolder) : [];
    if (models.length > 0) {
      const newest = models
        .map((m) => ({ m, t: statSync(join(dir, m)).mtimeMs }))
        .sort((a, b) => b.t - a.t || a.m.localeCompare(b.m))[0]?.m as string;
      throw new FluxError(
        `--model-dir: ${dir} is a folder flux train writes models into (${plural(models.length, 'model')} there); ` +
          `name one model's folder, such as ${join(dir, newest)} (the newest), or leave --model-dir out for the ` +
          'current model',
      );
    }
    throw new FluxError(`--model-dir: ${join(dir, f)} not found; train a model with flux train first`);
  }
  const read = <T>(f: string): T => {
    try {
      return JSON.parse(readFileSync(join(dir, f), 'utf8')) as T;
    } catch (err) {
      throw new FluxError(
        `${join(dir, f)}: not a keeper model file (${(err as Error).message}); train again with flux train`,
      );
    }
  };
  const config = read<KeeperModel>('config.json');
  const weights = read<Pick<KeeperModel, 'names' | 'standardizer' | 'params'>>('weights.json');
  const calibration = read<KeeperModel['calibration']>('calibration.json');
  const broken = damaged(config, weights, calibration);
  if (broken) throw new FluxError(`${join(dir, broken.file)}: ${broken.what}; train again with flux train`);
  return { ...config, ...weights, calibration };
}

/** The first part of a model's files that is not what flux train writes, with the file it is in. */
function damaged(
  config: Partial<KeeperModel>,
  weights: Partial<Pick<KeeperModel, 'names' | 'standardizer' | 'params'>>,
  calibration: Partial<KeeperModel['calibration']>,
): { file: string; what: string } | null {
  const numbers = (a: unknown, n: number): boolean =>
    Array.isArray(a) && a.length === n && a.every((v) => typeof v === 'number' || v === null);
  const names = weights?.names;
  if (typeof config?.id !== 'string' || typeof config.arch !== 'string' || typeof config.featureSet !== 'string')
    return { file: 'config.json', what: 'no model id, learner or feature set' };
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))
    return { file: 'weights.json', what: 'no list of column names' };
  if (config.dim !== names.length)
    return { file: 'config.json', what: `${config.dim} columns, but weights.json names ${names.length}` };
  const std = weights.standardizer;
  if (!std || !numbers(std.mean, names.length) || !numbers(std.std, names.length))
    return { file: 'weights.json', what: `no standardisation of its ${names.length} columns` };
  if (!weights.params || typeof weights.params !== 'object') return { file: 'weights.json', what: 'no weights' };
  const method = calibration?.calibration?.method;
  if (method !== 'platt' && method !== 'isotonic') return { file: 'calibration.json', what: 'no calibration curve' };
  return null;
}

/** The model's ONNX graph (features in, keeper score out). */
export function modelGraph(model: KeeperModel): Uint8Array {
  const std = { mean: Float32Array.from(model.standardizer.mean), std: Float32Array.from(model.standardizer.std) };
  return scorerGraph(model.dim, std, model.params, model.calibration.calibration, {
    keeper_model: model.id,
    arch: model.arch,
    feature_set: model.featureSet,
    embedding_model: model.embeddingModel ?? '',
    seed: String(model.seed),
    ...(model.splitSeed !== undefined ? { split_seed: String(model.splitSeed) } : {}),
    ...(model.descriptorVersion !== undefined ? { descriptor_version: String(model.descriptorVersion) } : {}),
    feature_names: model.names.filter((n) => !/^v\d+$/.test(n)).join(','),
  });
}

/** The keeper model named by `--model-dir`, else the one the last `flux train` recorded in the database. */
export async function currentModelDir(db: Db, dir?: string): Promise<string> {
  if (dir) return resolve(dir);
  const recorded = await recordedModelDir(db, 'keeper_model');
  if (!recorded)
    throw new FluxError(`${db.file}: no keeper model yet; run flux train --db ${db.file} first (or pass --model-dir)`);
  if (!existsSync(join(recorded, 'config.json'))) {
    throw new FluxError(
      `${db.file}: the keeper model the last flux train recorded, ${recorded}, is gone; ` +
        `run flux train --db ${db.file} again (or pass --model-dir)`,
    );
  }
  return recorded;
}
