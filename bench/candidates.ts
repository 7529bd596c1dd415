/**
 * Candidate training settings judged by the decision rule's paired comparison (lib/5-rank/decide.ts): each set of
 * candidates against its baseline, out of fold on the same stratified session folds over all walks, paired walk
 * bootstrap, Bonferroni over the contenders; and the recency weight by the time-forward procedure (trained on the
 * earlier years, tested on the latest, paired against no weighting).
 *
 * - near: pairwise without near misses against near misses of the walk (today's default), the burst, the hour and
 *   the visually nearest frames (also on the planted burst control: --control burst);
 * - objective: pairwise against the listwise objective (a softmax over a keeper and non-keepers of its walk), and
 *   against pairwise and contrastive trained on 32 principal components (--pca);
 * - pca: pairwise against pairwise, contrastive and logistic regression on 32 or 128 whitened principal components;
 * - views: each learner trained with the augmented views (flux embed --views) against the same without them;
 * - recency: time-forward, each learner with a recency half-life of 1 and 2 years against none.
 *
 *   npm run build && nice -n 10 node dist/bench/candidates.js --db data/flux.duckdb --sets near,objective,views,recency
 *   nice -n 10 node dist/bench/candidates.js --control burst --keepers 100 --sets near [--width 1280]
 */
import { parseArgs } from 'node:util';
import { Db } from '../lib/db/duckdb.js';
import { workspaceOf } from '../lib/db/schema.js';
import { loadDataset, type Dataset, type FeatureSet } from '../lib/4-dataset/rows.js';
import { decide, DEFAULT_RULE, ruleText, type Contender } from '../lib/5-rank/decide.js';
import { timeForward } from '../lib/5-rank/time-forward.js';
import type { Arch, Hyper } from '../lib/5-rank/scorers.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { burstArchive, nearContenders } from './burst-control.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    control: { type: 'string' },
    keepers: { type: 'string', default: '100' },
    width: { type: 'string', default: '1280' },
    sets: { type: 'string', default: 'near,objective,views,recency' },
    model: { type: 'string', default: 'mobilenetv2-int8' },
    folds: { type: 'string', default: '5' },
    repeats: { type: 'string', default: '1' },
    seed: { type: 'string', default: '7' },
  },
});

const FULL: FeatureSet = 'vector+descriptor+context';
const named = (arch: Arch, label: string, hyper?: Partial<Hyper>): Contender => ({
  name: `${arch}${label ? ` ${label}` : ''} · ${FULL}`,
  arch,
  featureSet: FULL,
  ...(hyper ? { hyper } : {}),
});

/** The rule's comparisons of a set of candidates: one or several (baseline, contenders) pairs. */
function comparisons(set: string): Array<{ baseline: Contender; contenders: Contender[] }> {
  if (set === 'near') return [nearContenders(FULL)];
  if (set === 'objective') {
    return [
      {
        baseline: named('pairwise', ''),
        contenders: [
          named('listwise', ''),
          named('listwise', 'near=burst', { near: 'burst' }),
          named('pairwise', 'pca=32', { pca: 32 }),
          named('contrastive', 'pca=32', { pca: 32 }),
        ],
      },
    ];
  }
  if (set === 'pca') {
    return [
      {
        baseline: named('pairwise', ''),
        contenders: [
          named('pairwise', 'pca=32', { pca: 32 }),
          named('pairwise', 'pca=128', { pca: 128 }),
          named('contrastive', 'pca=32', { pca: 32 }),
          named('logistic', 'pca=32', { pca: 32 }),
        ],
      },
    ];
  }
  if (set === 'views') {
    return (['pairwise', 'logistic', 'contrastive'] as Arch[]).map((a) => ({
      baseline: named(a, 'views=no', { views: false }),
      contenders: [named(a, 'views=yes', { views: true })],
    }));
  }
  throw new Error(`unknown set ${set}`);
}

/** The recency weight, time-forward: each learner with half-lives of 1 and 2 years against none, paired. */
async function recency(full: Dataset, seed: number): Promise<void> {
  for (const a of ['pairwise', 'logistic', 'pca-logistic'] as Arch[]) {
    for (const halfLife of [1, 2]) {
      const t0 = performance.now();
      const tf = await timeForward(full, [named(a, `half-life=${halfLife}`, { halfLife }), named(a, 'none')], {
        seed,
        resamples: 200,
      });
      if (!tf) {
        console.log('time-forward: needs two years with keepers on both sides');
        return;
      }
      const n3 = (v: number): string => v.toFixed(3);
      const d = tf.difference;
      console.log(
        `time-forward ${a}: trained ${tf.trainYears.join(',')}, tested ${tf.testYear} ` +
          `(${tf.testKeepers} keepers in ${tf.testPhotos}): half-life ${halfLife} y AP ${n3(tf.models[0]!.ap.value)} ` +
          `AUC ${n3(tf.models[0]!.auc.value)}, none AP ${n3(tf.models[1]!.ap.value)} AUC ${n3(tf.models[1]!.auc.value)}` +
          `, difference ${d ? `${n3(d.value)} [${n3(d.lo)}, ${n3(d.hi)}]` : 'n/a'} ` +
          `(${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
  }
}

async function dataset(): Promise<Dataset> {
  if (values.control === 'burst') {
    const { ds, oracle } = burstArchive(Number(values.keepers), Number(values.seed), Number(values.width));
    console.log(
      `planted burst control: ${ds.ids.length} rows, ${ds.sessions.length} walks, oracle AP ${oracle.toFixed(3)}`,
    );
    return ds;
  }
  const db = await Db.openIndex(values.db ?? 'data/flux.duckdb');
  try {
    return await loadDataset(db, await workspaceOf(db), { featureSet: FULL, modelId: values.model!, seed: 7 });
  } finally {
    db.close();
  }
}

await initBackend('wasm').catch(() => initBackend());
const seed = Number(values.seed);
const full = await dataset();
const settings = { ...DEFAULT_RULE, folds: Number(values.folds), repeats: Number(values.repeats) };
const views = full.views.filter((v) => v > 0).length;
console.log(`${full.ids.length} rows (${views} augmented views), ${[...full.y].filter(Boolean).length} keeper rows`);
for (const set of values.sets.split(',')) {
  if (set === 'recency') {
    await recency(full, seed);
    continue;
  }
  for (const { baseline, contenders } of comparisons(set)) {
    const t0 = performance.now();
    const e = await decide(full, baseline, contenders, { seed, settings });
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    console.log(`\n## ${set} (${s} s)\n${e ? ruleText(e) : 'no keeper scored'}`);
  }
}
