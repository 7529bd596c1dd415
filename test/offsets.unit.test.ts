import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockOffsets, keeperOffset } from '../lib/3-match/offsets.js';
import type { Decision } from '../lib/3-match/types.js';
import type { Keeper } from '../lib/3-match/candidates.js';
import { keeper } from './match-fixtures.js';

const linked = (method: Decision['method'], delta: number | null): Decision => ({
  photo: 1,
  method,
  status: 'matched',
  similarity: null,
  reason: null,
  delta,
  pool: [],
  candidates: [],
});

test('a keeper linked across midnight records its own offset: +9 h, -11 h, hours and minutes', () => {
  assert.equal(keeperOffset(linked('filename', 9 * 3600), 0), 32400);
  assert.equal(keeperOffset(linked('filename', -11 * 3600), 0), -39600);
  assert.equal(keeperOffset(linked('exif', 5 * 3600 + 45 * 60), 0), 20700);
  // one that lost its sub-second is behind its frame by a fraction: the whole second above
  assert.equal(keeperOffset(linked('filename', 9 * 3600 - 0.35), 0), 32400);
  // linked as its clock reads in a walk whose clock was off elsewhere that day: its own clock was right
  assert.equal(keeperOffset(linked('exif', 0), 3600), 0);
  assert.equal(keeperOffset(linked('filename', -0.35), 3600), 0);
  // no offset of its own: the walk's (seconds that are no whole minute, beyond 14 h, no link, a link by bytes)
  assert.equal(keeperOffset(linked('exif', 37), 3600), 3600);
  assert.equal(keeperOffset(linked('exif', 37), 0), 0);
  assert.equal(keeperOffset(linked('filename', 15 * 3600), 0), 0);
  assert.equal(keeperOffset(linked('sha256', 7200), 0), 0);
  assert.equal(keeperOffset({ ...linked('similarity', 7200) }, 0), 0);
  assert.equal(keeperOffset({ ...linked('filename', 7200), status: 'review' }, 0), 0);
});

const k = (id: number, t: string, model: string | null = null): Keeper => keeper(id, t, null, model);

test('walk offsets: two agreeing links of 60% make an offset, a lone or split vote none', () => {
  const keepers = [
    k(1, '2024-05-17 23:10:00.000000'),
    k(2, '2024-05-17 23:40:00.000000'),
    k(3, '2024-05-17 23:55:00.000000'),
    k(4, '2024-05-18 08:00:00.000000'),
  ];
  const deltas = new Map([
    [1, 32400],
    [2, 32400],
    [3, 0],
    [4, 32400],
  ]);
  const offsets = clockOffsets(keepers, (x) => linked('filename', deltas.get(x.id) ?? null));
  // the fourth keeper comes after a pause of eight hours: another period, whose lone vote makes no offset
  assert.deepEqual([...offsets.entries()], [['2024-05-17|', { seconds: 32400, links: 3, agreeing: 2 }]]);
});

test('offsets per camera and period: a walk across midnight is one period, another camera the same night its own', async () => {
  const gr = 'RICOH GR III';
  const x = 'RICOH GR IIIx';
  const keepers = [
    // the GR III's clock 9 h ahead: its evening walk reads 22:50 to 01:40 the next day
    k(1, '2024-05-17 22:50:00.120000', gr),
    k(2, '2024-05-17 23:30:00.400000', gr),
    k(3, '2024-05-18 00:40:00.000000', gr),
    k(4, '2024-05-18 01:40:00.250000', gr),
    // the GR IIIx the same night, 11 h behind
    k(5, '2024-05-17 11:20:00.000000', x),
    k(6, '2024-05-17 12:10:00.000000', x),
    k(7, '2024-05-17 13:05:00.500000', x),
    // a week later the GR III is set right
    k(8, '2024-05-25 10:00:00.000000', gr),
    k(9, '2024-05-25 10:20:00.000000', gr),
  ];
  // keepers 3 and 6 have no link (renamed): they take their period's offset
  const deltas = new Map<number, number | null>([
    [1, 32400],
    [2, 32400],
    [3, null],
    [4, 32400],
    [5, -39600],
    [6, null],
    [7, -39600],
    [8, 0],
    [9, 0],
  ]);
  const offsets = clockOffsets(keepers, (q) => linked('filename', deltas.get(q.id) ?? null));
  const nine = { seconds: 32400, links: 3, agreeing: 3 };
  // one day, two cameras, two offsets; the GR III's set-right week has none
  assert.deepEqual(
    [...offsets.entries()],
    [
      [`2024-05-17|${gr}`, nine],
      [`2024-05-17|${x}`, { seconds: -39600, links: 2, agreeing: 2 }],
      [`2024-05-18|${gr}`, nine],
    ],
  );
  const { clockPeriods } = await import('../lib/3-match/offsets.js');
  assert.deepEqual(
    clockPeriods(keepers).map((p) => p.map((q) => q.id)),
    [
      [1, 2, 3, 4],
      [8, 9],
      [5, 6, 7],
    ],
  );
});
