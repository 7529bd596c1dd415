/**
 * Where the rankers' limit lies on the sample archive (a development aid without targets). The sample's keepers are
 * the best frames by a hidden taste over visible scene properties plus each walk's luck and some per-frame noise, so
 * three questions can be answered from the scenes behind the archive (re-planned from its truth.json config, nothing
 * rendered):
 *   1. labels: how well would the hidden taste itself rank the keepers, and with the walks' luck known too?
 *   2. features: how much of each taste term does a ridge regression recover from the image features (session
 *      folds)? A term the features do not carry is out of reach of every ranker.
 *   3. rankers: out-of-fold AP over every walk (the procedure of flux train's all-walks comparison) for logistic
 *      regression and the two candidates on the features, on the features plus the true composition terms (people
 *      on the thirds, at a readable size), plus every true taste term, and on the true terms alone: would better
 *      features let a candidate pull ahead of logistic regression, or lift them all alike, and how much do ~90
 *      keepers against a 1,300-column row hold every learner back?
 * Rows are the photos' original views (no augmented views), so every variant sees the same rows.
 *
 *   npm run demo   # makes data/flux.duckdb from data/sample
 *   npm run build && node dist/bench/feature-headroom.js [DB] [--sample data/sample] [--folds 10] \
 *     [--features vector+descriptor+context] [--examined-walks] [--skip-rankers]
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Matrix, solve } from 'ml-matrix';
import { Db } from '../lib/db/duckdb.js';
import { workspaceOf } from '../lib/2-embed/embed.js';
import { initBackend } from '../lib/tfjs/backend.js';
import {
  FEATURE_SETS,
  fitStandardizer,
  loadDataset,
  standardize,
  subsetRows,
  type Dataset,
} from '../lib/4-dataset/rows.js';
import { averagePrecision, pairedApDifference, rocAuc } from '../lib/5-rank/metrics.js';
import type { Arch } from '../lib/5-rank/scorers.js';
import { alignedOutOfFold } from '../lib/5-rank/folds.js';
import { apWord } from '../lib/5-rank/verdict.js';
import { planSample, type Frame, type SampleTruth } from '../lib/0-sample/generate.js';
import { TASTE_TERMS, tasteTerms, type TasteTerm } from '../lib/0-sample/render.js';
import { checkChoice, checkInt, FluxError, orExit } from '../lib/util/check.js';
import { checkDir } from '../lib/util/fsutil.js';
import { examinedWalks } from './examined.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sample: { type: 'string', default: 'data/sample' },
    folds: { type: 'string', default: '10' },
    features: { type: 'string', default: 'vector+descriptor+context' },
    model: { type: 'string', default: 'mobilenetv2-int8' },
    // only the walks a person detector has examined whole (with a +people feature set)
    'examined-walks': { type: 'boolean', default: false },
    // parts 1 and 2 only
    'skip-rankers': { type: 'boolean', default: false },
  },
});
const dbFile = positionals[0] ?? 'data/flux.duckdb';
const SEED = 7;
const RIDGE = 300;

const folds = await orExit('feature-headroom', () => checkInt('--folds', values.folds, 3, 50));
const featureSet = await orExit('feature-headroom', () => checkChoice('--features', values.features, FEATURE_SETS));

// ---- the scenes behind the archive
const truth = await orExit('feature-headroom', () => {
  const file = join(checkDir('--sample', values.sample), 'truth.json');
  if (!existsSync(file))
    throw new FluxError(
      `--sample: no truth.json in ${resolve(values.sample as string)}; point it at a folder written by flux sample`,
    );
  return JSON.parse(readFileSync(file, 'utf8')) as SampleTruth;
});
const plan = planSample(truth.config);
const byPath = new Map(plan.frames.map((f) => [`${f.folder}/${f.name}`, f]));
for (const d of truth.duplicates) byPath.set(d.path, byPath.get(d.of) as Frame);
const richness = new Map(plan.sessions.map((s) => [s.id, s.style.richness]));

// ---- the labelled photos, original views only, each with its planned frame
await initBackend();
const { ds, frames } = await orExit('feature-headroom', async () => {
  const db = await Db.openIndex(dbFile);
  try {
    const paths = new Map(
      (await db.all<{ id: number; path: string }>('SELECT photo_id AS id, path FROM photos')).map((r) => [
        r.id,
        r.path,
      ]),
    );
    const all = await loadDataset(db, await workspaceOf(db), {
      featureSet,
      modelId: values.model as string,
      scheme: 'session',
      seed: SEED,
    });
    const keep = all.views.flatMap((v, i) => (v === 0 ? [i] : []));
    const views0: Dataset = {
      ...all,
      ...subsetRows(all, keep),
      y: Uint8Array.from(keep, (i) => all.y[i] as number),
      split: keep.map((i) => all.split[i]) as Dataset['split'],
      session: Int32Array.from(keep, (i) => all.session[i] as number),
    };
    const originals = values['examined-walks'] ? examinedWalks(views0) : views0;
    return {
      ds: originals,
      frames: originals.ids.map((id) => {
        const f = byPath.get(paths.get(id) as string);
        if (!f)
          throw new FluxError(
            `photo ${paths.get(id)} is not in the sample planned from ${resolve(values.sample as string, 'truth.json')}: was ${dbFile} made from that sample?`,
          );
        return f;
      }),
    };
  } finally {
    db.close();
  }
});
const y = Array.from(ds.y);
const keepers = y.filter(Boolean).length;
console.log(
  `feature headroom on ${dbFile}: ${ds.ids.length} photos, ${keepers} keepers, ${ds.sessions.length} walks; features ${ds.featureSet} (${ds.dim} columns), ${values.model}\n`,
);

// ---- 1. labels
const taste = frames.map((f) => f.taste);
const withLuck = frames.map((f, i) => (taste[i] as number) + 0.5 * (richness.get(f.session) ?? 0));
console.log('1. what the labels allow (AP over all photos)');
console.log(
  `   chance ${(keepers / y.length).toFixed(3)}; the hidden taste ${averagePrecision(taste, y).toFixed(3)}; the hidden taste plus each walk's luck ${averagePrecision(withLuck, y).toFixed(3)} (the rest is per-frame noise)\n`,
);

// ---- 2. how much of each taste term the features carry (ridge, 5 session folds, one solve per fold for all terms)
const terms = frames.map((f) => tasteTerms(f.params));
const targets: Array<[string, number[]]> = [
  ...TASTE_TERMS.map((t): [string, number[]] => [t, terms.map((v) => v[t])]),
  ['taste (sum)', taste],
];
const n = ds.ids.length;
const d = ds.dim;
const preds = targets.map(() => new Float64Array(n));
const foldOf = Array.from(ds.session, (s) => s % 5);
for (let k = 0; k < 5; k++) {
  const tr = foldOf.flatMap((f, i) => (f !== k ? [i] : []));
  const xs = standardize(ds.x, d, fitStandardizer(ds.x, d, tr));
  const X = new Matrix(tr.length, d + 1);
  tr.forEach((r, i) => {
    for (let j = 0; j < d; j++) X.set(i, j, xs[r * d + j] as number);
    X.set(i, d, 1);
  });
  const Xt = X.transpose();
  const A = Xt.mmul(X);
  for (let j = 0; j < d; j++) A.set(j, j, A.get(j, j) + RIDGE);
  const Y = new Matrix(tr.length, targets.length);
  tr.forEach((r, i) => targets.forEach(([, t], c) => Y.set(i, c, t[r] as number)));
  const W = solve(A, Xt.mmul(Y));
  for (let i = 0; i < n; i++) {
    if (foldOf[i] !== k) continue;
    targets.forEach((_, c) => {
      let s = W.get(d, c);
      for (let j = 0; j < d; j++) s += (xs[i * d + j] as number) * W.get(j, c);
      (preds[c] as Float64Array)[i] = s;
    });
  }
}
const corr = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let ma = 0,
    mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= a.length;
  mb /= b.length;
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    const u = (a[i] as number) - ma,
      v = (b[i] as number) - mb;
    ab += u * v;
    aa += u * u;
    bb += v * v;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : NaN;
};
console.log(
  `2. how much of each taste term the features carry (ridge L2 ${RIDGE}, 5 session folds, held-out correlation)`,
);
// the misfires (black, blown, blurred frames) dominate the spread of the exposure, tilt and blur terms, and the
// failure rule sets them apart at scoring: the second figure leaves them out
const normal = frames.flatMap((f, i) => (f.misfire === null ? [i] : []));
const sdOf = (t: readonly number[]): number => {
  const m = t.reduce((a, b) => a + b, 0) / t.length;
  return Math.sqrt(t.reduce((a, b) => a + (b - m) ** 2, 0) / t.length);
};
const rText = (t: readonly number[], p: ArrayLike<number>): string =>
  (sdOf(t) > 0 ? corr(t, p).toFixed(2) : '-').padStart(10);
console.log(`   term            spread (sd)  held-out r  | without the ${n - normal.length} misfires: sd, r`);
targets.forEach(([name, t], c) => {
  const p = preds[c] as Float64Array;
  const tn = normal.map((i) => t[i] as number);
  const pn = normal.map((i) => p[i] as number);
  console.log(
    `   ${name.padEnd(16)} ${sdOf(t).toFixed(3).padStart(10)}  ${rText(t, p)}  | ` +
      `${sdOf(tn).toFixed(3).padStart(10)} ${rText(tn, pn)}`,
  );
});

// ---- 3. rankers with the features as they are, and with true taste terms added as columns
function withColumns(cols: readonly TasteTerm[], features = true): Dataset {
  if (!cols.length) return ds;
  const base = features ? d : 0;
  const dim = base + cols.length;
  const x = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    if (features) x.set(ds.x.subarray(r * d, (r + 1) * d), r * dim);
    cols.forEach((c, j) => {
      x[r * dim + base + j] = (terms[r] as Record<TasteTerm, number>)[c];
    });
  }
  return { ...ds, dim, x, names: [...(features ? ds.names : []), ...cols.map((c) => `true_${c}`)] };
}
const variants: Array<[string, TasteTerm[], boolean]> = [
  ['the features', [], true],
  ['+ true composition (thirds, figure size)', ['thirds', 'figure_size'], true],
  ['+ every true taste term', [...TASTE_TERMS], true],
  ['the true taste terms alone (12 columns, no image features)', [...TASTE_TERMS], false],
];
const archs: Arch[] = ['logistic', 'pairwise', 'contrastive'];
console.log(
  `\n3. out-of-fold AP over every walk (${folds} session folds, seed ${SEED}); candidate minus logistic regression with a paired session-bootstrap interval`,
);
for (const [label, cols, features] of values['skip-rankers'] ? [] : variants) {
  const v = withColumns(cols, features);
  const o = await alignedOutOfFold(
    archs.map((arch) => ({ ds: v, arch })),
    SEED,
    folds,
  );
  const yy = o.rows.map((r) => y[r] as number);
  const ss = o.rows.map((r) => ds.session[r] as number);
  const pick = (a: Arch): number[] => o.scores[archs.indexOf(a)] as number[];
  const line = archs
    .map((a) => `${a} ${averagePrecision(pick(a), yy).toFixed(3)} (AUC ${rocAuc(pick(a), yy).toFixed(3)})`)
    .join(', ');
  const diffs = (['pairwise', 'contrastive'] as Arch[])
    .map((a) => `${a} ${apWord(pairedApDifference(pick(a), pick('logistic'), yy, ss, { seed: SEED }))}`)
    .join(', ');
  console.log(`   ${label}:\n     ${line}\n     vs logistic: ${diffs}`);
}
