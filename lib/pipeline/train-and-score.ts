/**
 * Train then score: `flux train` trains and compares the rankers, saves the chosen keeper model, and rescores every
 * photo with it, so `photos.keeper_score` always comes from the current model. Also `flux score` on the corpus.
 * Opens the database once; fills the models folder and the TensorFlow.js backend from the environment.
 */
import { join, resolve } from 'node:path';
import { Db } from '../db/duckdb.js';
import { checkTrainOptions, train, type TrainOptions, type TrainReport } from '../5-rank/train.js';
import type { BackendName } from '../tfjs/backend.js';
import { score, type ScoreOptions, type ScoreReport } from '../6-score/score.js';
import { projectRoot } from '../util/project.js';
import { env } from './env.js';
import { onnxProvider } from './stages.js';

/** The folder for keeper models: the one given, else FLUX_MODELS, else `<project>/models`. */
export function modelsRoot(dir?: string): string {
  return resolve(dir ?? env('models') ?? join(projectRoot(), 'models'));
}

export interface TrainAndScoreOptions extends Omit<TrainOptions, 'modelsDir' | 'modelsDirOption'> {
  db: string;
  /** Folder that receives `keeper-<id>/` (default FLUX_MODELS or `<project>/models`). */
  modelsDir?: string;
  /** Rescore every photo with the new model (default true). */
  score?: boolean;
}

/** The stage options of `flux train` from the pipeline's: the models folder and the backend filled in. */
export function trainOptions(options: Omit<TrainAndScoreOptions, 'db' | 'score'>): TrainOptions {
  return {
    ...options,
    modelsDir: modelsRoot(options.modelsDir),
    modelsDirOption: options.modelsDir !== undefined ? '--models-dir' : 'the models folder',
    backend: options.backend ?? (env('tfBackend') as BackendName | undefined),
  };
}

/**
 * Runs the comparison (or one architecture), saves the chosen model, and (unless `score: false`) rescores every
 * photo with it.
 */
export async function trainAndScore(options: TrainAndScoreOptions): Promise<TrainReport> {
  const { db: file, score: rescore, ...rest } = options;
  const stage = trainOptions(rest);
  checkTrainOptions(stage);
  // the scorer's execution provider (FLUX_ONNX_PROVIDER) checked before training, not after it
  const provider = rescore !== false ? onnxProvider() : undefined;
  const db = await Db.openIndex(file);
  try {
    const report = await train(db, stage);
    if (rescore !== false) report.scored = (await score(db, { modelDir: report.dir, provider })).counts;
    return report;
  } finally {
    db.close();
  }
}

/** `flux score` on the corpus: every photo scored with the recorded (or given) keeper model. */
export async function scorePhotos(options: ScoreOptions & { db: string }): Promise<ScoreReport> {
  const { db: file, ...rest } = options;
  const provider = rest.provider ?? onnxProvider();
  const db = await Db.openIndex(file);
  try {
    return await score(db, { ...rest, provider });
  } finally {
    db.close();
  }
}
