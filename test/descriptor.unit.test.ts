import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { DESCRIPTOR_NAMES, pixelDescriptor } from '../lib/2-embed/descriptor.js';
import { augment, sampleAugment } from '../lib/2-embed/augment.js';
import { Rng } from '../lib/util/rng.js';
import { makePreview } from '../lib/1-ingest/image.js';
import { decodeRgb } from '../lib/2-embed/preprocess.js';
import { envSkip, noSharedPhotos, SHARED_PHOTOS } from './helpers.js';

/** The size of the preview cache images the descriptor sees in production. */
const W = 384;
const H = 256;

type Rgb = [number, number, number];
const d = (rgb: Uint8Array, w = W, h = H): Record<string, number> =>
  Object.fromEntries(Array.from(pixelDescriptor(rgb, w, h), (v, i) => [DESCRIPTOR_NAMES[i] as string, v]));
const fill = (f: (x: number, y: number) => Rgb, w = W, h = H): Uint8Array => {
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.set(f(x, y), (y * w + x) * 3);
  return out;
};
const clamp = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));
const raw = async (s: Sharp): Promise<Uint8Array> => new Uint8Array(await s.raw().toBuffer());
const fromRgb = (rgb: Uint8Array, w = W, h = H): Sharp =>
  sharp(Buffer.from(rgb), { raw: { width: w, height: h, channels: 3 } });
const allFinite = (v: Float32Array): boolean => Array.from(v).every(Number.isFinite);
/** A street-like scene: sky, a building block with windows, a dark street with random clutter. */
const scene = (seed: number): Uint8Array => {
  const rng = new Rng(seed);
  const clutter = Array.from({ length: W * H }, () => rng.int(0, 110));
  return fill((x, y) => {
    if (y < 80) return [120, 160, 210];
    if (y < 170) return x % 48 < 16 && y % 30 < 15 ? [30, 30, 40] : [170, 140, 110];
    const c = clutter[y * W + x] as number;
    return [c, Math.round(c * 0.8), Math.round(c * 0.6)];
  });
};

test('names match the output; every measure is finite for degenerate images', () => {
  assert.equal(DESCRIPTOR_NAMES.length, 23);
  assert.equal(pixelDescriptor(new Uint8Array(W * H * 3), W, H).length, DESCRIPTOR_NAMES.length);
  assert.deepEqual(
    [...DESCRIPTOR_NAMES],
    [
      'brightness',
      'contrast',
      'dynamic_range',
      'clip_black',
      'clip_white',
      'haze',
      'sharpness',
      'noise',
      'saturation',
      'tilt_deg',
      'tilt_strength',
      'colourfulness',
      'light_rows',
      'light_rows_low',
      'haze_top',
      'haze_middle',
      'haze_bottom',
      'local_contrast_top',
      'local_contrast_middle',
      'local_contrast_bottom',
      'haze_spread',
      'veil_spread',
      'cast_shadow',
    ],
  );
  for (const [w, h] of [
    [1, 1],
    [2, 1],
    [1, 5],
    [3, 3],
    [2, 2],
    [0, 0],
    [0, 7],
  ] as const) {
    for (const v of [0, 128, 255]) {
      const out = pixelDescriptor(new Uint8Array(w * h * 3).fill(v), w, h);
      assert.equal(out.length, DESCRIPTOR_NAMES.length);
      assert.ok(allFinite(out), `${w}x${h} of ${v}: ${out}`);
    }
  }
  const rng = new Rng(1);
  for (const [w, h] of [
    [1, 1],
    [3, 3],
    [7, 2],
    [50, 40],
  ] as const) {
    const out = pixelDescriptor(
      Uint8Array.from({ length: w * h * 3 }, () => rng.int(0, 255)),
      w,
      h,
    );
    assert.ok(allFinite(out), `random ${w}x${h}: ${out}`);
  }
  assert.throws(() => pixelDescriptor(new Uint8Array(10), 2, 2), RangeError);
  assert.throws(() => pixelDescriptor(new Uint8Array(W * H * 4), W, H), RangeError, 'RGBA is refused');
});

test('uniform grey: no contrast, sharpness, noise, tilt, saturation or colourfulness', () => {
  const grey = d(fill(() => [128, 128, 128]));
  assert.ok(Math.abs(grey.brightness! - 128 / 255) < 1e-6);
  assert.equal(grey.contrast, 0);
  assert.equal(grey.dynamic_range, 0);
  assert.ok(grey.sharpness! < 1e-6);
  assert.equal(grey.noise, 0);
  assert.equal(grey.tilt_deg, 0);
  assert.equal(grey.tilt_strength, 0);
  assert.equal(grey.saturation, 0);
  assert.equal(grey.colourfulness, 0);
  assert.equal(grey.clip_black, 0);
  assert.equal(grey.clip_white, 0);
  assert.ok(Math.abs(grey.haze! - 128 / 255) < 1e-6);
});

test('black and white images are fully clipped', () => {
  const black = d(fill(() => [0, 0, 0]));
  assert.equal(black.clip_black, 1);
  assert.equal(black.clip_white, 0);
  assert.equal(black.brightness, 0);
  assert.equal(black.saturation, 0);
  const white = d(fill(() => [255, 255, 255]));
  assert.equal(white.clip_white, 1);
  assert.equal(white.clip_black, 0);
  assert.ok(Math.abs(white.brightness! - 1) < 1e-6);
  assert.ok(Math.abs(white.haze! - 1) < 1e-6);
  // a pure red pixel has one channel >= 252: clipped white, not black
  assert.equal(d(fill(() => [255, 0, 0])).clip_white, 1);
  // a half black, half white image
  const half = d(fill((x) => (x < W / 2 ? [0, 0, 0] : [255, 255, 255])));
  assert.ok(Math.abs(half.clip_black! - 0.5) < 1e-6 && Math.abs(half.clip_white! - 0.5) < 1e-6);
  assert.ok(half.dynamic_range! > 0.98);
  assert.ok(Math.abs(half.contrast! - 0.5) < 1e-3);
});

test('blur lowers sharpness by a large factor', async () => {
  const checker = fill((x, y) => ((Math.floor(x / 8) + Math.floor(y / 8)) % 2 ? [220, 220, 220] : [30, 30, 30]));
  const sharpV = d(checker).sharpness!;
  const soft = d(await raw(fromRgb(checker).blur(3))).sharpness!;
  // log1p of the Laplacian variance: a difference of 3 is a factor of 20 in variance
  assert.ok(sharpV - soft > 3, `sharpness ${sharpV} vs blurred ${soft}`);
  const softer = d(await raw(fromRgb(checker).blur(6))).sharpness!;
  assert.ok(softer < soft, `more blur, less sharpness: ${softer} vs ${soft}`);
  // also on a photo-like scene
  const s = scene(3);
  assert.ok(d(s).sharpness! - d(await raw(fromRgb(s).blur(3))).sharpness! > 3);
});

test('noise of sigma 10 is estimated within 30%, on a flat image and on a scene with edges', async () => {
  const rng = new Rng(5);
  const addNoise = (img: Uint8Array, sigma: number): Uint8Array => {
    const out = new Uint8Array(img.length);
    for (let i = 0; i < img.length; i += 3) {
      // the same noise in all channels, so that luma noise is sigma too
      const e = rng.normal(0, sigma);
      for (let c = 0; c < 3; c++) out[i + c] = clamp((img[i + c] as number) + e);
    }
    return out;
  };
  const flat = fill(() => [128, 128, 128]);
  const flatNoise = d(addNoise(flat, 10)).noise!;
  assert.ok(Math.abs(flatNoise - 10) < 3, `flat: noise estimate ${flatNoise}`);
  // a smooth scene with strong edges (a blurred checkerboard on a ramp): the edges must not read as noise
  const edges = await raw(
    fromRgb(
      fill((x, y) => {
        const v = 60 + x * 0.3 + ((Math.floor(x / 32) + Math.floor(y / 32)) % 2 ? 60 : 0);
        return [v, v, v];
      }),
    ).blur(1.5),
  );
  const clean = d(edges).noise!;
  assert.ok(clean < 1.5, `clean scene: noise estimate ${clean}`);
  const noisy = d(addNoise(edges, 10)).noise!;
  assert.ok(Math.abs(noisy - 10) < 3, `scene: noise estimate ${noisy}`);
  // it grows with the noise
  assert.ok(d(addNoise(flat, 3)).noise! < flatNoise / 2);
});

test('haze (a 60% blend towards light grey) raises the dark channel and lowers contrast', () => {
  const s = scene(9);
  const hazy = s.map((v) => Math.round(v * 0.4 + 200 * 0.6));
  const clear = d(s);
  const fog = d(hazy);
  assert.ok(fog.haze! > clear.haze! + 0.3, `haze ${fog.haze} vs ${clear.haze}`);
  assert.ok(fog.contrast! < clear.contrast! * 0.5, `contrast ${fog.contrast} vs ${clear.contrast}`);
  assert.ok(fog.dynamic_range! < clear.dynamic_range!);
  assert.ok(fog.colourfulness! < clear.colourfulness!);
});

test('tilt: counter-clockwise rotation is positive, clockwise negative, level is 0', async () => {
  // a horizon (light sky over dark ground) with a few horizontal stripes in the ground
  const size = 640;
  const big = fill(
    (_x, y) => {
      if (y < size / 2) return [200, 200, 200];
      return Math.floor((y - size / 2) / 24) % 2 ? [70, 70, 70] : [40, 40, 40];
    },
    size,
    size,
  );
  /** Rotates counter-clockwise by `ccw` degrees (sharp rotates clockwise for a positive angle) and crops the centre. */
  const rotated = async (ccw: number): Promise<Uint8Array> => {
    const { data, info } = await fromRgb(big, size, size)
      .rotate(-ccw, { background: { r: 128, g: 128, b: 128 } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return raw(
      sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).extract({
        left: Math.round(info.width / 2 - W / 2),
        top: Math.round(info.height / 2 - H / 2),
        width: W,
        height: H,
      }),
    );
  };
  /** The row where the sky ends in column x, to check the direction of the rotation independently of the descriptor. */
  const horizonRow = (img: Uint8Array, x: number): number => {
    for (let y = 0; y < H; y++) if ((img[(y * W + x) * 3] as number) < 150) return y;
    return H;
  };

  const level = d(await rotated(0));
  assert.ok(Math.abs(level.tilt_deg!) < 0.5, `level: ${level.tilt_deg}`);
  assert.ok(level.tilt_strength! > 0.8, `level strength ${level.tilt_strength}`);

  const ccwImg = await rotated(4);
  // counter-clockwise: the horizon rises towards the right (smaller row index)
  assert.ok(horizonRow(ccwImg, W - 20) < horizonRow(ccwImg, 20) - 10, 'the test rotation is counter-clockwise');
  const ccw = d(ccwImg);
  assert.ok(Math.abs(ccw.tilt_deg! - 4) < 0.7, `counter-clockwise 4 degrees measured ${ccw.tilt_deg}`);
  assert.ok(ccw.tilt_strength! > 0.5, `strength ${ccw.tilt_strength}`);

  const cw = d(await rotated(-4));
  assert.ok(Math.abs(cw.tilt_deg! + 4) < 0.7, `clockwise 4 degrees measured ${cw.tilt_deg}`);

  const small = d(await rotated(1.5));
  assert.ok(Math.abs(small.tilt_deg! - 1.5) < 0.7, `1.5 degrees measured ${small.tilt_deg}`);

  // random texture has no dominant direction: a low strength
  const rng = new Rng(2);
  const texture = d(await raw(fromRgb(Uint8Array.from({ length: W * H * 3 }, () => rng.int(0, 255))).blur(1)));
  assert.ok(texture.tilt_strength! < 0.2, `texture strength ${texture.tilt_strength}`);
});

test('tilt: a horizon drawn as a staircase of level runs, and diagonal bands of hard light, read as the horizon', () => {
  /** Sky over ground with the horizon rising `ccw` degrees to the right, in whole pixel rows (no anti-aliasing). */
  const stair = (ccw: number, band?: (x: number, y: number) => boolean): Uint8Array => {
    const t = Math.tan((ccw * Math.PI) / 180);
    return fill((x, y) => {
      if (y < Math.round((band ? 0.3 : 0.5) * H - (x - W / 2) * t)) return band ? [120, 120, 120] : [200, 200, 200];
      if (!band) return [50, 50, 50];
      return band(x, y) ? [230, 230, 230] : [30, 30, 30];
    });
  };
  // at 4 degrees the runs are 14 pixels long: read at half size they pulled the angle to about 1.7 degrees
  for (const ccw of [4, -4, 3, 7]) {
    const m = d(stair(ccw)).tilt_deg!;
    assert.ok(Math.abs(m - ccw) < 0.5, `a staircase horizon at ${ccw} degrees measured ${m.toFixed(2)}`);
  }
  // hard sun in bands 35 degrees off level over the ground below a level horizon: their edges outweigh the horizon's,
  // and searched over +-45 degrees the peak was theirs (41.6 degrees)
  const bands = (x: number, y: number): boolean => (x * Math.cos(0.61) + y * Math.sin(0.61)) % 24 < 10.8;
  const lit = d(stair(0, bands));
  assert.ok(Math.abs(lit.tilt_deg!) < 1, `a level horizon under bands of light measured ${lit.tilt_deg}`);
});

test(
  'tilt: a real sea horizon, thin and soft, reads level (at a quarter of the preview alone it read -3.6 degrees)',
  { skip: envSkip(noSharedPhotos) },
  async () => {
    // the sky meets the sea 2 rows lower on the right than on the left over 600 of 768 columns: about -0.2 degrees
    const preview = await makePreview(readFileSync(join(SHARED_PHOTOS, 'mei_sony-dsc-h9.jpg')));
    const { rgb, width, height } = await decodeRgb(preview.jpeg);
    const m = d(rgb, width, height).tilt_deg!;
    assert.ok(Math.abs(m) < 1.2, `the sea's horizon measured ${m.toFixed(2)} degrees`);
  },
);

test('saturated colour has saturation and colourfulness; grey has neither', () => {
  const grey = d(
    fill((x, y) => {
      const v = (x * 3 + y) % 256;
      return [v, v, v];
    }),
  );
  assert.equal(grey.saturation, 0);
  assert.equal(grey.colourfulness, 0);
  const colour = d(fill((x, y) => ((Math.floor(x / 4) + Math.floor(y / 4)) % 2 ? [220, 30, 30] : [30, 200, 40])));
  assert.ok(colour.saturation! > 0.8, `saturation ${colour.saturation}`);
  assert.ok(colour.colourfulness! > 1, `colourfulness ${colour.colourfulness}`);
  const muted = d(fill((x, y) => ((Math.floor(x / 4) + Math.floor(y / 4)) % 2 ? [150, 120, 120] : [120, 140, 122])));
  assert.ok(muted.saturation! < colour.saturation! && muted.colourfulness! < colour.colourfulness! / 3);
});

test('deterministic', () => {
  const s = scene(4);
  assert.deepEqual(pixelDescriptor(s, W, H), pixelDescriptor(s, W, H));
});

test('augmentation keeps hue and chroma, never flips vertically, and is reproducible for a seed', () => {
  const size = 224;
  // constant chroma (r - g = 40, g - b = 20) on a luminance ramp that darkens towards the top
  const img = fill(
    (_x, y) => {
      const g = 60 + Math.round(y * 0.6);
      return [g + 40, g, g - 20];
    },
    size,
    size,
  );
  const p = sampleAugment(new Rng(3), size);
  const a = augment(img, size, p);
  assert.deepEqual(augment(img, size, sampleAugment(new Rng(3), size)), a, 'same seed, same view');
  assert.ok(
    Math.abs(p.rotationDeg) <= 5 && Math.abs(p.brightness) <= 0.1 && Math.abs(p.contrast) <= 0.1 && p.crop.size === 200,
  );
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

/** A ground (the lower half) that falls off from 120 near the horizon to 60 at the bottom, as a street does. */
const ground = (y: number): number => 120 - (60 * (y - H / 2)) / (H / 2);
const grey = (v: number): Rgb => [clamp(v), clamp(v), clamp(v)];

test('light_rows reads hard light as the bright-to-dark ratio along the ground, not its fall-off with distance', () => {
  const sky = (y: number): Rgb => grey(150 + y / 4);
  const flat = d(fill((x, y) => (y < H / 2 ? sky(y) : grey(ground(y)))));
  // diagonal bands of sun (x 1.6) and shadow (x 0.6) across the ground: log2(1.6 / 0.6) = 1.415
  const banded = d(fill((x, y) => (y < H / 2 ? sky(y) : grey(ground(y) * ((x + 0.6 * y) % 90 < 36 ? 1.6 : 0.6)))));
  assert.ok(flat.light_rows < 0.05, `a flat ground in soft light: ${flat.light_rows}`);
  assert.ok(Math.abs((banded.light_rows as number) - 1.415) < 0.1, `sun and shadow bands: ${banded.light_rows}`);
  assert.ok((banded.light_rows_low as number) > 1.2, `on every row: ${banded.light_rows_low}`);
  // softer light, the same pattern: a smaller ratio
  const soft = d(fill((x, y) => (y < H / 2 ? sky(y) : grey(ground(y) * ((x + 0.6 * y) % 90 < 36 ? 1.2 : 0.85)))));
  assert.ok((soft.light_rows as number) < (banded.light_rows as number) - 0.6, `softer: ${soft.light_rows}`);
  // bands only in the sky and on walls above the lower third do not count as light on the ground
  const high = d(fill((x, y) => (y < H / 2 ? grey(((x + 0.6 * y) % 90 < 36 ? 1.6 : 0.6) * 120) : grey(ground(y)))));
  assert.ok((high.light_rows as number) < 0.05, `bands above the ground: ${high.light_rows}`);
});

/** Windows on a wall (texture), veiled toward a fog colour by `fog(y)` (0 clear, 1 all fog). */
const veiled = (fog: (x: number, y: number) => number): Uint8Array =>
  fill((x, y) => {
    const wall: Rgb = x % 8 < 4 && y % 8 < 4 ? [40, 35, 30] : [150, 120, 100];
    const f = fog(x, y);
    return wall.map((c) => clamp(c + (205 - c) * f)) as Rgb;
  });

test('haze by height: fog that thickens up the frame lifts the top dark channel and takes its local contrast', () => {
  const clear = d(veiled(() => 0));
  const deep = d(veiled((_, y) => 0.8 * (1 - y / H)));
  for (const b of ['top', 'middle', 'bottom']) {
    assert.ok(Math.abs((clear[`haze_${b}`] as number) - 30 / 255) < 0.01, `clear ${b}: ${clear[`haze_${b}`]}`);
  }
  assert.ok(
    (deep.haze_top as number) > (deep.haze_middle as number) + 0.1 &&
      (deep.haze_middle as number) > (deep.haze_bottom as number) + 0.1,
    `haze falls toward the bottom: ${deep.haze_top} ${deep.haze_middle} ${deep.haze_bottom}`,
  );
  assert.ok(
    (deep.local_contrast_top as number) < 0.5 * (deep.local_contrast_bottom as number),
    `contrast rises toward the bottom: ${deep.local_contrast_top} ${deep.local_contrast_bottom}`,
  );
  assert.ok(Math.abs((deep.local_contrast_bottom as number) - (clear.local_contrast_bottom as number)) < 0.15);
});

test('haze_spread and veil_spread: walls at several depths in fog differ in veil; one depth, or clear air, does not', () => {
  // four walls side by side, each a different distance into the fog
  const layered = d(veiled((x) => [0.1, 0.3, 0.5, 0.7][Math.floor((4 * x) / W)] as number));
  const one = d(veiled(() => 0.4));
  const clear = d(veiled(() => 0));
  assert.ok(
    (layered.haze_spread as number) > 0.4,
    `four depths: dark channel from ${30 + 0.1 * 175} to ${30 + 0.7 * 175}: ${layered.haze_spread}`,
  );
  assert.ok((one.haze_spread as number) < 0.02 && (clear.haze_spread as number) < 0.02, `${one.haze_spread}`);
  assert.ok((layered.veil_spread as number) > 0.3, `${layered.veil_spread}`);
  assert.ok((one.veil_spread as number) < 0.05 && (clear.veil_spread as number) < 0.05, `${one.veil_spread}`);
});

test('cast_shadow: a thin dark strip along lit ground reads as its length; broad shadow, uprights and dark ground do not', () => {
  const sky = (y: number): Rgb => grey(150 + y / 4);
  // a figure's shadow: 3 rows at 0.35 of the ground from x 100 to 196 (a quarter of the width), low in the frame
  const strip = (x: number, y: number): boolean => y >= 200 && y < 203 && x >= 100 && x < 196;
  const cast = d(fill((x, y) => (y < H / 2 ? sky(y) : grey(ground(y) * (strip(x, y) ? 0.35 : 1)))));
  assert.ok(Math.abs((cast.cast_shadow as number) - 96 / W) < 2 / W, `a 96 px shadow: ${cast.cast_shadow * W} px`);
  const short = d(fill((x, y) => (y < H / 2 ? sky(y) : grey(ground(y) * (strip(x, y) && x < 140 ? 0.35 : 1)))));
  assert.ok(Math.abs((short.cast_shadow as number) - 40 / W) < 2 / W, `a 40 px shadow: ${short.cast_shadow * W} px`);
  // none on a flat ground
  assert.equal(d(fill((x, y) => (y < H / 2 ? sky(y) : grey(ground(y))))).cast_shadow, 0);
  // a broad band of shade across the ground (40 rows), dark uprights (poles 4 px wide) and a strip on a dark ground
  const band = d(fill((x, y) => (y < H / 2 ? sky(y) : grey(ground(y) * (y >= 180 && y < 220 ? 0.35 : 1)))));
  assert.equal(band.cast_shadow, 0, `broad shade: ${band.cast_shadow * W} px`);
  const poles = d(fill((x, y) => (y < H / 2 ? sky(y) : grey(x % 40 < 4 ? 20 : ground(y)))));
  assert.equal(poles.cast_shadow, 0, `poles: ${poles.cast_shadow * W} px`);
  const night = d(fill((x, y) => (y < H / 2 ? grey(10) : grey(25 * (strip(x, y) ? 0.35 : 1)))));
  assert.equal(night.cast_shadow, 0, `a dark street: ${night.cast_shadow * W} px`);
  // in the sky or on a wall above the lower half, a dark strip is no shadow on the ground
  const high = d(
    fill((x, y) => (y < H / 2 ? grey(150 * (y >= 60 && y < 63 && x >= 100 && x < 196 ? 0.35 : 1)) : grey(ground(y)))),
  );
  assert.equal(high.cast_shadow, 0, `above the ground: ${high.cast_shadow * W} px`);
});
