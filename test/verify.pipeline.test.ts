import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_VERIFY,
  loadRgb,
  tieBreak,
  verdict,
  verificationRow,
  verified,
  verifyImages,
  type Planar,
  type Verification,
} from '../lib/3-match/verify.js';
import { Db } from '../lib/db/duckdb.js';
import { ensureSchema } from '../lib/db/schema.js';
import { ensureMatchSchema, keeperVerifications, writeVerifications } from '../lib/db/matching.js';
import { movedFigure, plantEdits } from '../lib/0-sample/edits.js';
import { envSkip, noSharedPhotos, SHARED_PHOTOS } from './helpers.js';

/** Real photos of several cameras; the Ricoh is the photographer's kind of camera. */
const PHOTOS = [
  'cambridge_ricoh-g900se-ii_R0010167.jpg',
  'exifr_google-pixel_gps.jpg',
  'mei_apple-iphone-5.jpg',
  'mei_canon-eos-450d.jpg',
  'mei_nikon-d40.jpg',
  'mei_sony-dsc-h9.jpg',
];

interface Case {
  photo: string;
  label: string;
  same: Verification;
  sibling: Verification;
  /** The keeper's residual where the frame and the sibling differ, against each (tieBreak). */
  tie: { a: number; b: number } | null;
}
let cases: Case[] | null = null;
/** Every planted edit of every photo, verified against its own frame and against the sibling (once per file). */
async function allCases(): Promise<Case[]> {
  if (cases) return cases;
  const out: Case[] = [];
  for (const photo of PHOTOS) {
    const file = join(SHARED_PHOTOS, photo);
    const [same, sibling]: Planar[] = await Promise.all([
      loadRgb(await movedFigure(file, 0)),
      loadRgb(await movedFigure(file, 0.01)),
    ]);
    for (const e of await plantEdits(file)) {
      const k = await loadRgb(e.jpeg);
      const v = { same: verifyImages(k, same as Planar), sibling: verifyImages(k, sibling as Planar) };
      const tie = tieBreak(
        k,
        { image: same as Planar, transform: v.same.transform },
        { image: sibling as Planar, transform: v.sibling.transform },
      );
      out.push({ photo, label: e.label, ...v, tie });
    }
  }
  cases = out;
  return out;
}

test('alignment recovers the planted crop, scale and rotation', { skip: envSkip(noSharedPhotos) }, async () => {
  for (const c of await allCases()) {
    const t = c.same.transform;
    const what = `${c.photo} ${c.label}: ${JSON.stringify(t)}`;
    if (c.label.startsWith('re-encode') || c.label.startsWith('exposure') || c.label === 'contrast curve') {
      assert.ok(Math.abs(t.scale - 1) < 0.004 && Math.abs(t.dx) < 0.3 && Math.abs(t.dy) < 0.3, what);
    }
    // a crop of 15% of the width (10.5% of the height) keeps 85% of a landscape frame's long side, 89.5% of a
    // portrait one's: the keeper's pixels are that share of the original's
    const crop = /^crop (\d+)%$/.exec(c.label);
    if (crop) {
      const share = Number(crop[1]) / 100;
      assert.ok(Math.min(Math.abs(t.scale - (1 - share)), Math.abs(t.scale - (1 - 0.7 * share))) < 0.005, what);
    }
    if (c.label === 'rotation 1.5 deg') assert.ok(Math.abs((t.angle * 180) / Math.PI + 1.5) < 0.15, what);
    assert.ok(c.same.overlap > 0.95 && c.same.ncc > 0.98, `${what}: overlap ${c.same.overlap}, ncc ${c.same.ncc}`);
  }
});

test(
  'the same frame always leaves a smaller worst tile than the sibling with a figure moved 1% of the width',
  { skip: envSkip(noSharedPhotos) },
  async () => {
    for (const c of await allCases()) {
      assert.ok(
        c.same.worstTile < c.sibling.worstTile,
        `${c.photo} ${c.label}: same frame ${c.same.worstTile.toFixed(3)}, sibling ${c.sibling.worstTile.toFixed(3)}`,
      );
      // whatever the order of the candidates, the verdict never links the sibling
      for (const order of [
        [c.sibling, c.same],
        [c.same, c.sibling],
      ]) {
        const v = verdict(order, DEFAULT_VERIFY);
        if (v.link !== null) assert.equal(order[v.link], c.same, `${c.photo} ${c.label}: linked the sibling`);
      }
    }
  },
);

test(
  'where the frame and its sibling differ, every edit is at most half as far from its own frame as from the sibling',
  { skip: envSkip(noSharedPhotos) },
  async () => {
    for (const c of await allCases()) {
      assert.ok(c.tie, `${c.photo} ${c.label}: the two candidates differ somewhere`);
      assert.ok(c.tie.a <= c.tie.b / 2, `${c.photo} ${c.label}: ${c.tie.a.toFixed(2)} vs ${c.tie.b.toFixed(2)}`);
    }
  },
);

test(
  'on the Ricoh frame every edit verifies and links its own frame; the sibling alone does not verify',
  { skip: envSkip(noSharedPhotos) },
  async () => {
    const ricoh = (await allCases()).filter((c) => c.photo.startsWith('cambridge_ricoh'));
    assert.equal(ricoh.length, 10);
    for (const c of ricoh) {
      assert.ok(verified(c.same, DEFAULT_VERIFY), `${c.label}: ${c.same.worstTile}`);
      assert.deepEqual(verdict([c.sibling, c.same], DEFAULT_VERIFY), { link: 1, review: false }, c.label);
      // the keeper whose original is missing: only the sibling is there, and it is not linked
      assert.deepEqual(verdict([c.sibling], DEFAULT_VERIFY), { link: null, review: false }, c.label);
    }
  },
);

test('verdict: a unique verified candidate links, two close ones go to review, none verified links nothing', () => {
  const v = (worstTile: number, ncc = 0.99, overlap = 1, shift = 0): Verification => ({
    transform: { scale: 1, angle: 0, dx: 0, dy: 0 },
    overlap,
    ncc,
    residual: 1,
    worstTile,
    shift,
    tiles: { values: new Float32Array(0), tilesX: 0, tilesY: 0 },
  });
  const t = { worstTile: 0.5, shift: 0.8, edits: { worstTile: 0.4, ncc: 0.98 }, ratio: 1.25, calibrated: true };
  assert.deepEqual(verdict([v(0.9), v(0.2)], t), { link: 1, review: false });
  // a lone verified candidate whose worst tile asks for a shift beyond the bar is doubtful, not linked
  assert.deepEqual(verdict([v(0.9), v(0.2, 0.99, 1, 1.1)], t), { link: null, review: false, doubt: 'shift' });
  // so is one beyond every edit measured in its worst tile and its correlation, though within the bar
  assert.deepEqual(verdict([v(0.9), v(0.45, 0.97)], t), { link: null, review: false, doubt: 'tile' });
  assert.deepEqual(verdict([v(0.9), v(0.4, 0.97)], t), { link: 1, review: false });
  assert.deepEqual(verdict([v(0.9), v(0.45, 0.99)], t), { link: 1, review: false });
  // and the best one clearly ahead of a second verified one, when it is beyond every edit: the frames beside a
  // missing original can both verify
  const wide = { ...t, worstTile: 0.7 };
  assert.deepEqual(verdict([v(0.6), v(0.45, 0.97)], wide), { link: null, review: false, doubt: 'tile' });
  assert.deepEqual(verdict([v(0.6), v(0.45, 0.99)], wide), { link: 1, review: false });
  // beside a second verified one, the shift does not matter: the two are compared (review, or the tie-break)
  assert.deepEqual(verdict([v(0.2, 0.99, 1, 1.1), v(0.22)], t), { link: null, review: true });
  assert.deepEqual(verdict([v(0.2), v(0.24)], t), { link: null, review: true });
  assert.deepEqual(verdict([v(0.2), v(0.3)], t), { link: 0, review: false });
  assert.deepEqual(verdict([v(0.6), v(0.7)], t), { link: null, review: false });
  // a candidate that hardly overlaps the keeper or does not correlate is not verified, however small its tiles
  assert.deepEqual(verdict([v(0.1, 0.99, 0.3), v(0.1, 0.5)], t), { link: null, review: false });
});

test(
  'verifications are stored per keeper and candidate, replaced on a re-run',
  { skip: envSkip(noSharedPhotos) },
  async () => {
    const ricoh = (await allCases()).filter((c) => c.photo.startsWith('cambridge_ricoh'));
    const db = await Db.open(':memory:');
    try {
      await ensureSchema(db);
      await ensureMatchSchema(db);
      const c = ricoh.find((x) => x.label === 'crop 15%') as Case;
      await writeVerifications(db, [
        verificationRow(7, 1, c.same, DEFAULT_VERIFY),
        verificationRow(7, 2, c.sibling, DEFAULT_VERIFY),
      ]);
      await writeVerifications(db, [verificationRow(7, 1, c.same, DEFAULT_VERIFY)]);
      const rows = await keeperVerifications(db, 7);
      assert.deepEqual(
        rows.map((r) => [Number(r.photoId), r.verified]),
        [
          [1, true],
          [2, false],
        ],
      );
      assert.ok(Math.abs((rows[0]?.scale ?? 0) - c.same.transform.scale) < 1e-9);
      assert.ok(Math.abs((rows[0]?.worstTile ?? 0) - c.same.worstTile) < 1e-6);
    } finally {
      db.close();
    }
  },
);

test('the verification rule: links the verified candidate, reviews two alike, vetoes an unverified similarity link', async () => {
  const { applyVerdict, restoreVerifiedLink } = await import('../lib/3-match/verification.js');
  const m = (worstTile: number): Verification => ({
    transform: { scale: 1, angle: 0, dx: 0, dy: 0 },
    overlap: 1,
    ncc: 0.99,
    residual: 1,
    worstTile,
    shift: 0,
    tiles: { values: new Float32Array(0), tilesX: 0, tilesY: 0 },
  });
  const t = {
    worstTile: 0.5,
    shift: Infinity,
    edits: { worstTile: Infinity, ncc: -Infinity },
    ratio: 1.25,
    calibrated: true,
  };
  const top = [
    { id: 1, s: 0.97 },
    { id: 2, s: 0.96 },
  ];
  const fresh = (): import('../lib/3-match/types.js').Decision => ({
    photo: null,
    method: null,
    status: 'review',
    similarity: null,
    reason: 'two photos are almost equally similar',
    delta: null,
    pool: [],
    candidates: top.map((x) => ({ id: x.id, similarity: x.s, note: 'no contradiction' })),
  });
  const none = (): boolean => false;
  const noTie = async (): Promise<number | null> => null;
  // the second candidate verifies, the first does not: linked to the second, whatever the vectors said
  const d1 = fresh();
  await applyVerdict(
    d1,
    top,
    new Map([
      [1, m(2.1)],
      [2, m(0.3)],
    ]),
    t,
    none,
    noTie,
  );
  assert.deepEqual(
    [d1.status, d1.photo, d1.method, d1.similarity, d1.reason],
    ['matched', 2, 'similarity', 0.96, null],
  );
  assert.match(d1.candidates[1]?.note ?? '', /alignment worst tile 0\.300, verified/);
  // both verify alike: review, no photo
  const d2 = fresh();
  await applyVerdict(
    d2,
    top,
    new Map([
      [1, m(0.3)],
      [2, m(0.33)],
    ]),
    t,
    none,
    noTie,
  );
  assert.deepEqual([d2.status, d2.photo], ['review', null]);
  assert.match(d2.reason ?? '', /two candidates verify alike by alignment \(worst tiles 0\.300 and 0\.330\)/);
  // ... unless the pixels where the two differ choose one: linked to it (the pair comes best first)
  const d2b = fresh();
  let asked: readonly number[] = [];
  await applyVerdict(
    d2b,
    top,
    new Map([
      [1, m(0.3)],
      [2, m(0.33)],
    ]),
    t,
    none,
    async (pair) => {
      asked = pair;
      return 2;
    },
  );
  assert.deepEqual([d2b.status, d2b.photo, asked], ['matched', 2, [1, 2]]);
  // a candidate that contradicts the keeper is never linked, verified or not; it keeps the keeper in review
  const d3 = fresh();
  await applyVerdict(
    d3,
    top,
    new Map([
      [1, m(2.1)],
      [2, m(0.3)],
    ]),
    t,
    (id) => id === 2,
    noTie,
  );
  assert.equal(d3.status, 'review');
  // a similarity link no candidate verifies is undone: unmatched, its original may be missing
  const d4 = { ...fresh(), status: 'matched' as const, photo: 1, method: 'similarity' as const, reason: null };
  await applyVerdict(
    d4,
    top,
    new Map([
      [1, m(0.9)],
      [2, m(1.4)],
    ]),
    t,
    none,
    noTie,
  );
  assert.deepEqual([d4.status, d4.photo], ['unmatched', null]);
  assert.match(d4.reason ?? '', /alignment verifies none of the 2 most similar photos .*original may be missing/);
  // uncalibrated thresholds record and decide nothing
  const d5 = fresh();
  await applyVerdict(
    d5,
    top,
    new Map([
      [1, m(2.1)],
      [2, m(0.3)],
    ]),
    { ...t, calibrated: false },
    none,
    noTie,
  );
  assert.deepEqual([d5.status, d5.photo], ['review', null]);
  // a doubted exif link is made after all when its photo verifies and the rival does not
  const vetoed = (): import('../lib/3-match/types.js').Decision => ({
    ...fresh(),
    candidates: [
      { id: 1, similarity: 0.95, note: 'exif' },
      { id: 2, similarity: 0.96, note: 'a frame shot seconds apart' },
    ],
  });
  const d6 = vetoed();
  restoreVerifiedLink(
    d6,
    new Map([
      [1, m(0.3)],
      [2, m(2)],
    ]),
    t,
  );
  assert.deepEqual([d6.status, d6.photo, d6.method, d6.reason], ['matched', 1, 'exif', null]);
  const d7 = vetoed();
  restoreVerifiedLink(
    d7,
    new Map([
      [1, m(0.3)],
      [2, m(0.32)],
    ]),
    t,
  );
  assert.deepEqual([d7.status, d7.photo], ['review', null]);
});

test('the verification rule: a lone candidate beyond every edit measured here waits for a person', async () => {
  const { applyVerdict } = await import('../lib/3-match/verification.js');
  const m = (worstTile: number, ncc: number): Verification => ({
    transform: { scale: 1, angle: 0, dx: 0, dy: 0 },
    overlap: 1,
    ncc,
    residual: 1,
    worstTile,
    shift: 0,
    tiles: { values: new Float32Array(0), tilesX: 0, tilesY: 0 },
  });
  const t = { worstTile: 0.5, shift: Infinity, edits: { worstTile: 0.4, ncc: 0.99 }, ratio: 1.25, calibrated: true };
  const top = [
    { id: 1, s: 0.97 },
    { id: 2, s: 0.96 },
  ];
  const decide = async (second: Verification): Promise<import('../lib/3-match/types.js').Decision> => {
    const d: import('../lib/3-match/types.js').Decision = {
      photo: 2,
      method: 'similarity',
      status: 'matched',
      similarity: 0.96,
      reason: null,
      delta: null,
      pool: [],
      candidates: top.map((x) => ({ id: x.id, similarity: x.s, note: 'no contradiction' })),
    };
    const vs = new Map([
      [1, m(0.9, 0.9)],
      [2, second],
    ]);
    await applyVerdict(
      d,
      top,
      vs,
      t,
      () => false,
      async () => null,
    );
    return d;
  };
  // beyond the edits' largest worst tile and below their lowest correlation: review with the numbers, no photo
  const lone = await decide(m(0.45, 0.97));
  assert.deepEqual([lone.status, lone.photo], ['review', null]);
  assert.match(
    lone.reason ?? '',
    /\(worst tile 0\.450\), but beyond every edit measured here \(worst tiles up to 0\.400, correlation 0\.9700 against at least 0\.9900\), though within the bar of 0\.500/,
  );
  // a correlation as high as the edits' keeps the link: a heavier edit of the keeper's own frame
  const kept = await decide(m(0.45, 0.995));
  assert.deepEqual([kept.status, kept.photo, kept.reason], ['matched', 2, null]);
  // two that verify alike, the tie-break choosing one beyond every edit: not linked, both to review
  const alike: import('../lib/3-match/types.js').Decision = { ...(await decide(m(0.45, 0.995))), status: 'review' };
  const vs = new Map([
    [1, m(0.46, 0.97)],
    [2, m(0.45, 0.97)],
  ]);
  const settleOnSecond = (): Promise<void> =>
    applyVerdict(
      alike,
      top,
      vs,
      t,
      () => false,
      async () => 2,
    );
  await settleOnSecond();
  assert.deepEqual([alike.status, alike.photo], ['review', null]);
  assert.match(alike.reason ?? '', /^two candidates verify alike by alignment \(worst tiles 0\.450 and 0\.460\)/);
  // the same tie settled on one within the edits: linked
  vs.set(2, m(0.45, 0.995));
  await settleOnSecond();
  assert.deepEqual([alike.status, alike.photo], ['matched', 2]);
});
