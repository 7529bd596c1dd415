/**
 * People shown: the inbox page and the portal overlay the detected boxes, the report breaks keeper density down by
 * people count and the largest person's size. Detections are written as the detection stage writes them (planted
 * boxes, so the figures are known), on a matched small sample with a trained model and a scored inbox.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Db } from '../lib/db/duckdb.js';
import { ensureDetectionSchema, writeExamined, type Examined } from '../lib/db/detections.js';
import { modelId, presentDetectors, type DetectorName } from '../lib/2-detect/models.js';
import { PEOPLE_NAMES } from '../lib/4-dataset/people.js';
import { loadKeeperModel } from '../lib/5-rank/model-file.js';
import { modelFeatures } from '../lib/6-score/scoring.js';
import { peopleDensity } from '../lib/8-analysis/people.js';
import { trainAndScore } from '../lib/pipeline/train-and-score.js';
import { formatTrain } from '../lib/5-rank/verdict.js';
import { scoreInbox } from '../lib/pipeline/inbox.js';
import { runReport } from '../lib/pipeline/stages.js';
import { startPortal } from '../lib/portal/server.js';
import type { SampleResult } from '../lib/0-sample/generate.js';
import { scoredSmallSample, tempDir } from './helpers.js';

const work = tempDir('people-views');
let sample: SampleResult;
let dbFile: string;
after(() => work.cleanup());

const PERSON = modelId('centernet');
const FACE = modelId('blazeface');
type Found = Examined['found'][number];
const box = (kind: 'person' | 'face', score: number, x: number, y: number, w: number, h: number): Found => ({
  kind,
  score,
  x,
  y,
  w,
  h,
  luma: 0.5,
  shadow: kind === 'person' ? 0 : null,
  keypoints: null,
});
/** Inbox ids: the first with a person and a face, the second with a person below the feature score only. */
let inboxIds: number[] = [];
/** Corpus: keepers and non-keepers planted into groups with known people. */
const planted = { near1: [] as number[], far2: [] as number[], none: [] as number[], skipped: 0 };

function examined(set: 'photos' | 'inbox', id: number, persons: Found[], faces: Found[] = []): Examined[] {
  const base = { set, photoId: id, previewSize: 384, frameLuma: 0.4, error: null };
  return [
    { ...base, modelId: PERSON, found: persons },
    { ...base, modelId: FACE, found: faces },
  ];
}

before(async () => {
  ({ sample, dbFile } = await scoredSmallSample(work.dir));
  const db = await Db.open(dbFile);
  try {
    await ensureDetectionSchema(db);
    inboxIds = (await db.all<{ id: number }>('SELECT inbox_id AS id FROM inbox_photos ORDER BY 1')).map((r) =>
      Number(r.id),
    );
    const [a, b, ...rest] = inboxIds as [number, number, ...number[]];
    await writeExamined(db, [
      ...examined('inbox', a, [box('person', 0.8, 0.25, 0.3, 0.1, 0.5)], [box('face', 0.9, 0.27, 0.32, 0.04, 0.06)]),
      ...examined('inbox', b, [box('person', 0.22, 0.6, 0.4, 0.05, 0.2)]),
      ...rest.flatMap((id) => examined('inbox', id, [])),
    ]);
    // corpus: every third photo one near person, every third two far ones, every third nobody; the last 5 skipped
    const photos = await db.all<{ id: number }>('SELECT photo_id AS id FROM photos ORDER BY 1');
    const batch: Examined[] = [];
    photos.slice(0, photos.length - 5).forEach(({ id }, i) => {
      const pid = Number(id);
      if (i % 3 === 0) {
        planted.near1.push(pid);
        batch.push(...examined('photos', pid, [box('person', 0.7, 0.3, 0.2, 0.15, 0.55)]));
      } else if (i % 3 === 1) {
        planted.far2.push(pid);
        const far = [box('person', 0.6, 0.1, 0.5, 0.03, 0.1), box('person', 0.5, 0.7, 0.5, 0.03, 0.12)];
        batch.push(...examined('photos', pid, far));
      } else {
        planted.none.push(pid);
        batch.push(...examined('photos', pid, []));
      }
    });
    planted.skipped = 5;
    await writeExamined(db, batch);
  } finally {
    db.close();
  }
});

test('the inbox page overlays the people and faces found, behind a check box', async () => {
  // scoring again writes the page with the detections now in the database
  const r = await scoreInbox({ db: dbFile, inbox: sample.inbox });
  const html = readFileSync(r.html as string, 'utf8');
  assert.equal(html.match(/class="pbox person"/g)?.length, 1, 'the person below the score 0.25 is not drawn');
  assert.equal(html.match(/class="pbox face"/g)?.length, 1);
  assert.ok(html.includes('title="person 0.80" style="left:25.00%;top:30.00%;width:10.00%;height:50.00%"'));
  assert.ok(html.includes('title="face 0.90" style="left:27.00%;top:32.00%;width:4.00%;height:6.00%"'));
  assert.ok(html.includes('<input type="checkbox" id="show-people">'));
  assert.ok(html.includes('#show-people:checked~.grid .pbox'), 'the style sheet shows the boxes when ticked');
});

test('the portal sends the boxes with each inbox photo and offers the toggle', async () => {
  const portal = await startPortal({ db: dbFile, port: 0 });
  try {
    const page = (await (await fetch(new URL('/api/inbox?limit=1000', portal.url))).json()) as {
      items: Array<{ photo_id: number; people?: Array<Record<string, unknown>> }>;
    };
    const byId = new Map(page.items.map((i) => [i.photo_id, i]));
    assert.deepEqual(byId.get(inboxIds[0] as number)?.people, [
      { kind: 'person', score: 0.8, x: 0.25, y: 0.3, w: 0.1, h: 0.5 },
      { kind: 'face', score: 0.9, x: 0.27, y: 0.32, w: 0.04, h: 0.06 },
    ]);
    assert.equal(byId.get(inboxIds[1] as number)?.people, undefined);
    assert.equal(page.items.filter((i) => i.people).length, 1);
    const shell = await (await fetch(new URL('/', portal.url))).text();
    assert.ok(shell.includes('id="show-people"'));
    const script = await (await fetch(new URL('/static/inbox.js', portal.url))).text();
    assert.ok(script.includes("classList.toggle('people'"));
  } finally {
    await portal.close();
  }
});

test('the report breaks keeper density down by people count and the largest person', async () => {
  const db = await Db.open(dbFile, { readOnly: true });
  let keepers: Set<number>;
  let d: Awaited<ReturnType<typeof peopleDensity>>;
  try {
    keepers = new Set(
      (await db.all<{ id: number }>('SELECT photo_id AS id FROM photos WHERE keeper')).map((r) => Number(r.id)),
    );
    d = await peopleDensity(db);
  } finally {
    db.close();
  }
  assert.ok(d);
  const k = (ids: number[]): number => ids.filter((id) => keepers.has(id)).length;
  assert.ok(k(planted.near1) > 0 && k(planted.far2) > 0, 'keepers in the planted groups');
  assert.equal(d.notExamined, planted.skipped);
  assert.equal(d.examined, planted.near1.length + planted.far2.length + planted.none.length);
  const row = (g: string, n: number[]) => ({ photos: n.length, keepers: k(n), density: k(n) / n.length });
  const pick = (r: { photos: number; keepers: number; density: number | null }) => ({
    photos: r.photos,
    keepers: r.keepers,
    density: r.density,
  });
  assert.deepEqual(d.byCount.map(pick), [
    row('no one', planted.none),
    row('1 person', planted.near1),
    row('2 people', planted.far2),
    { photos: 0, keepers: 0, density: null },
  ]);
  assert.deepEqual(d.bySize.map(pick), [
    row('no one', planted.none),
    row('far', planted.far2),
    { photos: 0, keepers: 0, density: null },
    row('near', planted.near1),
  ]);
  const out = join(work.dir, 'report.html');
  const r = await runReport({ db: dbFile, out });
  assert.ok(r.sections.includes('people'), r.sections.join(','));
  const html = readFileSync(out, 'utf8');
  const section = html.slice(html.indexOf('<section id="people">'));
  assert.ok(section.includes(`${d.examined} photos examined by ${PERSON}`));
  assert.ok(section.includes('Keeper density by people in the frame'));
});

test('a model trained with the people columns: the inbox is examined before scoring, or refused in one line', async () => {
  const report = await trainAndScore({
    db: dbFile,
    arch: 'logistic',
    featureSet: 'descriptor+context+people',
    modelsDir: join(work.dir, 'models-people'),
    resamples: 10,
    hyper: { epochs: 2 },
    skipPhotoSplit: true,
    score: false,
  });
  assert.equal(report.winner.featureSet, 'descriptor+context+people');
  // the corpus examined but for the 5 photos left out above: the people columns joined, and the report says so
  const cover = report.data.people;
  assert.ok(cover, 'coverage in the report');
  assert.deepEqual(cover, { examined: cover.corpus - planted.skipped, corpus: cover.corpus, compared: true });
  assert.ok(formatTrain(report).includes(`people columns: compared (a person detector has examined ${cover.examined}`));
  const dir = report.dir;
  const model = loadKeeperModel(dir);
  // the people columns, then the derived ones (lib/4-dataset/derived.ts)
  const people = model.names.filter((n) => (PEOPLE_NAMES as readonly string[]).includes(n));
  assert.deepEqual(people, [...PEOPLE_NAMES]);
  assert.ok(model.names.includes('people_none_contrast'));
  // the planted corpus: a near person is 0.55 of the frame tall, far ones 0.1 and 0.12; the training mean of the
  // people_count column lies between the groups' 0, 1 and 2
  const mean = model.standardizer.mean[model.names.indexOf('people_count')] as number;
  assert.ok(mean > 0.8 && mean < 1.2, `people_count mean ${mean}`);
  assert.deepEqual(model.people, { personModel: PERSON, faceModel: FACE }, 'the detector runs it was trained on');
  const filesPresent = ['centernet', 'blazeface'].every((m) => presentDetectors().includes(m as DetectorName));
  if (filesPresent) {
    // every inbox photo is already examined: nothing to run, and every photo is scored
    const r = await scoreInbox({ db: dbFile, inbox: sample.inbox, modelDir: dir });
    assert.equal(r.model, model.id);
    const db = await Db.open(dbFile, { readOnly: true });
    try {
      const n = await db.value('SELECT count(*) FROM inbox_scores WHERE raw_score IS NOT NULL');
      assert.equal(Number(n), inboxIds.length, 'every inbox photo scored with its people columns');
    } finally {
      db.close();
    }
    // the same model as one trained before descriptor versions were recorded: told to train again
    const old = join(work.dir, 'before-versions', 'keeper-v1');
    cpSync(dir, old, { recursive: true });
    const config = JSON.parse(readFileSync(join(old, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete config.descriptorVersion;
    writeFileSync(join(old, 'config.json'), JSON.stringify(config));
    await assert.rejects(
      scoreInbox({ db: dbFile, inbox: sample.inbox, modelDir: old }),
      /was trained on pixel descriptors of version 1 \(descriptor\+context\+people\).*train again with flux train/,
    );
  } else {
    await assert.rejects(
      scoreInbox({ db: dbFile, inbox: sample.inbox, modelDir: dir }),
      /uses the people columns \(descriptor\+context\+people\), so the inbox needs centernet and blazeface before scoring: detector files missing .*flux detect --install/,
    );
  }
  // an inbox no person detector has examined is refused, not scored with every people column unknown
  const db = await Db.open(dbFile);
  try {
    await db.run(`DELETE FROM detections_examined WHERE "set" = 'inbox'`);
    await assert.rejects(
      modelFeatures(db, model, 'inbox'),
      /uses the people columns \(descriptor\+context\+people\) of centernet \(centernet@[^)]+\); no inbox photo has been through centernet: run flux detect --db \S+ --models centernet first/,
    );
    // another person model ran since, over every photo: the model still reads the one it was trained on, and an
    // inbox only that other model examined is refused, naming the one to run
    const other = modelId('nanodet');
    const nobody = (set: 'photos' | 'inbox', ids: number[]): Examined[] =>
      ids.map((photoId) => ({
        set,
        photoId,
        previewSize: 384,
        frameLuma: 0.4,
        error: null,
        modelId: other,
        found: [],
      }));
    const corpus = (await db.all<{ id: number }>('SELECT photo_id AS id FROM photos')).map((r) => Number(r.id));
    await writeExamined(db, [...nobody('photos', corpus), ...nobody('inbox', inboxIds)]);
    const count = async (m: typeof model): Promise<number> => {
      const rows = await modelFeatures(db, m, 'photos');
      const j = rows.names.indexOf('people_count');
      return rows.ids.reduce((sum, _, i) => sum + (Number(rows.x[i * rows.dim + j]) || 0), 0);
    };
    assert.ok((await count(model)) > planted.near1.length, 'the persons centernet found');
    assert.equal(await count({ ...model, people: { personModel: other, faceModel: FACE } }), 0, 'nanodet found none');
    await assert.rejects(
      modelFeatures(db, model, 'inbox'),
      /uses the people columns \(descriptor\+context\+people\) of centernet \(centernet@[^)]+\); no inbox photo has been through centernet: run flux detect --db \S+ --models centernet first \(flux score --inbox runs it\)$/,
    );
  } finally {
    db.close();
  }
});
