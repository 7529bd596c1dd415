/**
 * A sweep over ranker settings on one database (a development aid, not a benchmark with targets): for each
 * `arch|featureSet|{hyper json}` it prints validation and test AP for two seeds, and with --folds K the pooled
 * out-of-fold AP of K session folds over every walk (each walk held out once, so every keeper counts; the procedure
 * of flux train's all-walks comparison).
 *
 *   node dist/bench/sweep-rankers.js DB [--folds 10] 'pairwise|vector+descriptor+context|{"l2":0.01}' ...
 */
import { parseArgs } from 'node:util';
import { Db } from '../lib/db/duckdb.js';
import { checkString, orExit } from '../lib/util/check.js';
import { workspaceOf } from '../lib/2-embed/embed.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { loadDataset, type FeatureSet } from '../lib/4-dataset/rows.js';
import { averagePrecision, rocAuc } from '../lib/5-rank/metrics.js';
import { scoreRows, type Arch, type Hyper } from '../lib/5-rank/scorers.js';
import { fit, selectColumns } from '../lib/5-rank/fit.js';
import { outOfFold } from '../lib/5-rank/folds.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { folds: { type: 'string', default: '0' }, model: { type: 'string', default: 'mobilenetv2-int8' } },
});
const [file, ...specs] = positionals;
await initBackend();
const db = await orExit('sweep-rankers', () => Db.openIndex(checkString('DB', file)));
const full = await loadDataset(db, await workspaceOf(db), {
  featureSet: 'vector+descriptor+context',
  modelId: values.model as string,
  scheme: 'session',
  seed: 7,
});
db.close();
const folds = Number(values.folds);
for (const spec of specs) {
  const [arch, fs, json] = spec.split('|') as [Arch, FeatureSet, string?];
  const base = selectColumns(full, fs);
  const hyper = JSON.parse(json ?? '{}') as Partial<Hyper>;
  if (folds > 0) {
    // the same procedure as flux train's all-walks comparison: every walk held out once, scores standardised per fold
    const o = await outOfFold(base, arch, 7, folds, hyper, 'all');
    const y = o.rows.map((r) => base.y[r] as number);
    console.log(
      `${spec.padEnd(70)} ${o.folds}-fold out-of-fold AP ${averagePrecision(o.scores, y).toFixed(3)} AUC ${rocAuc(o.scores, y).toFixed(3)} (${y.filter(Boolean).length} keepers)`,
    );
    continue;
  }
  for (const seed of [7, 8]) {
    const f = await fit(base, arch, seed, hyper);
    const ap = (split: string): number => {
      const rows = base.split.flatMap((s, i) => (s === split && base.views[i] === 0 ? [i] : []));
      return averagePrecision(
        scoreRows(f.params, f.xs, base.dim, rows, base.ids),
        rows.map((r) => base.y[r] as number),
      );
    };
    console.log(
      `${spec.padEnd(70)} seed ${seed} epochs ${f.log.length} train ${ap('train').toFixed(3)} val ${ap('val').toFixed(3)} test ${ap('test').toFixed(3)} ${f.seconds.toFixed(1)}s`,
    );
  }
}
