import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decisionBook, indexCorpus, metadataSteps, type Keeper, type Photo } from '../lib/3-match/candidates.js';
import { GR3, GR3X, keeper, photo } from './match-fixtures.js';
import { atWalkOffset } from '../lib/3-match/match.js';
import { clockOffsets } from '../lib/3-match/offsets.js';
import { contradiction, vetoMetadataLinks, type RuleContext } from '../lib/3-match/rules.js';
import { pairKey } from '../lib/3-match/vectors.js';
import type { Decision } from '../lib/3-match/types.js';

const book = decisionBook([]);
const context = (photos: Photo[], keepers: Keeper[]): RuleContext => {
  const ix = indexCorpus(photos, []);
  return {
    ix,
    book,
    offsets: clockOffsets(keepers, (k) => metadataSteps(ix, book, k, 0)),
    thresholds: {
      source: 'thumbnail',
      link: 0.9,
      review: 0.8,
      margin: 0.02,
      calibrated: true,
      truePairs: [0.93, 0.95, 0.96, 0.97, 0.98],
      siblings: [0.85, 0.88],
    },
    secondLook: null,
    thumbLink: 2,
  };
};

test('a frame of the other camera body is never a keeper original, however its number and time agree', () => {
  // the same frame number on both bodies that day, three hours and 1.2 s apart: a whole-hour clock error to the name
  const ix = indexCorpus([photo(1, '2022-01-15 13:00:01.200000', 'R0005555.JPG', GR3)], []);
  const nameT = '2022-01-15 10:00:00.000000';
  const ofX = metadataSteps(ix, book, keeper(100, null, 'R0005555.JPG', GR3X, nameT), 0);
  assert.deepEqual([ofX.status, ofX.photo], ['unmatched', null], 'a GR IIIx keeper');
  const ofSame = metadataSteps(ix, book, keeper(101, null, 'R0005555.JPG', GR3, nameT), 0);
  assert.deepEqual([ofSame.status, ofSame.photo, ofSame.method], ['matched', 1, 'filename'], 'a GR III keeper');
  // nor at an exact time
  const exact = metadataSteps(ix, book, keeper(102, '2022-01-15 13:00:01.200000', null, GR3X), 0);
  assert.equal(exact.photo, null);
  const cx = context([photo(1, '2022-01-15 13:00:01.200000', 'R0005555.JPG', GR3)], []);
  assert.match(String(contradiction(cx, keeper(103, null, null, GR3X), 1)), /shot with a RICOH GR III, the keeper/);
  assert.equal(contradiction(cx, keeper(104, null, null, 'ricoh gr iii '), 1), null, 'one model, spelt loosely');
});

// a morning walk whose clock ran an hour ahead (three keepers agree on +3600 s), and later that day a keeper whose
// clock was right, with no frame number; another frame was shot exactly an hour before it
const shiftedDay = (): { photos: Photo[]; keepers: Keeper[] } => {
  const photos: Photo[] = [];
  const keepers: Keeper[] = [];
  for (const [i, hm] of ['10:00', '10:10', '10:20'].entries()) {
    const name = `R000000${i + 1}.JPG`;
    photos.push(photo(i + 1, `2022-01-15 ${hm}:00.000000`, name));
    keepers.push(keeper(1001 + i, `2022-01-15 ${String(11).padStart(2, '0')}:${hm.slice(3)}:00.000000`, name, GR3));
  }
  photos.push(photo(5, '2022-01-15 11:30:07.000000', null), photo(99, '2022-01-15 10:30:07.000000', 'R0000005.JPG'));
  return { photos, keepers };
};

test("a keeper's own exact link is never replaced by its walk's offset: both frames go to the image evidence", () => {
  const { photos, keepers } = shiftedDay();
  const cx = context(photos, keepers);
  assert.equal(cx.offsets.get(`2022-01-15|${GR3}`)?.seconds, 3600);
  const right = keeper(2000, '2022-01-15 11:30:07.000000', null, GR3);
  const own = metadataSteps(cx.ix, book, right, 0);
  const shifted = metadataSteps(cx.ix, book, right, 3600);
  assert.deepEqual([own.photo, shifted.photo], [5, 99], 'as its clock reads, and at the offset');
  const d = atWalkOffset(cx.ix, right, own, shifted);
  assert.deepEqual([d.status, d.photo, d.pool], ['unmatched', null, [5, 99]]);
  assert.deepEqual(
    d.candidates.map((c) => c.note),
    ["exif as the keeper's clock reads", "at its walk's clock offset"],
  );
  // neither frame is ruled out by time: the similarity step weighs both
  assert.deepEqual([contradiction(cx, right, 5), contradiction(cx, right, 99)], [null, null]);
  assert.match(String(contradiction(cx, right, 1)), /taken at 2022-01-15 10:00:00/);
  // its frame number agreeing too, and the offset finding nothing: its own link stays
  const named = keeper(2001, '2022-01-15 11:30:07.000000', 'R0000077.JPG', GR3);
  const cx2 = context(
    [...photos.filter((p) => p.id !== 5), photo(5, '2022-01-15 11:30:07.000000', 'R0000077.JPG')],
    [],
  );
  const own2 = metadataSteps(cx2.ix, book, named, 0);
  const kept = atWalkOffset(cx2.ix, named, own2, metadataSteps(cx2.ix, book, named, 3600));
  assert.deepEqual([kept.status, kept.photo, kept.method], ['matched', 5, 'exif']);
  // a shifted keeper whose two decisions agree keeps the one at the offset
  const one = keepers[0] as Keeper;
  const same = atWalkOffset(cx.ix, one, metadataSteps(cx.ix, book, one, 0), metadataSteps(cx.ix, book, one, 3600));
  assert.deepEqual([same.status, same.photo, same.delta], ['matched', 1, 3600]);
});

test('a link whose images look unlike goes to a person with the frame it named, which an accept can link', async () => {
  const cx = context([photo(1, '2022-01-15 13:00:01.200000', 'R0005555.JPG')], []);
  const k = keeper(100, '2022-01-15 13:00:01.200000', 'R0005555.JPG', GR3);
  const d = metadataSteps(cx.ix, book, k, 0);
  assert.equal(d.photo, 1);
  const decided = new Map<number, Decision>([[k.id, d]]);
  const link = new Map([[pairKey(k.id, 1), 0.4]]);
  await vetoMetadataLinks(cx, [k], decided, { link, near: new Map() }, new Map());
  assert.equal(d.status, 'review');
  assert.match(
    String(d.reason),
    /linked by exif to 2022\/2022-01\/2022-01-15\/R0005555\.JPG, but the images look unlike/,
  );
  assert.deepEqual(d.candidates, [{ id: 1, similarity: 0.4, note: 'exif' }]);
});
