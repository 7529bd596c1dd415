import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { DESCRIPTOR_NAMES, pixelDescriptor } from '../lib/embed/descriptor.js';
import { augment, sampleAugment } from '../lib/embed/augment.js';
import { Rng } from '../lib/util/rng.js';

const W = 192;
const H = 128;
const d = (rgb: Uint8Array, w = W, h = H): Record<string, number> =>
  Object.fromEntries(Array.from(pixelDescriptor(rgb, w, h), (v, i) => [DESCRIPTOR_NAMES[i] as string, v]));
const fill = (f: (x: number, y: number) => [number, number, number], w = W, h = H): Uint8Array => {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(f(x, y), (y * w + x) * 3);
  return out;
};
const raw = async (s: Sharp): Promise<Uint8Array> => new Uint8Array(await s.raw().toBuffer());
const fromRgb = (rgb: Uint8Array, w = W, h = H): Sharp => sharp(Buffer.from(rgb), { raw: { width: w, height: h, channels: 3 } });

test('names match the output; flat, black and white images give the obvious values, all finite', () => {
  assert.equal(pixelDescriptor(new Uint8Array(W * H * 3), W, H).length, DESCRIPTOR_NAMES.length);
  const grey = d(fill(() => [128, 128, 128]));
  assert.ok(grey.contrast < 1e-6);
  assert.ok(grey.sharpness < 1e-6 && grey.saturation === 0 && grey.colourfulness === 0);
  assert.equal(d(fill(() => [0, 0, 0])).clip_black, 1);
  assert.equal(d(fill(() => [255, 255, 255])).clip_white, 1);
  for (const v of pixelDescriptor(new Uint8Array(3), 1, 1)) assert.ok(Number.isFinite(v));
  for (const v of pixelDescriptor(new Uint8Array(0), 0, 0)) assert.equal(v, 0);
});

test('blur lowers sharpness a lot; noise of sigma 10 is estimated near 10', async () => {
  const checker = fill((x, y) => ((Math.floor(x / 8) + Math.floor(y / 8)) % 2 ? [220, 220, 220] : [30, 30, 30]));
  const blurred = await raw(fromRgb(checker).blur(3));
  assert.ok(d(checker).sharpness > d(blurred).sharpness + 2, `${d(checker).sharpness} vs ${d(blurred).sharpness}`);
  const rng = new Rng(5);
  const noisy = fill(() => {
    const v = Math.round(Math.min(255, Math.max(0, 128 + rng.normal(0, 10))));
    return [v, v, v];
  });
  const noise = d(noisy).noise;
  assert.ok(Math.abs(noise - 10) < 3, `noise estimate ${noise}`);
});

test('haze raises the dark channel and lowers contrast', () => {
  const rng = new Rng(9);
  const scene = fill((x, y) => (y < H / 2 ? [90, 140, 200] : [rng.int(0, 120), rng.int(0, 90), rng.int(0, 60)]));
  const hazy = scene.map((v) => Math.round(v * 0.4 + 200 * 0.6));
  assert.ok(d(hazy).haze > d(scene).haze + 0.3);
  assert.ok(d(hazy).contrast < d(scene).contrast);
  assert.ok(d(hazy).dynamic_range < d(scene).dynamic_range);
});

test('horizon tilt: sign and size of a rotated horizon', async () => {
  const big = fill((_x, y) => (y < 240 ? [200, 200, 200] : [40, 40, 40]), 480, 480);
  const tiltOf = async (deg: number): Promise<number> => {
    const rotated = fromRgb(big, 480, 480).rotate(deg, { background: { r: 200, g: 200, b: 200 } });
    const meta = await rotated.clone().raw().toBuffer({ resolveWithObject: true });
    const { width, height } = meta.info;
    const crop = await raw(sharp(meta.data, { raw: { width, height, channels: 3 } }).extract({ left: Math.round(width / 2 - 96), top: Math.round(height / 2 - 64), width: 192, height: 128 }));
    return d(crop).tilt_deg;
  };
  assert.ok(Math.abs(await tiltOf(0)) < 0.5);
  // sharp rotates clockwise for a positive angle: the horizon then falls to the right, a positive tilt
  const cw = await tiltOf(4);
  const ccw = await tiltOf(-4);
  assert.ok(Math.abs(cw - 4) < 0.75, `clockwise 4 degrees measured ${cw}`);
  assert.ok(Math.abs(ccw + 4) < 0.75, `counter-clockwise 4 degrees measured ${ccw}`);
});

test('saturated colour has saturation and colourfulness; grey has neither', () => {
  const colour = d(fill((x) => (x % 2 ? [220, 30, 30] : [30, 200, 40])));
  assert.ok(colour.saturation > 0.8 && colour.colourfulness > 0.5);
});

test('augmentation keeps hue and chroma, never flips vertically, and is reproducible for a seed', () => {
  const size = 224;
  // constant chroma (r - g = 40, g - b = 20) on a luminance ramp that darkens towards the top
  const img = fill((_x, y) => {
    const g = 60 + Math.round(y * 0.6);
    return [g + 40, g, g - 20];
  }, size, size);
  const p = sampleAugment(new Rng(3), size);
  const a = augment(img, size, p);
  assert.deepEqual(augment(img, size, sampleAugment(new Rng(3), size)), a, 'same seed, same view');
  assert.ok(Math.abs(p.rotationDeg) <= 5 && Math.abs(p.brightness) <= 0.1 && Math.abs(p.contrast) <= 0.1 && p.crop.size === 200);
  let worst = 0;
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = [a[i * 3] as number, a[i * 3 + 1] as number, a[i * 3 + 2] as number];
    if (r >= 255 || b <= 0) continue;
    worst = Math.max(worst, Math.abs(r - g - 40), Math.abs(g - b - 20));
  }
  assert.ok(worst <= 1, `chroma drift ${worst}`);
  const top = a[(10 * size + size / 2) * 3 + 1] as number;
  const bottom = a[((size - 10) * size + size / 2) * 3 + 1] as number;
  assert.ok(top < bottom, 'the dark top stays on top: no vertical flip');
});
