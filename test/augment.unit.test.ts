/**
 * Augmented views keep the horizon and the composition: the widest rotation tilts a level horizon by at most a
 * degree, and the widest crop shift keeps a figure on a thirds line within 0.05 of the frame width of a thirds line.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { augment, AUGMENT_LIMITS, sampleAugment, type AugmentParams } from '../lib/2-embed/augment.js';
import { Rng } from '../lib/util/rng.js';

const SIZE = 224;

function image(pixel: (x: number, y: number) => number): Uint8Array {
  const out = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) out.fill(pixel(x, y), (y * SIZE + x) * 3, (y * SIZE + x + 1) * 3);
  return out;
}

const plain = (o: Partial<AugmentParams>): AugmentParams => ({
  flip: false,
  crop: { left: 12, top: 12, size: 200 },
  brightness: 0,
  contrast: 0,
  rotationDeg: 0,
  ...o,
});

test('every drawn view stays within a degree of rotation and a crop centred within 2% of the side', () => {
  const rng = new Rng(4);
  let widest = 0;
  let farthest = 0;
  for (let i = 0; i < 500; i++) {
    const p = sampleAugment(rng, SIZE);
    widest = Math.max(widest, Math.abs(p.rotationDeg));
    const cx = p.crop.left + p.crop.size / 2 - SIZE / 2;
    const cy = p.crop.top + p.crop.size / 2 - SIZE / 2;
    farthest = Math.max(farthest, Math.abs(cx), Math.abs(cy));
    assert.equal(p.crop.size, 200);
  }
  assert.ok(widest <= AUGMENT_LIMITS.rotationDeg && widest > 0.9, `widest rotation ${widest}`);
  assert.ok(farthest <= SIZE * AUGMENT_LIMITS.cropShift, `crop centre ${farthest} px from the centre`);
});

test('the widest rotation keeps a level horizon within a degree (1.5 with the pixel rows); the old five degrees did not', () => {
  // light sky over dark ground
  const horizon = image((_x, y) => (y < SIZE / 2 ? 220 : 40));
  const rowAt = (img: Uint8Array, x: number): number => {
    for (let y = 0; y < SIZE; y++) if ((img[(y * SIZE + x) * 3] as number) < 130) return y;
    return SIZE;
  };
  const tilt = (p: AugmentParams): number => {
    const v = augment(horizon, SIZE, p);
    return (Math.atan2(rowAt(v, 20) - rowAt(v, SIZE - 21), SIZE - 41) * 180) / Math.PI;
  };
  for (const flip of [false, true]) {
    for (const r of [-AUGMENT_LIMITS.rotationDeg, AUGMENT_LIMITS.rotationDeg]) {
      const t = tilt(plain({ flip, rotationDeg: r }));
      assert.ok(Math.abs(t) <= 1.5, `rotation ${r}, flip ${flip}: horizon tilted ${t.toFixed(2)} degrees`);
    }
  }
  assert.ok(Math.abs(tilt(plain({ rotationDeg: 5 }))) > 4, 'five degrees tilts the horizon past the taste');
});

test('the widest crop shift keeps a figure on a thirds line within 0.05 of the width of a thirds line', () => {
  // a dark figure 8 px wide centred on the left thirds line
  const third = SIZE / 3;
  const figure = image((x) => (Math.abs(x + 0.5 - third) <= 4 ? 20 : 230));
  const centreOf = (img: Uint8Array): number => {
    let sum = 0,
      n = 0;
    for (let x = 0; x < SIZE; x++) {
      if ((img[(SIZE / 2) * SIZE * 3 + x * 3] as number) < 125) {
        sum += x + 0.5;
        n++;
      }
    }
    return sum / n / SIZE;
  };
  const shift = Math.floor(SIZE * AUGMENT_LIMITS.cropShift);
  let worst = 0;
  for (const flip of [false, true]) {
    for (const left of [12 - shift, 12, 12 + shift]) {
      const c = centreOf(augment(figure, SIZE, plain({ flip, crop: { left, top: 12, size: 200 }, rotationDeg: 1 })));
      worst = Math.max(worst, Math.min(Math.abs(c - 1 / 3), Math.abs(c - 2 / 3)));
    }
  }
  assert.ok(worst <= 0.05, `a figure moved ${worst.toFixed(3)} of the width off the thirds`);
  // a crop at the frame's edge (the old random 200-of-224 crop) moves it further
  const edge = centreOf(augment(figure, SIZE, plain({ crop: { left: 24, top: 12, size: 200 } })));
  assert.ok(Math.abs(edge - 1 / 3) > 0.06, `edge crop: ${edge}`);
});
