/**
 * What `flux train` returns and saves in metrics.json: every ranker's figures, the winner and how it was chosen, the
 * all-walks comparison, the photo-level split check, the threshold and the data it all rests on.
 */
import type { CalibrationChoice, TradeoffPoint } from './calibrate.js';
import type { AllWalks } from './compare.js';
import type { CandidateResult } from './fit.js';
import type { RuleEvidence } from './decide.js';
import type { ControlsReading } from './controls.js';
import type { CalibrationMetrics } from './calibration-metrics.js';
import type { TimeForward } from './time-forward.js';
import type { Metrics, ReliabilityBin } from './metrics.js';
import type { DecisionCounts } from '../4-dataset/rows.js';

/** What surfacing every photo scoring at least the threshold does on held-out rows. */
export interface ThresholdOutcome {
  surfaced: number;
  budget: number;
  precision: number | null;
  recall: number | null;
}

/** How much of the corpus a person detector has examined, and whether the people columns joined the comparison. */
export interface PeopleCoverage {
  examined: number;
  corpus: number;
  compared: boolean;
}

/** Counts of the data the comparison rests on. */
export interface TrainCounts {
  rows: number;
  photos: number;
  keepers: number;
  train: number;
  val: number;
  test: number;
  testKeepers: number;
  keeperRate: number;
  missingVector: number;
  /** The person detector's coverage of the corpus (absent in reports saved before it was kept). */
  people?: PeopleCoverage;
  /**
   * The photographer's review decisions learned from (training rows of their own, weighted), and those left out
   * (the archive holds the photo; no features). Absent when there are none.
   */
  decisions?: DecisionCounts;
}

export interface TrainReport {
  id: string;
  dir: string;
  backend: string;
  seed: number;
  embeddingModel: string | null;
  /**
   * Said when the vectors trained on are of a model whose file is not on this machine: scoring a new inbox embeds it
   * with that model (absent in reports saved before).
   */
  embeddingNote?: string | null;
  winner: CandidateResult;
  results: CandidateResult[];
  /** How the winner was chosen. */
  selection: string;
  /** The decision rule's evidence and decision (compare), or null (one architecture, or no keeper scored). */
  rule: RuleEvidence | null;
  /**
   * The positive controls' outcomes recorded by the controls bench (bench/controls.json), printed beside the rule's
   * decision; null without a rule, absent in reports saved before they were kept.
   */
  controls?: ControlsReading | null;
  /** The chosen model and the baseline trained on the earlier years, tested on the latest (null with one year). */
  timeForward: TimeForward | null;
  /** The chosen model's calibration on the test walks (log-loss, Brier, slope, equal-mass reliability, bands). */
  calibrationTest: CalibrationMetrics;
  /**
   * The chosen architecture, logistic regression (same features) and the metadata-only model scored out of fold over
   * every walk, with session-bootstrap intervals, and the chosen one's AP minus each baseline's (paired bootstrap).
   */
  allWalks: AllWalks | null;
  /**
   * The saved model's test metrics when it is not the fit the comparison assessed: a learner without early stopping
   * is refitted on the training and validation walks (null otherwise; absent in reports saved before).
   */
  savedTest?: Metrics | null;
  /**
   * The saved model's calibration when, once the test walks had judged the recipe, the learner was refitted on every
   * walk (test walks too) and calibrated on out-of-fold scores of every walk; null when the saved model is the one
   * the test figures describe (absent in reports saved before).
   */
  everyWalk?: CalibrationChoice | null;
  /**
   * The test walks' raw scores and calibrated probabilities by the model the test figures describe, by photo id (in
   * memory only, not in metrics.json: what a benchmark judges the test walks by when the saved model learned them).
   */
  testScores?: { ids: number[]; raw: number[]; prob: number[] };
  /** The winner retrained on the photo-level split: its test AP there against the honest split's. */
  photoSplit: { ap: Metrics['ap']; sessionAp: Metrics['ap'] } | null;
  /**
   * The auto-surface threshold: chosen on the validation walks (`point`), and what it does on the test walks, which
   * had no say in it (`test`: the share surfaced, and the precision and recall there).
   */
  threshold: { rule: string; point: TradeoffPoint | null; test?: ThresholdOutcome | null };
  /** The winner's reliability on the test split (calibrated scores, 10 bins). */
  reliability: ReliabilityBin[];
  /** Its precision / recall / budget trade-off on validation (at most 200 thresholds). */
  tradeoff: TradeoffPoint[];
  data: TrainCounts;
  /** The split by walk: the seed it was made with (a stored split keeps its own), and what kept it current. */
  split: { seed: number; note: string | null };
  seconds: number;
  /** Photos per band after the rescore (null when not rescored). */
  scored: Record<string, number> | null;
}
