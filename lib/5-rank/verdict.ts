/**
 * The comparison in words and as a table: which ranker was chosen and why, how it stands against the baselines on
 * the test walks and over all walks, and the threshold (what `flux train` prints and the notebook shows).
 */
import { DECISION_WEIGHTS } from '../db/decisions.js';
import { plural } from '../util/text.js';
import type { CandidateResult } from './fit.js';
import type { Estimate } from './metrics.js';
import type { Arch } from './scorers.js';
import { CHOOSABLE } from './compare.js';
import type { PeopleCoverage, TrainReport } from './train-report.js';
import { ruleText } from './decide.js';
import { controlsText } from './controls.js';
import { calibrationText } from './calibration-metrics.js';

/** A number as text with 3 decimals, or n/a (NaN is stored as null in metrics.json). */
export const n3 = (v: number | null | undefined): string =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : 'n/a';
/** An estimate's interval in words; none when its bootstrap had nothing to draw from (a single test walk). */
const hasInterval = (e: Estimate): boolean => Number.isFinite(e.lo) && Number.isFinite(e.hi);
const interval = (e: Estimate): string => (hasInterval(e) ? ` [${n3(e.lo)}, ${n3(e.hi)}]` : ' (no interval)');

/** A value with its interval, or n/a. */
export const est = (e: Estimate): string => (Number.isFinite(e.value) ? `${n3(e.value)}${interval(e)}` : 'n/a');

/** A paired AP difference in words: ahead or behind, and whether its interval leaves zero. */
export function apWord(e: Estimate | null): string {
  if (!e || !Number.isFinite(e.value)) return 'n/a';
  const sign = `${e.value >= 0 ? '+' : ''}${n3(e.value)}${interval(e)}`;
  const way = e.value > 0 ? 'ahead' : e.value < 0 ? 'behind' : 'level';
  // an interval across 0 leaves the direction to the noise
  const noise = way !== 'level' && hasInterval(e) && e.lo <= 0 && e.hi >= 0 ? ' within the noise' : '';
  return `${way}${noise} (${sign})`;
}

/** The all-walks comparison in two sentences. */
function allWalksLines(r: TrainReport): string[] {
  const a = r.allWalks;
  if (!a) return [];
  const [cw, ...base] = a.models;
  const left = a.unscored ? `; ${a.unscored} photos in walks no fold could train on left out` : '';
  return [
    `Over all walks, each held out once in ${a.folds} session folds ` +
      `(${a.keepers} keepers in ${a.photos} photos${left}), ` +
      `its out-of-fold AP is ${cw ? est(cw.ap) : 'n/a'}` +
      base.map((m) => `, ${est(m.ap)} for ${m.arch === 'metadata' ? 'the metadata-only model' : m.name}`).join('') +
      '.',
    'Difference in AP over all walks (paired session bootstrap): ' +
      `against logistic regression ${apWord(a.vsLogistic)}; ` +
      `against the metadata-only model ${apWord(a.vsMetadata)}. ` +
      (r.rule
        ? 'The decision rule saw these walks too (other folds), so this is no independent check of its choice.'
        : 'The architecture was chosen on the training and validation walks, which make up most of these folds, ' +
          'so this comparison leans its way a little.'),
  ];
}

/** Which model was saved, when it is not the one the test figures describe, in words. */
function savedModelLines(r: TrainReport): string[] {
  const lines: string[] = [];
  if (r.savedTest)
    lines.push(
      `The same learner refitted on the training and validation walks (it does not stop early, so it has no use ` +
        `for validation) has test AP ${est(r.savedTest.ap)}` +
        (r.everyWalk ? '.' : `; it is the saved model.`),
    );
  if (r.everyWalk)
    lines.push(
      `The saved model is that learner refitted on every walk, the test walks too, once they had judged it; its ` +
        `calibration is fitted on ${r.everyWalk.source ?? 'out-of-fold scores of every walk'}. The test figures ` +
        `describe the learner without the test walks.`,
    );
  return lines;
}

/** The time-forward figures in words. */
function timeForwardLines(r: TrainReport): string[] {
  const tf = r.timeForward;
  if (!tf) return [];
  return [
    `Time-forward: trained on ${tf.trainYears.join(', ')}, tested on ${tf.testYear} ` +
      `(${plural(tf.testKeepers, 'keeper')} in ${tf.testPhotos} photos): ` +
      tf.models.map((m) => `${m.name} AP ${est(m.ap)}`).join(', ') +
      (tf.difference ? `; the first minus the second ${apWord(tf.difference)}` : '') +
      '.',
  ];
}

/** Which ranker won and why, in words (the CLI and the comparison notebook print it). */
export function verdict(r: TrainReport): string {
  // a baseline of several variants is named by the figure the winner was chosen by, never by its test AP
  const chosenBy = (c: CandidateResult): number => {
    const v = r.selection === 'validation AP' ? c.valAp : (c.cv?.ap ?? c.valAp);
    return typeof v === 'number' && Number.isFinite(v) ? v : -1;
  };
  const by = (arch: Arch): CandidateResult | undefined =>
    r.results.filter((c) => c.arch === arch).sort((a, b) => chosenBy(b) - chosenBy(a))[0];
  const w = r.winner;
  // logistic regression to compare with: none when the winner is itself the one on its columns
  const lr =
    w.arch === 'logistic'
      ? undefined
      : (r.results.find((c) => c.arch === 'logistic' && c.featureSet === w.featureSet) ?? by('logistic'));
  const meta = by('metadata');
  const chance = by('chance');
  const byVal = r.selection === 'validation AP';
  const byCv = !byVal && w.cv;
  const between = r.rule?.pairing?.outcome === 'undecided';
  const figure = r.rule
    ? between
      ? ` between two contenders superior to the baseline, ${
          r.rule.pairing?.deployed === 'best' ? 'the one ahead by more than one standard error' : 'the simpler'
        } deployed`
      : ''
    : byCv
      ? ` (${n3(w.cv?.ap)}, ROC AUC ${n3(w.cv?.auc)})`
      : ` (${n3(w.valAp)})`;
  const lines = [`Chosen: ${w.name}, by ${r.selection}${figure}.`];
  // by name: a report read back from metrics.json holds copies, not the winner itself
  const others = r.results.filter((c) => CHOOSABLE.includes(c.arch) && c.name !== w.name);
  if (r.rule) lines.push(ruleText(r.rule), controlsText(r.controls));
  else if (others.length) {
    const runner = others.sort((a, b) =>
      byVal ? b.valAp - a.valAp : (b.cv?.ap ?? 0) - (a.cv?.ap ?? 0),
    )[0] as CandidateResult;
    lines.push(`Runner-up: ${runner.name} (${n3(byVal ? runner.valAp : runner.cv?.ap)}).`);
  }
  const rate = ((r.data.testKeepers / Math.max(1, r.data.test)) * 100).toFixed(1);
  // the rule's out-of-fold comparison covers every walk: the test walks' figures then describe the choice, not check it
  const testWalks = r.rule
    ? 'On the test walks (its model trained without them; the rule compared the contenders out of fold over every ' +
      'walk, these too, so this describes the choice rather than checks it)'
    : 'On the held-out test walks';
  lines.push(
    `${testWalks} its AP is ${est(w.test.ap)}` +
      (lr ? `, against ${est(lr.test.ap)} for ${lr.name}` : '') +
      (meta ? `, ${est(meta.test.ap)} for the metadata-only model` : '') +
      (chance ? ` and ${est(chance.test.ap)} for chance` : '') +
      ` (chance AP is about the test keeper rate, ${rate}%: ` +
      `${plural(r.data.testKeepers, 'keeper')} in ${r.data.test} photos).`,
  );
  const beats = (o?: CandidateResult): string =>
    !o
      ? 'n/a'
      : w.test.ap.value > o.test.ap.value
        ? !hasInterval(w.test.ap) || !hasInterval(o.test.ap)
          ? 'higher (no intervals)'
          : w.test.ap.lo > o.test.ap.hi
            ? 'yes, with intervals apart'
            : 'higher, but the intervals overlap'
        : 'no';
  const versusLr = w.arch === 'logistic' ? 'it is logistic regression' : beats(lr);
  lines.push(`Beats logistic regression on test AP: ${versusLr}; beats the metadata-only model: ${beats(meta)}.`);
  lines.push(...savedModelLines(r), ...allWalksLines(r), ...timeForwardLines(r));
  const pairAcc = w.test.session_pair_acc.value;
  const share =
    pairAcc !== null && Number.isFinite(pairAcc)
      ? `${(100 * pairAcc).toFixed(0)}% of the time`
      : 'an unknown share of the time (no test walk has both)';
  lines.push(
    `Within a walk it orders a keeper above a non-keeper ${share}; ` +
      (w.calibration?.source
        ? `calibrated by ${w.calibration.calibration.method} on ${w.calibration.source} (its test calibration below).`
        : `calibrated by ${w.calibration?.calibration.method}, its test ECE is ${est(w.test.ece)}.`),
  );
  if (r.photoSplit) {
    const gain = r.photoSplit.ap.value - r.photoSplit.sessionAp.value;
    lines.push(
      'Dealing frames to splits one by one instead of whole walks ' +
        `${gain > 0 ? 'flatters' : 'changes'} the test AP by ` +
        `${gain >= 0 ? '+' : ''}${gain.toFixed(3)} (${est(r.photoSplit.ap)} against ${est(r.photoSplit.sessionAp)}).`,
    );
  }
  if (!hasInterval(w.test.ap) && Number.isFinite(w.test.ap.value))
    lines.push('One walk holds the test photos: its figures have no interval. Treat the order of models as unsettled.');
  else if (r.data.keepers < 300)
    lines.push(`With ${r.data.keepers} keepers the intervals are wide: treat the order of close models as unsettled.`);
  return lines.join('\n');
}

/** The threshold line: where it lies on validation and what it does on the test walks. */
function thresholdLine(r: TrainReport): string {
  const p = r.threshold.point;
  const tt = r.threshold.test;
  if (!p)
    return (
      `Auto-surface threshold (${r.threshold.rule}): ` +
      'no threshold reaches the target on validation; nothing is surfaced automatically'
    );
  const onTest = tt
    ? `; on the test walks it surfaces ${tt.surfaced} photos (${(100 * tt.budget).toFixed(1)}%), ` +
      `precision ${tt.precision === null ? 'n/a' : tt.precision.toFixed(2)}, ` +
      `recall ${tt.recall === null ? 'n/a' : tt.recall.toFixed(2)}`
    : '';
  return (
    `Auto-surface threshold (${r.threshold.rule}): ${p.threshold.toFixed(3)} ` +
    `(validation precision ${p.precision.toFixed(2)}, ` +
    `recall ${p.recall.toFixed(2)}, ${(100 * p.budget).toFixed(1)}% of photos surfaced)${onTest}`
  );
}

/** What the review decisions added to the training rows. */
export function decisionsLine(d: NonNullable<TrainReport['data']['decisions']>): string {
  const left = [
    ...(d.inArchive ? [`${d.inArchive} already in the archive`] : []),
    ...(d.noFeatures ? [`${d.noFeatures} without features`] : []),
    ...(d.notInInbox
      ? [`${d.notInInbox} of photos no longer in the inbox (filed in the archive, they are labelled there)`]
      : []),
  ];
  return (
    `review decisions: ${d.keep} kept (label 1, weight ${DECISION_WEIGHTS.keep}) and ${d.reject} rejected ` +
    `(label 0, weight ${DECISION_WEIGHTS.reject}) inbox photos added to the training rows` +
    (left.length ? `; left out: ${left.join(', ')}` : '')
  );
}

/** Whether the people columns joined the comparison, and what brings them in when they did not. */
export function peopleLine(c: PeopleCoverage): string {
  const seen = `a person detector has examined ${c.examined} of ${c.corpus} corpus photos`;
  if (c.compared) return `people columns: compared (${seen})`;
  const what = c.examined === 0 ? 'no corpus photo has been through a person detector' : `${seen}, fewer than half`;
  return `people columns: not compared, ${what}; flux detect on this database examines the rest, then flux train again`;
}

/** The comparison as a text table (what the CLI prints). */
export function formatTrain(r: TrainReport): string {
  const cvCol = r.results.some((c) => c.cv);
  const d = r.data;
  const lines = [
    `backend ${r.backend}; seed ${r.seed}; embedding ${r.embeddingModel ?? 'none (pixel descriptor and context only)'}`,
    `data: ${d.photos} photos, ${d.keepers} keepers (rate ${d.keeperRate.toFixed(4)}); ` +
      `train ${d.train}, val ${d.val}, ` +
      `test ${d.test} (split by walk, seed ${r.split.seed})`,
    ...(r.split.note ? [`note: ${r.split.note}`] : []),
    ...(r.embeddingNote ? [`note: ${r.embeddingNote}`] : []),
    ...(d.people ? [peopleLine(d.people)] : []),
    ...(d.decisions ? [decisionsLine(d.decisions)] : []),
    '',
    `${'model'.padEnd(46)} ${'val AP'.padStart(6)} ${cvCol ? `${'cv AP'.padStart(6)} ` : ''} ` +
      `${'test AP [95% CI]'.padEnd(22)} ${'ROC AUC'.padEnd(22)} ${'P@36'.padStart(5)} ${'P@5%'.padStart(5)} ` +
      `${'in-walk pairs'.padEnd(22)} ${'NDCG/walk'.padStart(9)} ECE`,
  ];
  for (const c of [...r.results].sort((a, b) => b.test.ap.value - a.test.ap.value)) {
    const t = c.test;
    lines.push(
      `${(c.name + (c.name === r.winner.name ? ' *' : '')).padEnd(46)} ${n3(c.valAp).padStart(6)} ` +
        `${cvCol ? `${(c.cv ? n3(c.cv.ap) : '').padStart(6)} ` : ''} ` +
        `${est(t.ap).padEnd(22)} ${est(t.auc).padEnd(22)} ` +
        `${n3(t.p_at_36.value).padStart(5)} ${n3(t.p_at_5pct.value).padStart(5)} ` +
        `${est(t.session_pair_acc).padEnd(22)} ` +
        `${n3(t.session_ndcg.value).padStart(9)} ${n3(t.ece.value)}`,
    );
  }
  const chosen = r.rule
    ? `* chosen by ${r.selection}: the baseline unless a contender is superior to it (of several, see the rule)`
    : r.results.length > 1
      ? `* chosen among the candidates (pairwise, contrastive) by ${r.selection}`
      : '* the one model asked for (--arch)';
  lines.push('', `${chosen}. Intervals: session bootstrap, 95%.`);
  lines.push(verdict(r));
  lines.push(thresholdLine(r));
  if (r.calibrationTest) lines.push(calibrationText(r.calibrationTest, 'the test walks'));
  lines.push(`model written to ${r.dir}`);
  if (r.scored)
    lines.push(
      `photos rescored: ${Object.entries(r.scored)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  return lines.join('\n');
}
