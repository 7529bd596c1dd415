// A hyper-parameter sweep over the rankers on one database (development aid; prints validation and test AP).
import { Db } from '../lib/db/duckdb.js';
import { workspaceOf } from '../lib/embed/embed.js';
import { initBackend } from '../lib/rank/backend.js';
import { loadDataset } from '../lib/rank/features.js';
import { averagePrecision } from '../lib/rank/metrics.js';
import { scoreRows, type Arch, type Hyper } from '../lib/rank/scorers.js';
import { fit, selectColumns } from '../lib/rank/train.js';

const [file, ...specs] = process.argv.slice(2);
await initBackend();
const db = await Db.open(file as string);
const full = await loadDataset(db, await workspaceOf(db), { featureSet: 'vector+descriptor+context', modelId: 'mobilenetv2-int8', scheme: 'session', seed: 7 });
db.close();
for (const spec of specs) {
  const [arch, fs, json] = spec.split('|') as [Arch, string, string?];
  const ds = selectColumns(full, fs as never);
  const hyper = JSON.parse(json ?? '{}') as Partial<Hyper>;
  for (const seed of [7, 8]) {
    const f = await fit(ds, arch, seed, hyper);
    const ap = (split: string): number => {
      const rows = ds.split.flatMap((s, i) => (s === split && ds.views[i] === 0 ? [i] : []));
      return averagePrecision(scoreRows(f.params, f.xs, ds.dim, rows, ds.ids), rows.map((r) => ds.y[r] as number));
    };
    console.log(`${spec.padEnd(70)} seed ${seed} epochs ${f.log.length} train ${ap('train').toFixed(3)} val ${ap('val').toFixed(3)} test ${ap('test').toFixed(3)} ${f.seconds.toFixed(1)}s`);
  }
}
