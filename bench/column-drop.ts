/**
 * What some columns add (a development measure without a target): one learner on one feature set with and without
 * the named columns, scored out of fold over every walk on the same session folds (the decision rule's procedure,
 * `--repeats` dealings), and the AP without them minus the AP with them, with a paired walk-bootstrap interval (95%,
 * the same walk draws for both). The plain baseline (pca-logistic on the vector) is scored on the same folds beside.
 *
 *   node dist/bench/column-drop.js DB --drop log_session_frames,session_minutes [--arch logistic]
 *     [--set descriptor+context+people] [--repeats 3] [--folds 5] [--resamples 500] [--seed 7]
 */
import { parseArgs } from 'node:util';
import { Db } from '../lib/db/duckdb.js';
import { workspaceOf } from '../lib/db/schema.js';
import { FEATURE_SETS, loadDataset, usesPeople, type Dataset, type FeatureSet } from '../lib/4-dataset/rows.js';
import { pairedDifferences } from '../lib/5-rank/decide.js';
import { selectColumns, takeColumns } from '../lib/5-rank/fit.js';
import { alignedOutOfFold } from '../lib/5-rank/folds.js';
import { averagePrecision } from '../lib/5-rank/metrics.js';
import { ARCHS, type Arch } from '../lib/5-rank/scorers.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { checkChoice, checkInt, FluxError, orExit } from '../lib/util/check.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    drop: { type: 'string', default: '' },
    arch: { type: 'string', default: 'logistic' },
    set: { type: 'string', default: 'descriptor+context+people' },
    repeats: { type: 'string', default: '3' },
    folds: { type: 'string', default: '5' },
    resamples: { type: 'string', default: '500' },
    model: { type: 'string', default: 'mobilenetv2-int8' },
    seed: { type: 'string', default: '7' },
  },
});
const dbFile = positionals[0] ?? 'data/flux.duckdb';
const opts = await orExit('column-drop', () => {
  const drop = String(values.drop).split(',').filter(Boolean);
  if (!drop.length) throw new FluxError('--drop: name the columns to leave out, comma-separated');
  return {
    drop,
    arch: checkChoice('--arch', values.arch, ARCHS) as Arch,
    set: checkChoice('--set', values.set, FEATURE_SETS) as FeatureSet,
    repeats: checkInt('--repeats', values.repeats, 1, 20),
    folds: checkInt('--folds', values.folds, 3, 50),
    resamples: checkInt('--resamples', values.resamples, 50, 100000),
    seed: checkInt('--seed', values.seed, 0, 0xffffffff),
  };
});

/** The dataset without the named columns (each must be one of its columns). */
function without(ds: Dataset, drop: readonly string[]): Dataset {
  const missing = drop.filter((n) => !ds.names.includes(n));
  if (missing.length) throw new FluxError(`--drop: ${missing.join(', ')} not among the ${ds.featureSet} columns`);
  return takeColumns(
    ds,
    ds.names.flatMap((n, j) => (drop.includes(n) ? [] : [j])),
  );
}

await initBackend();
const full = await orExit('column-drop', async () => {
  // writable: the dataset makes its walk split when the database has none yet
  const db = await Db.openIndex(dbFile, { waitMs: 120_000 });
  try {
    return await loadDataset(db, await workspaceOf(db), {
      featureSet: usesPeople(opts.set) ? 'vector+descriptor+context+people' : 'vector+descriptor+context',
      modelId: values.model as string,
      scheme: 'session',
      seed: opts.seed,
    });
  } finally {
    db.close();
  }
});
const withCols = selectColumns(full, opts.set);
const dropped = await orExit('column-drop', () => without(withCols, opts.drop));
const t0 = performance.now();
const scores: number[][][] = [[], [], []];
let rows: number[] = [];
for (let r = 0; r < opts.repeats; r++) {
  const oof = await alignedOutOfFold(
    [
      { ds: withCols, arch: opts.arch },
      { ds: dropped, arch: opts.arch },
      { ds: selectColumns(full, 'vector'), arch: 'pca-logistic' },
    ],
    opts.seed,
    opts.folds,
    {},
    'all',
    undefined,
    r,
  );
  if (r === 0) rows = oof.rows;
  else if (oof.rows.length !== rows.length) throw new Error('the repeats scored different rows');
  oof.scores.forEach((s, m) => (scores[m] as number[][]).push(s));
}
const y = rows.map((r) => full.y[r] as number);
const walk = rows.map((r) => full.session[r] as number);
const [diff] = pairedDifferences(scores.slice(0, 2), y, walk, opts.resamples, 0.95, opts.seed);
const ap = (m: number): string =>
  ((scores[m] as number[][]).reduce((a, s) => a + averagePrecision(s, y), 0) / opts.repeats).toFixed(3);
const s = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
console.log(
  `${dbFile}: ${opts.arch} · ${opts.set}, ${y.filter(Boolean).length} keepers in ${rows.length} photos, ` +
    `${new Set(walk).size} walks; ${opts.folds} folds x ${opts.repeats} repeats, seed ${opts.seed}; ` +
    `${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
console.log(`  with every column (${withCols.dim}): AP ${ap(0)}`);
console.log(`  without ${opts.drop.join(', ')} (${dropped.dim}): AP ${ap(1)}`);
if (diff) console.log(`  difference ${s(diff.value)} [${s(diff.lo)}, ${s(diff.hi)}] (95%, paired walk bootstrap)`);
console.log(`  plain baseline pca-logistic · vector: AP ${ap(2)}`);
