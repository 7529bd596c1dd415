import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Db } from '../lib/db/duckdb.js';
import { findModel } from '../lib/2-embed/models.js';
import { generateSample, type SampleResult } from '../lib/0-sample/generate.js';
import { plantMatchingArchive, type PlantedKeeper } from '../lib/0-sample/planted.js';
import { runEmbed, runIngest } from '../lib/pipeline/stages.js';
import { matchAt, SMALL_SAMPLE, tempDir } from './helpers.js';

const hasModel = findModel('mobilenetv2-int8').path !== null;
const work = tempDir('match-planted');
after(() => work.cleanup());

let sample: SampleResult;
let planted: PlantedKeeper[];
let rows: Map<string, { status: string; photo: string | null; offset: number | null; reason: string | null }>;

before(async () => {
  // the small sample at twice its frame size (previews of 384 px, as ingest makes them from camera files)
  sample = await generateSample({ ...SMALL_SAMPLE, sessions: 10, width: 480, height: 320, out: join(work.dir, 's') });
  planted = (await plantMatchingArchive(sample, { seed: 3, perKind: 5, missing: 3, perOffset: 4 })).keepers;
  const dbFile = join(work.dir, 'flux.duckdb');
  await runIngest({ originals: sample.originals, keepers: sample.keepers, db: dbFile });
  await runEmbed({ db: dbFile, model: hasModel ? 'mobilenetv2-int8' : 'none' });
  await matchAt(dbFile);
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const all = await db.all<{
      path: string;
      status: string;
      photo: string | null;
      offset: number | null;
      reason: string | null;
    }>(`SELECT k.path, k.match_status AS status, p.path AS photo, k.clock_offset_seconds AS offset,
      k.review_reason AS reason FROM keeper_files k LEFT JOIN photos p ON p.photo_id = k.matched_photo_id`);
    rows = new Map(all.map((r) => [r.path, r]));
  } finally {
    db.close();
  }
});

test('the planted archive holds every keeper kind', () => {
  const kinds = new Set(planted.map((k) => k.kind));
  for (const kind of [
    'reencode-stripped',
    'crop-stripped',
    'exposure-stripped',
    'contrast-stripped',
    'rotation-stripped',
    'edit-exif',
    'missing-original',
    'offset-named',
    'offset-renamed',
  ]) {
    assert.ok(kinds.has(kind as PlantedKeeper['kind']), kind);
  }
  assert.deepEqual(
    [...new Set(planted.filter((k) => k.offsetSeconds !== null).map((k) => k.offsetSeconds))].sort(),
    [-39600, 32400],
  );
});

test('every planted keeper with an original links to exactly it or is left to a person, never to its burst sibling', () => {
  const withOriginal = planted.filter((x) => x.original !== null);
  const left: string[] = [];
  for (const k of withOriginal) {
    const r = rows.get(k.path);
    assert.ok(r, `${k.path} indexed`);
    if (r.status === 'matched')
      assert.equal(r.photo, k.original, `${k.kind} ${k.label} ${k.path} (sibling ${k.sibling})`);
    else {
      // on the review sheet with the measurements that left it there
      assert.match(r.reason ?? '', /worst tile \d\.\d{3}/, `${k.path}: ${r.reason ?? ''}`);
      left.push(`${k.kind} ${k.label}: ${r.reason ?? ''}`);
    }
  }
  // thresholds learnt from this small sample's 6 edits and 6 burst neighbours: a few true links wait for a person
  assert.ok(left.length <= 2, `${left.length} of ${withOriginal.length} not linked:\n${left.join('\n')}`);
});

test('a keeper whose original is missing is never linked to the frame beside it', () => {
  for (const k of planted.filter((x) => x.kind === 'missing-original')) {
    const r = rows.get(k.path);
    assert.ok(r, `${k.path} indexed`);
    assert.notEqual(r.status, 'matched', `${k.path} linked to ${r.photo}`);
  }
  // one of them verifies against its sibling (a small dim figure moved): beyond every edit here, so left to a person
  assert.ok(
    planted.some(
      (k) => k.kind === 'missing-original' && /beyond every edit measured here/.test(rows.get(k.path)?.reason ?? ''),
    ),
    'the sample holds a sibling that verifies',
  );
});

test('keepers of a clock set +9 h or -11 h across midnight link by name or EXIF time and record that offset', () => {
  const shifted = planted.filter((x) => x.offsetSeconds !== null);
  // each walk crosses midnight: some of its keepers lie in another day folder than their frames
  const day = (path: string): string => path.split('/').slice(0, 3).join('/');
  for (const o of [32400, -39600]) {
    const ks = shifted.filter((k) => k.offsetSeconds === o);
    assert.ok(
      ks.some((k) => day(k.path) !== day(k.original as string)),
      `${o} s crosses midnight`,
    );
  }
  for (const k of shifted) {
    const r = rows.get(k.path);
    assert.ok(r, `${k.path} indexed`);
    assert.deepEqual([r.status, r.photo, r.offset], ['matched', k.original, k.offsetSeconds], `${k.kind} ${k.path}`);
  }
});
