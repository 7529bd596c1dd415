/**
 * The gain of the people columns (a development measure without a target): each learner with and without them,
 * scored out of fold over every walk on the same session folds (the decision rule's procedure, `--repeats` dealings),
 * and the AP with them minus the AP without, with a paired walk-bootstrap interval (95%, the same walk draws for both).
 * Photos the person detector has not examined impute the people columns, so run `flux detect --db DB` on the whole
 * corpus first; the bench says how many were examined.
 *
 *   npm run demo && node dist/lib/cli/flux.js detect --db data/flux.duckdb
 *   node dist/bench/people-gain.js [DB] [--archs logistic,pairwise] [--repeats 3] [--folds 5] [--resamples 500]
 *     [--examined-walks] [--base vector+descriptor+context|descriptor+context]
 * With --examined-walks only the walks whose every photo has been examined take part (a detection run still under
 * way, or stopped, then measures on whole walks without imputed rows).
 */
import { parseArgs } from 'node:util';
import { Db } from '../lib/db/duckdb.js';
import { workspaceOf } from '../lib/db/schema.js';
import { loadDataset, withPeople, type FeatureSet } from '../lib/4-dataset/rows.js';
import { peopleFeatures } from '../lib/4-dataset/people.js';
import { examinedWalks } from './examined.js';
import { decide, DEFAULT_RULE, type Contender } from '../lib/5-rank/decide.js';
import { ARCHS, type Arch } from '../lib/5-rank/scorers.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { checkChoice, checkInt, orExit } from '../lib/util/check.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    archs: { type: 'string', default: 'logistic,pairwise' },
    repeats: { type: 'string', default: '3' },
    folds: { type: 'string', default: '5' },
    resamples: { type: 'string', default: '500' },
    model: { type: 'string', default: 'mobilenetv2-int8' },
    seed: { type: 'string', default: '7' },
    'examined-walks': { type: 'boolean', default: false },
    // the feature set the people columns are added to: vector+descriptor+context or descriptor+context
    base: { type: 'string', default: 'vector+descriptor+context' },
  },
});
const dbFile = positionals[0] ?? 'data/flux.duckdb';
const opts = await orExit('people-gain', () => ({
  archs: (values.archs as string).split(',').map((a) => checkChoice('--archs', a, ARCHS) as Arch),
  repeats: checkInt('--repeats', values.repeats, 1, 20),
  folds: checkInt('--folds', values.folds, 3, 50),
  resamples: checkInt('--resamples', values.resamples, 50, 100000),
  seed: checkInt('--seed', values.seed, 0, 0xffffffff),
}));

await initBackend();
// writable: the dataset makes its walk split when the database has none yet
const db = await Db.openIndex(dbFile, { waitMs: 120_000 });
try {
  const people = await peopleFeatures(db, 'photos');
  const fullSet = checkChoice('--base', values.base, ['vector+descriptor+context', 'descriptor+context'] as const);
  const peopleSet = withPeople(fullSet) as FeatureSet;
  const loaded = await loadDataset(db, await workspaceOf(db), {
    featureSet: peopleSet,
    modelId: values.model as string,
    scheme: 'session',
    seed: opts.seed,
  });
  const ds = values['examined-walks'] ? examinedWalks(loaded) : loaded;
  console.log(
    `people gain on ${dbFile}: ${people.ids.length - people.notExamined} of ${people.ids.length} corpus photos ` +
      `examined by ${people.personModel ?? 'no person model'} (faces: ${people.faceModel ?? 'none'}); ` +
      `${opts.folds} folds x ${opts.repeats} repeats, seed ${opts.seed}\n`,
  );
  const named = (arch: Arch, featureSet: FeatureSet): Contender => ({
    name: `${arch} · ${featureSet}`,
    arch,
    featureSet,
  });
  const contenders = [fullSet, peopleSet].flatMap((fs) => opts.archs.map((a) => named(a, fs)));
  const t0 = performance.now();
  const baseline = named('pca-logistic', fullSet === 'descriptor+context' ? fullSet : 'vector');
  const e = await decide(ds, baseline, contenders, {
    seed: opts.seed,
    settings: { ...DEFAULT_RULE, folds: opts.folds, repeats: opts.repeats, resamples: opts.resamples },
  });
  if (!e) throw new Error('no keeper was scored out of fold');
  console.log(
    `${e.keepers} keepers in ${e.photos} photos, ${e.walks} walks; ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
  );
  console.log('| learner | AP without people | AP with people | difference [95% paired interval] |');
  console.log('|---|---|---|---|');
  const ap = (name: string): string => (e.contenders.find((c) => c.name === name)?.ap ?? NaN).toFixed(3);
  const s = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
  for (const g of e.people ?? []) {
    const arch = g.name.split(' · ')[0];
    console.log(
      `| ${arch} | ${ap(g.without)} | ${ap(g.name)} | ${s(g.diff.value)} [${s(g.diff.lo)}, ${s(g.diff.hi)}] |`,
    );
  }
  console.log(`\nplain baseline ${e.baseline.name}: AP ${e.baseline.ap.toFixed(3)}`);
} finally {
  db.close();
}
