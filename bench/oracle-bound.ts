/**
 * How far can today's features go on a planted archive (a development aid without targets)? The inbox targets of
 * issue 23 (soft AUC ratio >= 0.9, gain share >= 0.5) are judged against the true keep probabilities p =
 * sigmoid(scale * taste + bias). Here the true taste itself is the target: ridge regression of the taste on the
 * feature columns, fitted on every corpus photo (original views), scores the inbox; the soft AUC ratio and the gain
 * share of the best logistic curve over that ranking (lib/5-rank/truth-metrics.ts) are then what a learner that
 * knew the taste of every training photo could reach with these columns: if that stays below 0.9, the features are
 * the limit, not the learner or the keeper count. For reference, L2 logistic regression on the 0/1 keeper labels
 * (what the pipeline can learn) on the same columns. Columns: the descriptor, context and people columns as the
 * dataset builder makes them (lib/4-dataset), alone and beside the leading PCA components of the standardised
 * vector (fitted on the corpus). The ridge and C grids are printed whole; picking the best on the inbox flatters it,
 * which a bound may. Last, the taste terms (lib/0-sample/render.ts) the best ridge fit misses most on the inbox.
 *
 *   npm run build && nice -n 10 node dist/bench/oracle-bound.js DB --sample SAMPLE [--pca 32,64]
 *     [--ridge 1,10,100,1000] [--c 0.01,0.1,1] [--features descriptor+context+people] [--known fog_depth,...]
 *     [--soft] [--walk-share 0.25,0.5,0.75 [--repeats 5]]
 * --known appends taste terms themselves (render.ts TASTE_TERMS, exact, from the plan) as columns: how far a perfect
 * measure of those terms would carry the same learners. --soft fits the same logistic regression on the true keep
 * probabilities instead of the 0/1 labels: what the labels' sampling noise costs at this keeper count. --walk-share
 * fits it on the labels of a seeded share of the walks (`--repeats` draws): the learning curve up to the archive.
 * DB is a planted archive's database with its inbox scored (ingested, embedded) and, for the people columns, detected;
 * loading its dataset may write its split, so point it at a copy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Matrix, solve } from 'ml-matrix';
import { Db } from '../lib/db/duckdb.js';
import { workspaceOf } from '../lib/db/schema.js';
import {
  FEATURE_SETS,
  fitStandardizer,
  loadDataset,
  loadFeatures,
  standardize,
  type FeatureRows,
  type FeatureSet,
} from '../lib/4-dataset/rows.js';
import { fitLogisticL2, pcaAxes } from '../lib/5-rank/baseline.js';
import { project } from '../lib/5-rank/reduce.js';
import { truthFigures, type TruthFigures } from '../lib/5-rank/truth-metrics.js';
import { planSample, type Frame, type SampleTruth } from '../lib/0-sample/generate.js';
import { TASTE_TERMS, tasteTerms } from '../lib/0-sample/render.js';
import { checkChoice, checkInt, checkNumber, FluxError, orExit } from '../lib/util/check.js';
import { checkDir } from '../lib/util/fsutil.js';
import { Rng } from '../lib/util/rng.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sample: { type: 'string' },
    model: { type: 'string', default: 'mobilenetv2-int8' },
    features: { type: 'string', default: 'descriptor+context+people' },
    pca: { type: 'string', default: '32,64' },
    ridge: { type: 'string', default: '1,10,100,1000' },
    c: { type: 'string', default: '0.01,0.1,1' },
    known: { type: 'string', default: '' },
    soft: { type: 'boolean', default: false },
    'walk-share': { type: 'string', default: '' },
    repeats: { type: 'string', default: '5' },
  },
});
const dbFile = positionals[0] ?? 'data/flux.duckdb';
const SEED = 7;
const nums = (s: unknown): number[] => String(s).split(',').filter(Boolean).map(Number);
const pcaSizes = [0, ...nums(values.pca)];
const ridges = nums(values.ridge);
const cs = nums(values.c);
const walkShares = await orExit('oracle-bound', () =>
  nums(values['walk-share']).map((v) => checkNumber('--walk-share', v, 0.01, 1)),
);
const repeats = await orExit('oracle-bound', () => checkInt('--repeats', Number(values.repeats), 1, 100));
const featureSet = await orExit('oracle-bound', () => checkChoice('--features', values.features, FEATURE_SETS));
const known = await orExit('oracle-bound', () =>
  String(values.known)
    .split(',')
    .filter(Boolean)
    .map((t) => checkChoice('--known', t, TASTE_TERMS)),
);

/** Rows `x` (width `dim`) with the known taste terms of their frames appended. */
function withKnown(x: Float32Array, dim: number, frames: readonly Frame[]): Float32Array {
  if (!known.length) return x;
  const wide = dim + known.length;
  const out = new Float32Array(frames.length * wide);
  frames.forEach((f, r) => {
    out.set(x.subarray(r * dim, (r + 1) * dim), r * wide);
    const terms = tasteTerms(f.params);
    known.forEach((t, j) => (out[r * wide + dim + j] = terms[t]));
  });
  return out;
}

// ---- the truth: each planned frame (taste, terms) and its keep probability, by path
const truth = await orExit('oracle-bound', () => {
  const file = join(checkDir('--sample', values.sample ?? ''), 'truth.json');
  if (!existsSync(file)) throw new FluxError(`--sample: no truth.json in ${resolve(String(values.sample))}`);
  return JSON.parse(readFileSync(file, 'utf8')) as SampleTruth;
});
if (!truth.planted) throw new FluxError(`--sample: ${values.sample} is not a planted archive (no keep probabilities)`);
const plan = planSample(truth.config);
const framePath = new Map(plan.frames.map((f) => [`${f.folder}/${f.name}`, f]));
for (const d of truth.duplicates) framePath.set(d.path, framePath.get(d.of) as Frame);
const frameInbox = new Map(plan.inbox.map((f) => [f.name, f]));
const pInbox = new Map(truth.inbox.map((i) => [i.path, i.p as number]));

interface Rows {
  x: Float32Array;
  dim: number;
  frames: Frame[];
}

/** Rows of `rows` whose id has a path with a planned frame, in `order` (ids), or null where one is missing. */
function align(rows: FeatureRows, order: readonly number[]): Float32Array {
  const at = new Map(rows.ids.map((id, i) => [id, i]));
  const x = new Float32Array(order.length * rows.dim);
  order.forEach((id, r) => {
    const i = at.get(id);
    if (i === undefined) throw new FluxError(`${dbFile}: image ${id} has no ${rows.featureSet} row`);
    x.set(rows.x.subarray(i * rows.dim, (i + 1) * rows.dim), r * rows.dim);
  });
  return x;
}

/** Corpus (original views, labelled) and inbox rows of the feature set and of the vector, aligned by id. */
async function load(): Promise<{
  corpus: Rows & { vec: Float32Array; y: number[] };
  inbox: Rows & { vec: Float32Array };
  vdim: number;
}> {
  const db = await Db.openIndex(dbFile);
  try {
    const ws = await workspaceOf(db);
    const modelId = String(values.model);
    const ds = await loadDataset(db, ws, {
      featureSet: featureSet as FeatureSet,
      modelId,
      scheme: 'session',
      seed: SEED,
    });
    const vds = await loadFeatures(db, ws, { set: 'photos', featureSet: 'vector', modelId });
    const paths = new Map(
      (await db.all<{ id: number; path: string }>('SELECT photo_id AS id, path FROM photos')).map((r) => [
        r.id,
        r.path,
      ]),
    );
    const ipaths = new Map(
      (await db.all<{ id: number; path: string }>('SELECT inbox_id AS id, path FROM inbox_photos')).map((r) => [
        r.id,
        r.path,
      ]),
    );
    const keep = ds.views.flatMap((v, i) =>
      v === 0 && framePath.has(paths.get(ds.ids[i] as number) ?? '') ? [i] : [],
    );
    const ids = keep.map((i) => ds.ids[i] as number);
    const own = { ...ds, ids, x: align(ds, ids) };
    const inbox = await loadFeatures(db, ws, { set: 'inbox', featureSet: featureSet as FeatureSet, modelId });
    const ivec = await loadFeatures(db, ws, { set: 'inbox', featureSet: 'vector', modelId });
    const iids = inbox.ids.filter((id) => frameInbox.has(ipaths.get(id) ?? '') && pInbox.has(ipaths.get(id) ?? ''));
    const frames = ids.map((id) => framePath.get(paths.get(id) as string) as Frame);
    const iframes = iids.map((id) => frameInbox.get(ipaths.get(id) as string) as Frame);
    return {
      corpus: {
        x: withKnown(own.x, ds.dim, frames),
        dim: ds.dim + known.length,
        frames,
        vec: align(vds, ids),
        y: keep.map((i) => ds.y[i] as number),
      },
      inbox: {
        x: withKnown(align(inbox, iids), inbox.dim, iframes),
        dim: inbox.dim + known.length,
        frames: iframes,
        vec: align(ivec, iids),
      },
      vdim: vds.dim,
    };
  } finally {
    db.close();
  }
}

/** The columns of one variant, standardised on the corpus: the feature set, then `k` vector components. */
async function columns(
  data: Awaited<ReturnType<typeof load>>,
  k: number,
): Promise<{ tr: Float64Array; te: Float64Array; dim: number }> {
  const { corpus, inbox, vdim } = data;
  const n = corpus.frames.length;
  const m = inbox.frames.length;
  const all = Array.from({ length: n }, (_, i) => i);
  const s = fitStandardizer(corpus.x, corpus.dim, all);
  const parts = [{ tr: standardize(corpus.x, corpus.dim, s), te: standardize(inbox.x, corpus.dim, s), d: corpus.dim }];
  if (k > 0) {
    const sv = fitStandardizer(corpus.vec, vdim, all);
    const vtr = standardize(corpus.vec, vdim, sv);
    const axes = await pcaAxes(vtr, vdim, all, k, SEED);
    const ptr = project(vtr, vdim, axes);
    const pte = project(standardize(inbox.vec, vdim, sv), vdim, axes);
    const sp = fitStandardizer(ptr, axes.k, all);
    parts.push({ tr: standardize(ptr, axes.k, sp), te: standardize(pte, axes.k, sp), d: axes.k });
  }
  const dim = parts.reduce((a, p) => a + p.d, 0);
  const join2 = (rows: number, key: 'tr' | 'te'): Float64Array => {
    const out = new Float64Array(rows * dim);
    let off = 0;
    for (const p of parts) {
      for (let r = 0; r < rows; r++)
        for (let j = 0; j < p.d; j++) out[r * dim + off + j] = p[key][r * p.d + j] as number;
      off += p.d;
    }
    return out;
  };
  return { tr: join2(n, 'tr'), te: join2(m, 'te'), dim };
}

/** Ridge regression of several targets at once (intercept free), predicting the test rows. */
function ridge(tr: Float64Array, te: Float64Array, dim: number, targets: number[][], lambda: number): number[][] {
  const n = (targets[0] as number[]).length;
  const X = new Matrix(n, dim + 1);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) X.set(i, j, tr[i * dim + j] as number);
    X.set(i, dim, 1);
  }
  const Xt = X.transpose();
  const A = Xt.mmul(X);
  for (let j = 0; j < dim; j++) A.set(j, j, A.get(j, j) + lambda);
  const Y = new Matrix(n, targets.length);
  targets.forEach((t, c) => t.forEach((v, i) => Y.set(i, c, v)));
  const W = solve(A, Xt.mmul(Y));
  const m = te.length / dim;
  return targets.map((_, c) =>
    Array.from({ length: m }, (_, i) => {
      let s = W.get(dim, c);
      for (let j = 0; j < dim; j++) s += (te[i * dim + j] as number) * W.get(j, c);
      return s;
    }),
  );
}

const f3 = (v: number): string => v.toFixed(3);

/** The rows `rows` of an n x dim matrix. */
function pickRows(x: Float64Array, dim: number, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length * dim);
  rows.forEach((r, i) => out.set(x.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

function corr(a: readonly number[], b: readonly number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let ab = 0,
    aa = 0,
    bb = 0;
  a.forEach((v, i) => {
    ab += (v - ma) * ((b[i] as number) - mb);
    aa += (v - ma) ** 2;
    bb += ((b[i] as number) - mb) ** 2;
  });
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : NaN;
}

/** Per taste term on the inbox: its spread, the held-out r of its ridge fit, its share of the taste's residual. */
function termMisses(
  rows: readonly number[],
  cols: { tr: Float64Array; te: Float64Array; dim: number },
  lambda: number,
): void {
  const termsTr = rows.map((i) => tasteTerms((data.corpus.frames[i] as Frame).params));
  const tr = pickRows(cols.tr, cols.dim, rows);
  const termsTe = data.inbox.frames.map((f) => tasteTerms(f.params));
  const preds = ridge(
    tr,
    cols.te,
    cols.dim,
    TASTE_TERMS.map((t) => termsTr.map((v) => v[t])),
    lambda,
  );
  const resid = TASTE_TERMS.map((t, c) => termsTe.map((v, i) => v[t] - ((preds[c] as number[])[i] as number)));
  const total = termsTe.map((_, i) => resid.reduce((s, r) => s + (r[i] as number), 0));
  const mt = total.reduce((s, v) => s + v, 0) / total.length;
  const vt = total.reduce((s, v) => s + (v - mt) ** 2, 0);
  console.log('  taste terms on the inbox (raw units): sd, held-out r, share of the taste residual variance');
  TASTE_TERMS.forEach((t, c) => {
    const truthT = termsTe.map((v) => v[t]);
    const r = resid[c] as number[];
    const mr = r.reduce((s, v) => s + v, 0) / r.length;
    const cov = r.reduce((s, v, i) => s + (v - mr) * ((total[i] as number) - mt), 0);
    const m = truthT.reduce((s, v) => s + v, 0) / truthT.length;
    const sd = Math.sqrt(truthT.reduce((s, v) => s + (v - m) ** 2, 0) / truthT.length);
    const rr = sd > 0 ? f3(corr(truthT, preds[c] as number[])) : '-';
    console.log(`    ${t.padEnd(16)} sd ${f3(sd)}  r ${rr.padStart(6)}  residual share ${f3(cov / vt)}`);
  });
}

const data = await orExit('oracle-bound', load);
const p = data.inbox.frames.map((f) => pInbox.get(f.name) as number);
const { scale, bias } = truth.planted;
const keeperRate = data.corpus.y.reduce((a, b) => a + b, 0) / data.corpus.y.length;
const misfire = data.corpus.frames.map((f) => f.misfire !== null);
const trueP = data.corpus.frames.map((f) => f.p as number);
console.log(
  `oracle bound on ${dbFile}: ${data.corpus.frames.length} corpus photos (${data.corpus.y.filter(Boolean).length} ` +
    `keepers, ${misfire.filter(Boolean).length} misfires), ${p.length} inbox frames ` +
    `(${p.reduce((a, b) => a + b, 0).toFixed(1)} expected keepers); ${featureSet} (${data.corpus.dim} columns` +
    `${known.length ? `, the last ${known.length} the known terms ${known.join(', ')}` : ''})`,
);
const row = (what: string, f: TruthFigures, g?: number): string =>
  `  ${what.padEnd(44)} ratio ${f3(f.softAucRatio)}  best-Platt gain ${f3(f.gainShareBestPlatt)}` +
  (g === undefined ? '' : `  calibrated gain ${f3(g)}`);
let best = { ratio: -1, k: 0, lambda: 0, normalOnly: false };
for (const k of pcaSizes) {
  const cols = await columns(data, k);
  console.log(`${featureSet}${k ? ` + ${k} vector PCA components` : ''} (${cols.dim} columns):`);
  const taste = data.corpus.frames.map((f) => f.taste);
  const normal = misfire.flatMap((m, i) => (m ? [] : [i]));
  for (const lambda of ridges) {
    for (const [label, tr, t] of [
      ['all', cols.tr, taste],
      ['no misfires', pickRows(cols.tr, cols.dim, normal), normal.map((i) => taste[i] as number)],
    ] as const) {
      const s = ridge(tr, cols.te, cols.dim, [t as number[]], lambda)[0] as number[];
      // the taste's own curve, as if the fit were the taste: q = sigmoid(scale * fit + bias)
      const f = truthFigures(
        s,
        s.map((v) => sigmoid(scale * v + bias)),
        p,
        keeperRate,
      );
      console.log(row(`oracle ridge ${lambda} on the taste (${label})`, f, f.gainShare));
      if (f.softAucRatio > best.ratio) best = { ratio: f.softAucRatio, k, lambda, normalOnly: label !== 'all' };
    }
  }
  const all = data.corpus.y.map((_, i) => i);
  for (const c of cs) {
    const f = logisticOn(cols, all, data.corpus.y, c);
    console.log(row(`logistic C ${c} on the keeper labels`, f, f.gainShare));
    if (!values.soft) continue;
    const g = logisticOn(cols, all, trueP, c);
    console.log(row(`logistic C ${c} on the true keep probabilities`, g, g.gainShare));
  }
  for (const share of walkShares) for (const c of cs) learningPoint(cols, share, c);
}

/**
 * L2 logistic regression fitted on the corpus rows `rows` against `target` (0/1 keeper labels, or the true keep
 * probabilities as soft labels: what the same learner would reach without the labels' sampling noise), judged on the
 * inbox.
 */
function logisticOn(
  cols: { tr: Float64Array; te: Float64Array; dim: number },
  rows: readonly number[],
  target: readonly number[],
  c: number,
): TruthFigures {
  const fit = fitLogisticL2(
    pickRows(cols.tr, cols.dim, rows),
    cols.dim,
    rows.map((i) => target[i] as number),
    c,
  );
  const s = Array.from({ length: p.length }, (_, i) => {
    let v = fit.b;
    for (let j = 0; j < cols.dim; j++) v += (fit.w[j] as number) * (cols.te[i * cols.dim + j] as number);
    return v;
  });
  return truthFigures(s, s.map(sigmoid), p, keeperRate);
}

/** The learning curve's point: logistic regression on the keeper labels of a seeded share of the walks, repeated. */
function learningPoint(cols: { tr: Float64Array; te: Float64Array; dim: number }, share: number, c: number): void {
  const walks = [...new Set(data.corpus.frames.map((f) => f.session))].sort((a, b) => a - b);
  const figs: TruthFigures[] = [];
  let keepers = 0;
  for (let r = 0; r < repeats; r++) {
    const drawn = new Set(new Rng(SEED + r).shuffle(walks).slice(0, Math.round(share * walks.length)));
    const rows = data.corpus.frames.flatMap((f, i) => (drawn.has(f.session) ? [i] : []));
    keepers += rows.reduce((a, i) => a + (data.corpus.y[i] as number), 0) / repeats;
    figs.push(logisticOn(cols, rows, data.corpus.y, c));
  }
  const span = (k: 'softAucRatio' | 'gainShareBestPlatt'): string => {
    const v = figs.map((f) => f[k]);
    return `${f3(v.reduce((a, b) => a + b, 0) / v.length)} (${f3(Math.min(...v))}-${f3(Math.max(...v))})`;
  };
  console.log(
    `  logistic C ${c} on the labels of ${share} of the walks (${keepers.toFixed(0)} keepers, ${repeats} draws): ` +
      `ratio ${span('softAucRatio')}  best-Platt gain ${span('gainShareBestPlatt')}`,
  );
}

const rowsOf = misfire.flatMap((m, i) => (m && best.normalOnly ? [] : [i]));
console.log(
  `\nthe best oracle fit by inbox ratio: ${best.k} components, ridge ${best.lambda} ` +
    `(${best.normalOnly ? 'without the misfires' : 'all training photos'})`,
);
termMisses(rowsOf, await columns(data, best.k), best.lambda);
