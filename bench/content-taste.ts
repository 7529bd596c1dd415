/**
 * A content taste beside a planted archive's own: the archive's true keep probabilities (its truth.json) with a term
 * added on the image vector's leading principal axes (a seeded random mix of the first `--axes`, standardised, times
 * `--beta` in log-odds), shifted so the mean keep rate stays the archive's, and every corpus photo's label drawn
 * again from them. The decision rule then runs on the new labels: logistic regression on the descriptor, context and
 * people columns (blind to the added term), the same beside the image vector reduced to 32 whitened components (its
 * default), beside the vector whole (`--vector-pca 0`), and pairwise beside the vector, against the plain baseline
 * (the vector alone). The right answer is a model that reads the vector and the other columns together; the term is
 * planted where the archive's pictures already vary, so the vector carries it as an image model's would.
 *
 *   node dist/bench/planted-archive.js --walks 150 --seeds 18 --dir DIR --keep
 *   cp -r DIR/work-18-150-2-20-384 COPY    # loading the rows may write the walk split into the database
 *   node dist/bench/content-taste.js COPY DIR/sample-18-150-2-20-384 [--beta 1.5] [--axes 10] [--seed 99]
 *
 * With `--relabel FILE` the rule does not run here: the new labels are written into COPY's database (its keepers
 * replaced, its walk split dropped so training deals it again by the new keeper counts) and the new probabilities of
 * every corpus and inbox photo into FILE (the inbox's from its own vectors on the same axes), so the whole pipeline
 * can be judged on the content taste, inbox included:
 *
 *   node dist/bench/content-taste.js COPY DIR/sample-18-150-2-20-384 --relabel COPY/content-truth.json
 *   node dist/bench/planted-archive.js --walks 150 --seeds 18 --dir DIR --db COPY/flux.duckdb \
 *     --truth COPY/content-truth.json
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Db, withDb } from '../lib/db/duckdb.js';
import { workspaceOf } from '../lib/db/schema.js';
import { loadDataset, loadFeatures, type FeatureSet } from '../lib/4-dataset/rows.js';
import { pcaAxes } from '../lib/5-rank/baseline.js';
import { decide, DEFAULT_RULE, type Contender } from '../lib/5-rank/decide.js';
import { selectColumns } from '../lib/5-rank/fit.js';
import { project } from '../lib/5-rank/reduce.js';
import type { Arch, Hyper } from '../lib/5-rank/scorers.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { checkInt, checkNumber, FluxError, orExit } from '../lib/util/check.js';
import { Rng } from '../lib/util/rng.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    beta: { type: 'string', default: '1.5' },
    axes: { type: 'string', default: '10' },
    seed: { type: 'string', default: '99' },
    model: { type: 'string', default: 'mobilenetv2-int8' },
    // write the labels into WORKDIR's database and the probabilities into this file instead of running the rule
    relabel: { type: 'string' },
  },
});
const [work, sample] = positionals;
const opts = await orExit('content-taste', () => {
  if (!work || !sample) throw new FluxError('usage: content-taste WORKDIR SAMPLEDIR (see the file comment)');
  if (!existsSync(join(work, 'flux.duckdb'))) throw new FluxError(`WORKDIR: no flux.duckdb in ${work}`);
  if (!existsSync(join(sample, 'truth.json'))) throw new FluxError(`SAMPLEDIR: no truth.json in ${sample}`);
  return {
    beta: checkNumber('--beta', values.beta, 0, 20),
    axes: checkInt('--axes', values.axes, 1, 256),
    seed: checkInt('--seed', values.seed, 0, 0xffffffff),
    relabel: values.relabel,
  };
});

const logit = (q: number): number => Math.log(q / (1 - q));
const sigmoid = (t: number): number => 1 / (1 + Math.exp(-t));

await initBackend();
const db = await Db.openIndex(join(work as string, 'flux.duckdb'), { waitMs: 120_000 });
const full: FeatureSet = 'vector+descriptor+context+people';
const ws = await workspaceOf(db);
const ds = await loadDataset(db, ws, {
  featureSet: full,
  modelId: values.model as string,
  scheme: 'session',
  seed: 7,
});
const pathOf = new Map(
  (await db.all<{ id: number; path: string }>('SELECT photo_id AS id, path FROM photos')).map((r) => [
    Number(r.id),
    r.path,
  ]),
);
// with --relabel: the inbox's vectors and paths, for its probabilities on the same axes
const inbox = opts.relabel
  ? {
      rows: await loadFeatures(db, ws, { set: 'inbox', featureSet: 'vector', modelId: values.model as string }),
      pathOf: new Map(
        (await db.all<{ id: number; path: string }>('SELECT inbox_id AS id, path FROM inbox_photos')).map((r) => [
          Number(r.id),
          r.path,
        ]),
      ),
    }
  : null;
db.close();

// the archive's own keep probability of every row (photos the truth does not know keep the mean rate)
const truth = JSON.parse(readFileSync(join(sample as string, 'truth.json'), 'utf8')) as {
  photos: Array<{ path: string; p?: number }>;
  inbox: Array<{ path: string; p?: number }>;
};
const pByPath = new Map(truth.photos.filter((t) => t.p !== undefined).map((t) => [t.path, t.p as number]));
// the database keeps the path the truth names (relative to the archive), as bench/planted-archive.ts reads it
const own = ds.ids.map((id) => pByPath.get(pathOf.get(Number(id)) ?? '') ?? NaN);
const known = own.filter(Number.isFinite);
const rate = known.reduce((a, b) => a + b, 0) / known.length;

// the content term: a seeded mix of the vector's leading principal axes over every row, standardised
const vector = selectColumns(ds, 'vector');
const n = ds.ids.length;
const axes = await pcaAxes(vector.x, vector.dim, [...Array(n).keys()], opts.axes, opts.seed);
const rng = new Rng(opts.seed).fork('content-taste');
const mix = Array.from({ length: axes.k }, () => rng.normal());
/** Row `i`'s mix of its projections on the axes (`k` per row in `projected`). */
const mixOf = (projected: Float32Array, i: number): number =>
  mix.reduce((s, w, a) => s + w * (projected[i * axes.k + a] as number), 0);
const raw = Array.from({ length: n }, (_, i) => mixOf(axes.projected, i));
const mean = raw.reduce((a, b) => a + b, 0) / n;
const sd = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
const term = raw.map((v) => (opts.beta * (v - mean)) / sd);
const base = own.map((q) => logit(Math.min(0.999, Math.max(1e-4, Number.isFinite(q) ? q : rate))));
let shift = 0;
for (let it = 0; it < 60; it++) {
  const m = base.reduce((s, b, i) => s + sigmoid(b + (term[i] as number) + shift), 0) / n;
  shift += logit(rate) - logit(m);
}
const y = Uint8Array.from(base, (b, i) => (rng.next() < sigmoid(b + (term[i] as number) + shift) ? 1 : 0));
console.log(
  `content taste on ${work}: ${n} photos (${known.length} with a true probability), the archive's mean rate ` +
    `${rate.toFixed(4)}; term ${opts.beta} x a mix of the vector's first ${axes.k} principal axes (seed ${opts.seed}); ` +
    `${y.reduce((a, b) => a + b, 0)} keepers drawn`,
);

if (opts.relabel) {
  // the same term for every inbox photo, from the corpus's axes and scale (checked on the corpus's first row)
  const termOf = (projected: Float32Array, i: number): number => (opts.beta * (mixOf(projected, i) - mean)) / sd;
  const drift = Math.abs(termOf(project(vector.x.subarray(0, vector.dim), vector.dim, axes), 0) - (term[0] as number));
  if (drift > 1e-3) throw new Error(`the inbox's projection differs from the corpus's by ${drift}`);
  const rows = (inbox as NonNullable<typeof inbox>).rows;
  const projected = project(rows.x, rows.dim, axes);
  const inboxOwn = new Map(truth.inbox.filter((t) => t.p !== undefined).map((t) => [t.path, t.p as number]));
  const inboxP = rows.ids.flatMap((id, r) => {
    const path = (inbox as NonNullable<typeof inbox>).pathOf.get(Number(id)) ?? '';
    const q = inboxOwn.get(path);
    if (q === undefined) return [];
    const b = logit(Math.min(0.999, Math.max(1e-4, q)));
    return [{ path, p: sigmoid(b + termOf(projected, r) + shift) }];
  });
  const photos = ds.ids.flatMap((id, i) => {
    const path = pathOf.get(Number(id));
    return path && Number.isFinite(own[i])
      ? [{ path, p: sigmoid((base[i] as number) + (term[i] as number) + shift) }]
      : [];
  });
  writeFileSync(
    opts.relabel,
    JSON.stringify({ beta: opts.beta, axes: axes.k, seed: opts.seed, photos, inbox: inboxP }),
  );
  const keepers = ds.ids.filter((_, i) => y[i]).map(Number);
  await withDb(join(work as string, 'flux.duckdb'), async (d) => {
    await d.run('UPDATE photos SET keeper = false');
    await d.run(`UPDATE photos SET keeper = true WHERE photo_id IN (${keepers.join(', ')})`);
    await d.run('DELETE FROM dataset_split');
  });
  const expected = inboxP.reduce((a, b) => a + b.p, 0);
  console.log(
    `relabelled ${join(work as string, 'flux.duckdb')}: ${keepers.length} keepers, the walk split dropped; ` +
      `probabilities of ${photos.length} corpus and ${inboxP.length} inbox photos (${expected.toFixed(1)} expected ` +
      `inbox keepers) in ${opts.relabel}`,
  );
  process.exit(0);
}

const named = (arch: Arch, featureSet: FeatureSet, hyper?: Partial<Hyper>, tag = ''): Contender => ({
  name: `${arch} · ${featureSet}${tag}`,
  arch,
  featureSet,
  ...(hyper ? { hyper } : {}),
});
const t0 = performance.now();
const e = await decide(
  { ...ds, y },
  named('pca-logistic', 'vector'),
  [
    named('logistic', 'descriptor+context+people'),
    named('logistic', full),
    named('logistic', full, { vectorPca: 0 }, ' (the vector whole)'),
    named('pairwise', full),
  ],
  { seed: 7, settings: DEFAULT_RULE },
);
if (!e) throw new Error('no keeper was scored out of fold');
const s = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`;
console.log(
  `${((performance.now() - t0) / 1000).toFixed(0)} s; plain baseline ${e.baseline.name}: AP ${e.baseline.ap.toFixed(3)}`,
);
for (const c of e.contenders) {
  console.log(
    `  ${c.name.padEnd(62)} AP ${c.ap.toFixed(3)}, ${s(c.diff.value)} [${s(c.diff.lo)}, ${s(c.diff.hi)}]: ${c.outcome}`,
  );
}
const p = e.pairing;
if (p)
  console.log(
    `  pairing: ${p.best} minus ${p.runnerUp} ${s(p.diff.value)} [${s(p.diff.lo)}, ${s(p.diff.hi)}]: ${p.outcome}`,
  );
console.log(`decision: ${e.decision}, ${e.chosen.name}`);
