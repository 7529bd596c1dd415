/**
 * The composition columns of the people set and the derived columns: known boxes and known descriptor values give
 * known numbers, and each derived column goes with the feature sets of its group.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PEOPLE_NAMES, peopleRow, readableSize, thirdsNearness } from '../lib/4-dataset/people.js';
import { columnGroup, DERIVED, withDerived } from '../lib/4-dataset/derived.js';
import type { Dataset } from '../lib/4-dataset/rows.js';
import { selectColumns } from '../lib/5-rank/fit.js';

const col = (name: (typeof PEOPLE_NAMES)[number]): number => PEOPLE_NAMES.indexOf(name);
const box = (
  cx: number,
  h: number,
): { score: number; x: number; y: number; w: number; h: number } & {
  luma: null;
  keypoints: null;
} => ({ score: 0.9, x: cx - 0.05, y: 0.9 - h, w: 0.1, h, luma: null, keypoints: null });
const close = (a: number | undefined, b: number, what: string): void =>
  assert.ok(Math.abs((a as number) - b) < 1e-6, `${what}: ${a} against ${b}`);

test('nearness to the thirds and readable size: their shapes', () => {
  close(thirdsNearness(1 / 3), 1, 'on the left third');
  close(thirdsNearness(2 / 3 + 0.05), 0.5, 'half a tenth off the right third');
  close(thirdsNearness(0.5), 0, 'the centre');
  close(readableSize(0.05), 0, 'a speck');
  close(readableSize(0.15), 0.5, 'half way to a fifth');
  close(readableSize(0.3), 1, 'readable');
  close(readableSize(7 / 12), 0.5, 'half way to two thirds');
  close(readableSize(0.8), 0, 'cropped by the frame');
});

test('one subject on a third at a readable size, a pair, an empty frame, a crowd', () => {
  const one = peopleRow([box(1 / 3, 0.3)], [], null);
  assert.deepEqual(
    ['people_none', 'people_few', 'people_thirds_near', 'people_readable', 'people_few_thirds'].map(
      (n) => one[col(n as (typeof PEOPLE_NAMES)[number])],
    ),
    [0, 1, 1, 1, 1],
  );
  close(one[col('people_few_readable')], 1, 'subject readable');
  close(one[col('people_crowd')], 0, 'no crowd');
  // a pair: one half a tenth off the right third and small (0.15 tall), one in the centre and readable
  const pair = peopleRow([box(2 / 3 + 0.05, 0.15), box(0.5, 0.4)], [], null);
  close(pair[col('people_thirds_near')], 0.5, 'pair on the thirds');
  close(pair[col('people_readable')], 1.5, 'pair readable');
  close(pair[col('people_few_thirds')], 0.5, 'pair, few, on the thirds');
  const empty = peopleRow([], [], null);
  assert.deepEqual(
    [col('people_none'), col('people_few'), col('people_thirds_near'), col('people_crowd')].map((c) => empty[c]),
    [1, 0, 0, 0],
  );
  // seven persons on a third: a crowd, not a subject
  const crowd = peopleRow(
    Array.from({ length: 7 }, () => box(1 / 3, 0.3)),
    [],
    null,
  );
  assert.deepEqual(
    [col('people_few'), col('people_thirds_near'), col('people_few_thirds'), col('people_crowd')].map((c) => crowd[c]),
    [0, 7, 0, 1],
  );
  close(
    peopleRow(
      Array.from({ length: 4 }, () => box(0.1, 0.3)),
      [],
      null,
    )[col('people_crowd')],
    1 / 3,
    'four',
  );
});

test('derived columns: stops from mid-grey, tilt either way, twice the hour, an empty flat frame', () => {
  const names = ['v0', 'brightness', 'contrast', 'dynamic_range', 'tilt_deg', 'tilt_strength', 'hour_sin', 'hour_cos'];
  const dim = names.length;
  // 06:00 (hour angle 90 degrees: sin 1, cos 0), a frame two stops under, tilted -3 degrees half clearly
  const row1 = [0.5, 0.46 / 4, 0.1, 0.6, -3, 0.5, 1, 0];
  const row2 = [0.5, 0.92, 0.2, 0.8, 2, 1, 0, -1];
  const d = withDerived(names, Float32Array.from([...row1, ...row2]), dim);
  const added = DERIVED.filter((c) => c.group !== 'people').map((c) => c.name);
  assert.deepEqual(d.names, [...names, ...added]);
  const at = (r: number, n: string): number => d.x[r * d.dim + d.names.indexOf(n)] as number;
  close(at(0, 'under_stops'), 2, 'two stops under');
  close(at(0, 'over_stops'), 0, 'not over');
  close(at(1, 'over_stops'), 1, 'a stop over');
  close(at(0, 'tilt_abs'), 3, 'tilt');
  close(at(0, 'tilt_abs_clear'), 1.5, 'tilt weighed');
  close(at(0, 'hour_cos2'), -1, '06:00 at twice the rhythm');
  close(at(1, 'hour_cos2'), 1, 'midnight');
  // with the people columns: an empty frame's spread, NaN where the frame was not examined
  const p = withDerived(
    ['contrast', 'dynamic_range', 'people_none', 'people_light_max'],
    Float32Array.from([0.2, 0.7, 1, 0, 0.3, 0.9, 0, 0.25, 0.3, 0.9, NaN, NaN]),
    4,
  );
  assert.deepEqual(p.names.slice(4), [
    'people_none_contrast',
    'people_none_range',
    'people_lit_contrast',
    'people_some_contrast',
  ]);
  assert.deepEqual(
    Array.from(p.x.subarray(4, 8), (v) => Math.round(v * 1e6) / 1e6),
    [0.2, 0.7, 0, 0],
  );
  // a person a quarter brighter than the frame, in a frame of tonal spread 0.3
  assert.deepEqual(
    Array.from(p.x.subarray(12, 16), (v) => Math.round(v * 1e6) / 1e6),
    [0, 0, 0.075, 0.3],
  );
  assert.ok(p.x.subarray(20, 24).every((v) => Number.isNaN(v)));
});

test('each derived column goes with the feature sets of its group', () => {
  assert.deepEqual(
    ['v3', 'under_stops', 'hour_sin2', 'hour_sin', 'people_none_range', 'people_few', 'haze'].map(columnGroup),
    ['vector', 'descriptor', 'context', 'context', 'people', 'people', 'descriptor'],
  );
  const names = ['v0', 'brightness', 'hour_sin', 'people_none', 'under_stops', 'hour_sin2', 'people_none_contrast'];
  const ds = { names, dim: names.length, ids: [1], x: Float32Array.from(names, (_, i) => i) } as unknown as Dataset;
  assert.deepEqual(selectColumns(ds, 'vector+descriptor').names, ['v0', 'brightness', 'under_stops']);
  assert.deepEqual(selectColumns(ds, 'context').names, ['hour_sin', 'hour_sin2']);
  assert.deepEqual(selectColumns(ds, 'descriptor+context+people').names, names.slice(1));
});

test('of two runs of a detector, the people columns read the one that examined more photos', async () => {
  const { fullestRun } = await import('../lib/4-dataset/people.js');
  const run = (id: string, n: number): Array<{ model_id: string }> =>
    Array.from({ length: n }, () => ({ model_id: id }));
  const ledger = [...run('centernet@v1', 3), ...run('centernet@v1+onnx', 5), ...run('blazeface@v1', 2)];
  assert.equal(fullestRun(ledger, 'centernet'), 'centernet@v1+onnx');
  assert.equal(fullestRun([...ledger, ...run('centernet@v1', 4)], 'centernet'), 'centernet@v1', 'now the fuller');
  assert.equal(fullestRun(run('centernet@a', 2).concat(run('centernet@b', 2)), 'centernet'), 'centernet@b', 'tie');
  assert.equal(fullestRun(ledger, 'nanodet'), undefined);
});
