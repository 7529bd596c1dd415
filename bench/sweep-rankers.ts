/**
 * A sweep over ranker settings on one database (a development aid, not a benchmark with targets): for each
 * `arch|featureSet|{hyper json}` it prints validation and test AP for two seeds, and with --folds K the pooled
 * out-of-fold AP of K session folds (every walk is held out once, so every keeper counts).
 *
 *   node dist/bench/sweep-rankers.js DB [--folds 10] 'pairwise|vector+descriptor+context|{"l2":0.01}' ...
 */
import { parseArgs } from 'node:util';
import { Db } from '../lib/db/duckdb.js';
import { workspaceOf } from '../lib/embed/embed.js';
import { initBackend } from '../lib/rank/backend.js';
import { loadDataset, type FeatureSet } from '../lib/rank/features.js';
import { averagePrecision, rocAuc } from '../lib/rank/metrics.js';
import { scoreRows, type Arch, type Hyper } from '../lib/rank/scorers.js';
import { fit, selectColumns } from '../lib/rank/train.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { folds: { type: 'string', default: '0' }, model: { type: 'string', default: 'mobilenetv2-int8' } } });
const [file, ...specs] = positionals;
await initBackend();
const db = await Db.open(file as string);
const full = await loadDataset(db, await workspaceOf(db), { featureSet: 'vector+descriptor+context', modelId: values.model as string, scheme: 'session', seed: 7 });
db.close();
const folds = Number(values.folds);
for (const spec of specs) {
  const [arch, fs, json] = spec.split('|') as [Arch, FeatureSet, string?];
  const base = selectColumns(full, fs);
  const hyper = JSON.parse(json ?? '{}') as Partial<Hyper>;
  if (folds > 0) {
    const oof = new Float32Array(base.ids.length).fill(NaN);
    for (let k = 0; k < folds; k++) {
      // fold k is the test walks; the next fold validates; the rest trains
      const split = base.session.map((s) => (s % folds === k ? 2 : s % folds === (k + 1) % folds ? 1 : 0));
      const ds = { ...base, split: Array.from(split, (v) => (['train', 'val', 'test'] as const)[v] as 'train' | 'val' | 'test') };
      const f = await fit(ds, arch, 7, hyper);
      const rows = ds.split.flatMap((s, i) => (s === 'test' && ds.views[i] === 0 ? [i] : []));
      scoreRows(f.params, f.xs, ds.dim, rows, ds.ids).forEach((v, j) => { oof[rows[j] as number] = v; });
    }
    const rows = [...oof.keys()].filter((i) => !Number.isNaN(oof[i]));
    const s = rows.map((i) => oof[i] as number), y = rows.map((i) => base.y[i] as number);
    console.log(`${spec.padEnd(70)} ${folds}-fold out-of-fold AP ${averagePrecision(s, y).toFixed(3)} AUC ${rocAuc(s, y).toFixed(3)} (${y.filter(Boolean).length} keepers)`);
    continue;
  }
  for (const seed of [7, 8]) {
    const f = await fit(base, arch, seed, hyper);
    const ap = (split: string): number => {
      const rows = base.split.flatMap((s, i) => (s === split && base.views[i] === 0 ? [i] : []));
      return averagePrecision(scoreRows(f.params, f.xs, base.dim, rows, base.ids), rows.map((r) => base.y[r] as number));
    };
    console.log(`${spec.padEnd(70)} seed ${seed} epochs ${f.log.length} train ${ap('train').toFixed(3)} val ${ap('val').toFixed(3)} test ${ap('test').toFixed(3)} ${f.seconds.toFixed(1)}s`);
  }
}
