/**
 * How close does the pipeline come to the true keep probabilities? On a planted archive (lib/0-sample/generate.ts,
 * `planted`: every frame kept with probability sigmoid(scale * taste + bias), 3.75% expected), per seed, the
 * pipeline runs as the demo runs it (ingest with the inbox, embed, match, `flux train` with the decision rule, which
 * rescores the corpus, then `flux score --inbox`), and the scores are judged against the probabilities:
 *
 * - soft AUC ratio: the soft AUC of the ranking (raw score) over that of the true probabilities (target >= 0.9);
 * - gain share: the part of the log-loss gain the true probabilities have over a constant at the training keeper
 *   rate that the calibrated scores recover (target >= 0.5); also against a constant at the mean of p, and for the
 *   best logistic curve over the ranking fitted to p itself (the most a Platt calibration of that ranking could
 *   recover: what lies beyond it is the ranking's part).
 *
 * Both on the inbox (walks that are not in the archive) and on the held-out test walks, for the chosen model and for
 * the plain baseline (pca-logistic on the vector, trained with `--arch pca-logistic` on the same database). Nothing
 * is tuned on the inbox. The person detector (centernet, the detection stage's default) runs over the whole corpus
 * and the inbox after matching, so the rule's comparison takes the people columns in as `flux train` does on an
 * archive `flux detect` has examined (install its files once with `flux detect --install`; `--detect none` leaves
 * it out, and then the people columns too).
 *
 *   npm run build && nice -n 10 node dist/bench/planted-archive.js [--walks 150] [--seeds 1,2] [--scale 2]
 *     [--inbox-walks 20] [--frames 40] [--width 384] [--height 256] [--dir DIR] [--keep]
 *     [--also logistic:descriptor+context+people,...] [--skip-rule] [--db FILE] [--detect centernet|none]
 *     [--truth FILE] [--refit trainval|all]
 * --also judges more fixed models (one architecture on one feature set, chosen on validation) beside the rule's
 * choice and the baseline; --skip-rule leaves the rule's comparison out; --db trains on a database of that seed's
 * archive as it is (no ingest, embed or match: e.g. a copy cut to the walks a person detector has examined);
 * --detect names the detectors run over the corpus and the inbox after matching (default centernet; with --db the
 * database is taken as it is, its detections included); --truth judges against the probabilities in FILE instead of
 * the archive's own (`{ photos, inbox }`, each `[{ path, p }]`, as bench/content-taste.ts --relabel writes them for
 * the database it relabelled; photos the file does not name are not judged); --refit is `flux train --refit` (with
 * all the saved models learn the test walks too, so the test walks are judged by the model the training's test
 * figures describe, the same learner without them).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSample, type SampleResult } from '../lib/0-sample/generate.js';
import { withDb } from '../lib/db/duckdb.js';
import { calibrationText } from '../lib/5-rank/calibration-metrics.js';
import { truthFigures, type TruthFigures } from '../lib/5-rank/truth-metrics.js';
import type { TrainReport } from '../lib/5-rank/train.js';
import { scoreInbox } from '../lib/pipeline/inbox.js';
import { runDetect, runEmbed, runIngest, runMatch } from '../lib/pipeline/stages.js';
import { DETECTORS, type DetectorName, detectorDir, presentDetectors } from '../lib/2-detect/models.js';
import { trainAndScore } from '../lib/pipeline/train-and-score.js';
import { FEATURE_SETS, type FeatureSet } from '../lib/4-dataset/rows.js';
import { ARCHS, type Arch } from '../lib/5-rank/scorers.js';
import { checkChoice, FluxError, orExit } from '../lib/util/check.js';

const { values } = parseArgs({
  options: {
    walks: { type: 'string', default: '150' },
    seeds: { type: 'string', default: '1,2' },
    scale: { type: 'string', default: '2' },
    'inbox-walks': { type: 'string', default: '20' },
    frames: { type: 'string', default: '40' },
    width: { type: 'string', default: '384' },
    height: { type: 'string', default: '256' },
    dir: { type: 'string', default: join(tmpdir(), 'flux-bench-planted') },
    keep: { type: 'boolean', default: false },
    // more fixed models judged beside the rule's choice and the baseline: arch:featureSet,... (no rule, validation)
    also: { type: 'string', default: '' },
    // leave the rule's comparison out (a re-run that only judges --also and the baseline)
    'skip-rule': { type: 'boolean', default: false },
    // train on this database as it is (one seed; e.g. a copy cut to the walks a person detector has examined)
    db: { type: 'string' },
    // run these detectors over the corpus and the inbox after matching (none: no detector, no people columns)
    detect: { type: 'string', default: 'centernet' },
    // judge against these probabilities (bench/content-taste.ts --relabel) instead of the archive's own
    truth: { type: 'string' },
    // what the saved models learn from once the test walks have judged them (flux train --refit)
    refit: { type: 'string', default: 'trainval' },
  },
});
const also = String(values.also)
  .split(',')
  .filter(Boolean)
  .map((spec) => {
    const [arch, featureSet] = spec.split(':');
    return {
      arch: checkChoice('--also', arch ?? '', ARCHS),
      featureSet: checkChoice('--also', featureSet ?? '', FEATURE_SETS),
    };
  });
const seeds = String(values.seeds).split(',').map(Number);
// before any sample is made, as flux train would after it
const refit = await orExit('planted-archive', () => checkChoice('--refit', values.refit, ['trainval', 'all'] as const));
const detectors = await orExit('planted-archive', () => {
  const named = String(values.detect)
    .split(',')
    .filter((m) => m && m !== 'none')
    .map((m) => checkChoice('--detect', m, DETECTORS) as DetectorName);
  // before any sample is made: the database given must be there, and the detector files (with --db nothing is detected)
  if (values.db && !existsSync(String(values.db))) throw new FluxError(`--db: no database at ${String(values.db)}`);
  if (values.truth && !existsSync(String(values.truth))) throw new FluxError(`--truth: no file at ${values.truth}`);
  const present = values.db ? named : presentDetectors();
  const missing = named.filter((m) => !present.includes(m));
  if (missing.length)
    throw new FluxError(
      `--detect: detector files missing in ${detectorDir()} (${missing.join(', ')}); install them with ` +
        '`flux detect --install`, or run without people columns with --detect none',
    );
  return named;
});
const walks = Number(values.walks);

/** Seconds since `t0`, one decimal. */
const since = (t0: number): string => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

interface Scored {
  path: string;
  raw: number;
  q: number;
}

/**
 * The raw score and calibrated probability of every scored inbox photo (frames the failure rule set to 0 left out:
 * the inbox table keeps no model probability for them).
 */
async function readInboxScores(db: string): Promise<Scored[]> {
  const sql = `SELECT path, raw_score AS raw, keeper_score AS q FROM inbox_scores
    WHERE raw_score IS NOT NULL AND band <> 'failure'`;
  return withDb(db, (d) => d.all<Scored>(sql), { readOnly: true });
}

/**
 * The test walks as the model the training's test figures describe scored them: the saved model, or, when that
 * was refitted on every walk (test walks too), the same learner without them.
 */
async function testScores(db: string, report: TrainReport): Promise<Scored[]> {
  const t = report.testScores;
  if (!t) throw new Error('the training report holds no test-walk scores');
  const paths = new Map(
    await withDb(db, (d) => d.all<{ id: number; path: string }>('SELECT photo_id AS id, path FROM photos'), {
      readOnly: true,
    }).then((rows) => rows.map((r) => [r.id, r.path] as const)),
  );
  return t.ids.map((id, i) => ({ path: paths.get(id) as string, raw: t.raw[i] as number, q: t.prob[i] as number }));
}

/** The figures of the scored photos that the truth gives a probability. */
function judge(rows: Scored[], p: Map<string, number>, constant: number): TruthFigures {
  const known = rows.filter((r) => p.has(r.path));
  return truthFigures(
    known.map((r) => r.raw),
    known.map((r) => r.q),
    known.map((r) => p.get(r.path) as number),
    constant,
  );
}

const f3 = (v: number): string => v.toFixed(3);
// the summary's figures beside their targets: four places, so 0.8998 does not print as 0.900
const f4 = (v: number): string => v.toFixed(4);
function line(what: string, f: TruthFigures): string {
  return (
    `    ${what.padEnd(26)} ${String(f.frames).padStart(5)} frames (${f.expectedKeepers.toFixed(1)} expected keepers): ` +
    `soft AUC ${f3(f.softAuc)} / truth ${f3(f.softAucTruth)} = ratio ${f3(f.softAucRatio)}; ` +
    `log-loss ${f3(f.logLoss)} (constant ${f3(f.logLossConstant)}, truth ${f3(f.logLossTruth)}): ` +
    `gain share ${f3(f.gainShare)} (vs mean p: ${f3(f.gainShareMeanP)}; the best Platt curve of this ranking: ` +
    `${f3(f.gainShareBestPlatt)})`
  );
}

interface ModelFigures {
  name: string;
  inbox: TruthFigures;
  test: TruthFigures;
}

/** Trains one way (the comparison with the rule, or one architecture), scores the inbox, judges both sets. */
async function trainAndJudge(
  sample: SampleResult,
  db: string,
  work: string,
  label: string,
  seed: number,
  extra: { arch?: Arch; featureSet?: FeatureSet },
): Promise<ModelFigures & { report: TrainReport }> {
  const t0 = performance.now();
  const report = await trainAndScore({
    db,
    seed,
    modelsDir: join(work, `models-${label}`),
    skipPhotoSplit: true,
    allWalks: false,
    refit,
    ...extra,
  });
  const trained = since(t0);
  await scoreInbox({ db, inbox: sample.inbox, modelDir: report.dir, out: join(work, `inbox-${label}.html`) });
  const pOf = (list: Array<{ path: string; p?: number }>): Map<string, number> =>
    new Map(list.filter((x) => x.p !== undefined).map((x) => [x.path, x.p as number]));
  const constant = report.data.keeperRate;
  const inbox = judge(await readInboxScores(db), pOf(sample.truth.inbox), constant);
  const test = judge(await testScores(db, report), pOf(sample.truth.photos), constant);
  const cal = report.winner.calibration?.calibration.method ?? 'none';
  console.log(
    `  ${label}: ${report.winner.name} (${report.selection}; calibration ${cal}); trained in ${trained}, ` +
      `inbox scored, ${since(t0)} in all`,
  );
  console.log(line('inbox', inbox));
  console.log(line('test walks', test));
  if (report.calibrationTest)
    console.log(calibrationText(report.calibrationTest, 'the test walks').replace(/^/gm, '    '));
  return { name: report.winner.name, inbox, test, report };
}

/** Ingest with the inbox, embed and match: the demo's steps before training. */
async function prepare(sample: SampleResult, db: string): Promise<void> {
  let t = performance.now();
  await runIngest({ originals: sample.originals, keepers: sample.keepers, inbox: sample.inbox, db });
  const ingested = since(t);
  t = performance.now();
  await runEmbed({ db });
  const embedded = since(t);
  t = performance.now();
  const m = await runMatch({ db });
  console.log(`  ingest ${ingested}, embed ${embedded}, match ${since(t)} (${JSON.stringify(m.byStatus)})`);
  if (!detectors.length) return;
  t = performance.now();
  const d = await runDetect({ db, models: detectors });
  console.log(`  detect (${detectors.join(', ')}) ${since(t)}: ${JSON.stringify(d.msPerPhoto)} ms a photo`);
}

/** Every photo's and inbox frame's probability from `file` (none for those it does not name). */
function useTruth(sample: SampleResult, file: string): void {
  const given = JSON.parse(readFileSync(file, 'utf8')) as Record<
    'photos' | 'inbox',
    Array<{ path: string; p: number }>
  >;
  for (const set of ['photos', 'inbox'] as const) {
    if (!Array.isArray(given[set])) throw new FluxError(`--truth: ${file} has no ${set} list`);
    const p = new Map(given[set].map((t) => [t.path, t.p]));
    for (const t of sample.truth[set]) {
      if (p.has(t.path)) t.p = p.get(t.path) as number;
      else delete t.p;
    }
  }
  console.log(`  judged against the probabilities in ${file}`);
}

/** One seed: the planted archive, the pipeline, both models judged. */
async function runSeed(seed: number): Promise<ModelFigures[]> {
  const t0 = performance.now();
  const size = { frames: Number(values.frames), width: Number(values.width), height: Number(values.height) };
  const planted = { scale: Number(values.scale), inboxWalks: Number(values['inbox-walks']) };
  const sample = await generateSample({
    out: join(String(values.dir), `sample-${seed}-${walks}-${planted.scale}-${planted.inboxWalks}-${size.width}`),
    seed,
    sessions: walks,
    ...size,
    planted,
  });
  if (values.truth) useTruth(sample, String(values.truth));
  const c = sample.truth.counts;
  const pl = sample.truth.planted;
  console.log(
    `seed ${seed}: ${walks} walks, ${c.corpusPhotos} originals, ${c.corpusKeepers} keepers drawn ` +
      `(${pl?.expectedKeepers.toFixed(1)} expected, bias ${pl?.bias.toFixed(3)}), ${c.keeperFiles} keeper files, ` +
      `${c.inbox} inbox frames; sample ${sample.reused ? 'reused' : 'written'} in ${sample.seconds.toFixed(0)} s`,
  );
  // with --keep the workspace stays, and a second run reuses its previews and vectors (ingest and embed are
  // incremental)
  const work = join(String(values.dir), `work-${seed}-${walks}-${planted.scale}-${planted.inboxWalks}-${size.width}`);
  mkdirSync(work, { recursive: true });
  const db = values.db ? String(values.db) : join(work, 'flux.duckdb');
  try {
    if (values.db) console.log(`  the database ${db} as it is (no ingest, embed or match)`);
    else await prepare(sample, db);
    const chosen = values['skip-rule'] ? [] : [await trainAndJudge(sample, db, work, 'chosen', seed, {})];
    const baseline = await trainAndJudge(sample, db, work, 'baseline', seed, {
      arch: 'pca-logistic',
      featureSet: 'vector',
    });
    const more: ModelFigures[] = [];
    for (const [i, a] of also.entries()) more.push(await trainAndJudge(sample, db, work, `also-${i}`, seed, a));
    console.log(`  seed ${seed} done in ${since(t0)}`);
    return [...chosen, baseline, ...more];
  } finally {
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
}

const t0 = performance.now();
const all: Array<{ seed: number; models: ModelFigures[] }> = [];
for (const seed of seeds) all.push({ seed, models: await runSeed(seed) });
console.log(`\nsummary (${walks} walks, scale ${values.scale}; targets: soft AUC ratio >= 0.9, gain share >= 0.5):`);
for (const { seed, models } of all) {
  const roles = [...(values['skip-rule'] ? [] : ['chosen  ']), 'baseline', ...also.map(() => 'also    ')];
  for (const [i, m] of models.entries()) {
    console.log(
      `  seed ${seed} ${roles[i]} ${m.name.padEnd(36)} inbox ratio ${f4(m.inbox.softAucRatio)} ` +
        `gain ${f4(m.inbox.gainShare)} (best Platt ${f3(m.inbox.gainShareBestPlatt)}) | test walks ratio ` +
        `${f4(m.test.softAucRatio)} gain ${f4(m.test.gainShare)} (best Platt ${f3(m.test.gainShareBestPlatt)})`,
    );
  }
}
console.log(`total ${since(t0)}`);
