import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockOffsets, keeperOffset } from '../lib/3-match/offsets.js';
import type { Decision } from '../lib/3-match/types.js';
import type { Keeper } from '../lib/3-match/candidates.js';

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
  // no offset of its own: the walk's (seconds that are no whole minute, beyond 14 h, no link, a link by bytes)
  assert.equal(keeperOffset(linked('exif', 0), 3600), 3600);
  assert.equal(keeperOffset(linked('exif', 37), 0), 0);
  assert.equal(keeperOffset(linked('filename', 15 * 3600), 0), 0);
  assert.equal(keeperOffset(linked('sha256', 7200), 0), 0);
  assert.equal(keeperOffset({ ...linked('similarity', 7200) }, 0), 0);
  assert.equal(keeperOffset({ ...linked('filename', 7200), status: 'review' }, 0), 0);
});

test('walk offsets: two agreeing links of 60% make an offset, a lone or split vote none', () => {
  const k = (id: number, t: string): Keeper => ({
    id,
    path: `k${id}.jpg`,
    sha: `s${id}`,
    t,
    nameT: null,
    name: null,
    folderDay: null,
    preview: null,
    status: null,
    matched: null,
    method: null,
  });
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
  assert.deepEqual([...offsets.entries()], [['2024-05-17', { seconds: 32400, links: 3, agreeing: 2 }]]);
});
