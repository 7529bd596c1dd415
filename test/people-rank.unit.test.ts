/**
 * The people columns in the rankers: the feature sets that carry them, the columns a set selects, missing values
 * imputed, and the decision rule's paired gain of a learner with them over the same learner without.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FEATURE_SETS,
  fitStandardizer,
  standardize,
  usesPeople,
  withPeople,
  type Dataset,
} from '../lib/4-dataset/rows.js';
import { PEOPLE_NAMES } from '../lib/4-dataset/people.js';
import { selectColumns } from '../lib/5-rank/fit.js';
import { plan, ruleContenders } from '../lib/5-rank/compare.js';
import { decide, DEFAULT_RULE, ruleText } from '../lib/5-rank/decide.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { Rng } from '../lib/util/rng.js';
import { peopleLine } from '../lib/5-rank/verdict.js';
import { columnMismatch, descriptorMismatch } from '../lib/6-score/scoring.js';
import { DESCRIPTOR_VERSION } from '../lib/db/vectors.js';

test('the people feature sets: which sets have them, which columns each selects', () => {
  assert.deepEqual(
    FEATURE_SETS.filter((f) => usesPeople(f)),
    ['vector+descriptor+context+people', 'descriptor+context+people'],
  );
  assert.equal(withPeople('vector+descriptor+context'), 'vector+descriptor+context+people');
  assert.equal(withPeople('descriptor+context'), 'descriptor+context+people');
  assert.equal(withPeople('vector'), null);
  const names = ['v0', 'v1', 'brightness', 'hour_sin', ...PEOPLE_NAMES];
  const ds = { names, dim: names.length, ids: [1], x: Float32Array.from(names, (_, i) => i) } as unknown as Dataset;
  assert.deepEqual(selectColumns(ds, 'vector+descriptor+context').names, ['v0', 'v1', 'brightness', 'hour_sin']);
  assert.deepEqual(selectColumns(ds, 'descriptor+context+people').names, ['brightness', 'hour_sin', ...PEOPLE_NAMES]);
  assert.deepEqual(Array.from(selectColumns(ds, 'context').x), [3]);
  // the walk's columns are means of the descriptor: a set without it (the metadata model) leaves them out
  const walked = { ...ds, names: ['brightness', 'hour_sin', 'walk_haze'], dim: 3, x: Float32Array.from([0, 1, 2]) };
  assert.deepEqual(selectColumns(walked as Dataset, 'context').names, ['hour_sin']);
  assert.deepEqual(selectColumns(walked as Dataset, 'descriptor+context').names, [
    'brightness',
    'hour_sin',
    'walk_haze',
  ]);
  // a photo not yet examined: NaN people columns become the training mean (0 after standardising)
  const x = Float32Array.from([1, 0, 3, 2, NaN, NaN]);
  const s = fitStandardizer(x, 2, [0, 1, 2]);
  assert.deepEqual(Array.from(s.mean), [2, 1]);
  assert.deepEqual(Array.from(standardize(x, 2, s)), [-1, -1, 1, 1, 0, 0]);
});

test('the comparison runs each learner with and without the people columns when the corpus has detections', () => {
  const { baseline, contenders } = ruleContenders(true, 'vector+descriptor+context', true);
  assert.equal(baseline.name, 'pca-logistic · vector');
  assert.deepEqual(
    contenders.map((c) => c.name),
    ['pairwise', 'contrastive', 'contrastive-multi', 'logistic']
      .flatMap((a) => [`${a} · vector+descriptor+context`])
      .concat(
        ['pairwise', 'contrastive', 'contrastive-multi', 'logistic'].map(
          (a) => `${a} · vector+descriptor+context+people`,
        ),
        ['logistic · descriptor+context', 'logistic · descriptor+context+people'],
      ),
  );
  assert.equal(ruleContenders(true, 'vector+descriptor+context').contenders.length, 4);
  const withP = plan(true, true);
  assert.equal(withP.length, plan(true).length + 6);
  assert.deepEqual(
    withP.filter((e) => usesPeople(e.featureSet)).map((e) => e.arch),
    ['pairwise', 'contrastive', 'contrastive-multi', 'logistic', 'logistic'],
  );
  assert.deepEqual(
    plan(false, true)
      .filter((e) => usesPeople(e.featureSet))
      .map((e) => e.featureSet),
    new Array(4).fill('descriptor+context+people'),
  );
});

/** 40 walks of 30 photos; keepers are the frames with a large person, which only the people columns see. */
function plantedDataset(): Dataset {
  const rng = new Rng(11);
  const names = ['brightness', 'hour_sin', ...PEOPLE_NAMES];
  const dim = names.length;
  const n = 40 * 30;
  const x = new Float32Array(n * dim);
  const y = new Uint8Array(n);
  const session = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    session[i] = Math.floor(i / 30);
    const height = rng.next() * 0.6;
    y[i] = height + 0.1 * rng.normal() > 0.5 ? 1 : 0;
    x[i * dim] = rng.normal();
    x[i * dim + 1] = rng.normal();
    for (let j = 2; j < dim; j++) x[i * dim + j] = rng.normal() * 0.2;
    x[i * dim + 2 + PEOPLE_NAMES.indexOf('people_max_height')] = height;
    // a tenth of the photos not examined by the detector
    if (i % 10 === 3) x.fill(NaN, i * dim + 2, (i + 1) * dim);
  }
  return {
    featureSet: 'descriptor+context+people',
    modelId: null,
    ids: Array.from({ length: n }, (_, i) => i + 1),
    views: new Array(n).fill(0),
    dim,
    names,
    x,
    scheme: 'session',
    y,
    split: new Array(n).fill('train'),
    session,
    sessions: Array.from({ length: 40 }, (_, w) => `w${w}`),
    missingVector: 0,
    splitSeed: 7,
    splitNote: null,
  };
}

test('the decision rule reports the paired gain of the people columns over the same learner without', async () => {
  await initBackend();
  const ds = plantedDataset();
  const named = (featureSet: 'descriptor+context' | 'descriptor+context+people') => ({
    name: `logistic · ${featureSet}`,
    arch: 'logistic' as const,
    featureSet,
  });
  const evidence = await decide(
    ds,
    { name: 'pca-logistic · descriptor+context', arch: 'pca-logistic', featureSet: 'descriptor+context' },
    [named('descriptor+context'), named('descriptor+context+people')],
    { seed: 7, settings: { ...DEFAULT_RULE, resamples: 100 }, hyper: { learningRate: 0.05 } },
  );
  assert.ok(evidence);
  assert.equal(evidence.photos, 1200);
  const gain = evidence.people?.[0];
  assert.ok(gain);
  assert.equal(gain.name, 'logistic · descriptor+context+people');
  assert.equal(gain.without, 'logistic · descriptor+context');
  // keepers are the frames with a tall person: AP near 1 with the column, near the keeper rate without
  const withAp = evidence.contenders[1]?.ap as number;
  const withoutAp = evidence.contenders[0]?.ap as number;
  assert.ok(withAp > 0.5 && withoutAp < 0.3, `AP ${withAp} with, ${withoutAp} without`);
  assert.ok(Math.abs(gain.diff.value - (withAp - withoutAp)) < 1e-9);
  assert.ok(gain.diff.lo > 0.2, `interval ${JSON.stringify(gain.diff)}`);
  assert.equal(evidence.chosen.name, 'logistic · descriptor+context+people');
  assert.match(ruleText(evidence), /people columns: logistic · descriptor\+context\+people minus logistic/);
});

test('flux train says whether the people columns joined, and what brings them in', () => {
  assert.equal(
    peopleLine({ examined: 0, corpus: 2458, compared: false }),
    'people columns: not compared, no corpus photo has been through a person detector; flux detect on this ' +
      'database examines the rest, then flux train again',
  );
  assert.equal(
    peopleLine({ examined: 80, corpus: 2458, compared: false }),
    'people columns: not compared, a person detector has examined 80 of 2458 corpus photos, fewer than half; flux ' +
      'detect on this database examines the rest, then flux train again',
  );
  assert.equal(
    peopleLine({ examined: 2458, corpus: 2458, compared: true }),
    'people columns: compared (a person detector has examined 2458 of 2458 corpus photos)',
  );
});

test('a model whose columns are not the rows says which and what to do', () => {
  const names = ['v0', 'v1', 'brightness', 'hour_sin', 'people_count'];
  const model = {
    id: 'logistic-1',
    dim: 6,
    featureSet: 'vector+descriptor+context+people' as const,
    embeddingModel: 'm',
  };
  // trained on rows that still had a walk's length
  const older = columnMismatch({ ...model, names: [...names, 'log_session_frames'] }, { dim: 5, names }, 'inbox');
  assert.match(older, /expects 6 features .*the inbox rows have 5: .*with log_session_frames, which rows no longer/);
  assert.match(older, /train again with flux train$/);
  // trained before a column joined
  const newer = columnMismatch({ ...model, dim: 4, names: names.slice(0, 4) }, { dim: 5, names }, 'photos');
  assert.match(newer, /without people_count\); train again/);
  // the same columns around a vector of another width: the embedding
  const wide = columnMismatch(
    { ...model, dim: 4, names: ['v0', 'brightness', 'hour_sin', 'people_count'] },
    { dim: 5, names },
    'inbox',
  );
  assert.match(wide, /re-embed with m \(flux embed\), or train again$/);
  assert.doesNotMatch(wide, /another version/);
});

test('a model trained on pixel descriptors of another version is told to train again; one without them is not', () => {
  const model = { id: 'logistic-2', featureSet: 'descriptor+context+people' as const };
  assert.equal(descriptorMismatch({ ...model, descriptorVersion: DESCRIPTOR_VERSION }), null);
  // trained before versions were recorded: version 1
  assert.equal(
    descriptorMismatch(model),
    `keeper model logistic-2 was trained on pixel descriptors of version 1 (descriptor+context+people); the rows ` +
      `are version ${DESCRIPTOR_VERSION}, whose columns measure differently: train again with flux train`,
  );
  assert.match(descriptorMismatch({ ...model, descriptorVersion: DESCRIPTOR_VERSION + 1 }) ?? '', /train again/);
  // the vector alone reads no descriptor column
  assert.equal(descriptorMismatch({ id: 'pca-logistic-1', featureSet: 'vector' }), null);
});
