/**
 * Planted matching cases from a real photo: the edits a photographer makes to a keeper (re-encodes, crops, exposure,
 * a contrast curve, a small rotation, all stripped of metadata) and a burst sibling that differs from the photo
 * only by a figure moved 1% of the width. Used by the planted matching archive (planted.ts), the verification tests
 * and the matching benchmark.
 */
import sharp, { type Sharp } from 'sharp';

/** One planted keeper: how it was made, and its JPEG bytes (no metadata). */
export interface Planted {
  label: string;
  jpeg: Buffer;
}

/** The photo decoded upright at a working long side (planting on 24 MP originals would be slow for nothing). */
export async function uprightRaw(
  file: string | Buffer,
  longSide = 1024,
): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file)
    .rotate()
    .resize(longSide, longSide, { fit: 'inside' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

export const fromRaw = (r: { data: Buffer; width: number; height: number }): Sharp =>
  sharp(r.data, { raw: { width: r.width, height: r.height, channels: 3 } });

/** An S-shaped contrast curve on 0-255 (strength 0: none). */
export function sCurve(data: Buffer, strength: number): Buffer {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const x = v / 255;
    const y = x + ((strength * Math.sin(2 * Math.PI * x)) / (2 * Math.PI)) * -1;
    lut[v] = Math.max(0, Math.min(255, Math.round(y * 255)));
  }
  return Buffer.from(data.map((v) => lut[v] as number));
}

/** Exposure by `ev` stops in linear light, clipped. */
export function exposure(data: Buffer, ev: number): Buffer {
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) {
    const lin = Math.pow(v / 255, 2.2) * Math.pow(2, ev);
    lut[v] = Math.max(0, Math.min(255, Math.round(Math.pow(Math.min(1, lin), 1 / 2.2) * 255)));
  }
  return Buffer.from(data.map((v) => lut[v] as number));
}

/** A crop of `share` (0.02-0.15) of each side's length, placed off-centre by `bias` (-1..1). */
export async function crop(
  r: { data: Buffer; width: number; height: number },
  share: number,
  bias: number,
): Promise<Sharp> {
  const w = Math.round(r.width * (1 - share));
  const h = Math.round(r.height * (1 - share * 0.7));
  const left = Math.round(((r.width - w) / 2) * (1 + bias));
  const top = Math.round(((r.height - h) / 2) * (1 - bias * 0.5));
  return sharp(await fromRaw(r).extract({ left, top, width: w, height: h }).raw().toBuffer(), {
    raw: { width: w, height: h, channels: 3 },
  });
}

/** A rotation by `degrees`, cropped to the largest upright rectangle inside (no border). */
export async function rotated(r: { data: Buffer; width: number; height: number }, degrees: number): Promise<Sharp> {
  const { data, info } = await fromRaw(r)
    .rotate(degrees, { background: '#808080' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const a = Math.abs((degrees * Math.PI) / 180);
  const inset = Math.ceil(Math.max(r.width, r.height) * Math.sin(a)) + 2;
  const w = info.width - 2 * inset;
  const h = info.height - 2 * inset;
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } }).extract({
    left: inset,
    top: inset,
    width: w,
    height: h,
  });
}

/** The keeper edits of one photo: every kind the matching must recognise as the same frame. */
export async function plantEdits(file: string | Buffer): Promise<Planted[]> {
  const r = await uprightRaw(file);
  const jpeg = (s: Sharp, q = 90): Promise<Buffer> => s.jpeg({ quality: q }).toBuffer();
  const raw = (data: Buffer): Sharp => fromRaw({ ...r, data });
  return [
    { label: 're-encode q70', jpeg: await jpeg(fromRaw(r), 70) },
    { label: 're-encode q95', jpeg: await jpeg(fromRaw(r), 95) },
    { label: 'crop 2%', jpeg: await jpeg(await crop(r, 0.02, 0.5)) },
    { label: 'crop 8%', jpeg: await jpeg(await crop(r, 0.08, -0.7), 85) },
    { label: 'crop 15%', jpeg: await jpeg(await crop(r, 0.15, 0.3)) },
    { label: 'exposure +1 EV', jpeg: await jpeg(raw(exposure(r.data, 1))) },
    { label: 'exposure -1 EV', jpeg: await jpeg(raw(exposure(r.data, -1)), 80) },
    { label: 'contrast curve', jpeg: await jpeg(raw(sCurve(r.data, 0.6))) },
    { label: 'rotation 1.5 deg', jpeg: await jpeg(await rotated(r, 1.5)) },
    {
      label: 'crop 10% + exposure -0.5 EV + curve',
      jpeg: await jpeg(await crop({ ...r, data: sCurve(exposure(r.data, -0.5), 0.4) }, 0.1, 0.2), 80),
    },
  ];
}

/**
 * A burst sibling: the photo with its most contrasted figure-sized block (8% of the width, 30% of the height) moved
 * by `share` of the width, as a walker moves between two frames; everything else the same pixels (share 0: the
 * photo itself, through the same decode and encode), at `longSide` pixels.
 */
export async function movedFigure(file: string | Buffer, share = 0.01, longSide = 1024): Promise<Buffer> {
  const r = await uprightRaw(file, longSide);
  const bw = Math.round(r.width * 0.08);
  const bh = Math.round(r.height * 0.3);
  const shift = Math.round(r.width * share);
  // the block with the most contrast along x (a figure against its background), on a coarse grid
  let best = { x: 0, y: 0, score: -1 };
  for (let y = Math.round(r.height * 0.1); y + bh < r.height * 0.9; y += Math.round(bh / 4)) {
    for (let x = Math.round(r.width * 0.1); x + bw + shift < r.width * 0.9; x += Math.round(bw / 2)) {
      let score = 0;
      for (let yy = y; yy < y + bh; yy += 2) {
        for (let xx = x; xx < x + bw; xx += 2) {
          const i = (yy * r.width + xx) * 3;
          score += Math.abs((r.data[i] as number) - (r.data[i + 3] as number));
        }
      }
      if (score > best.score) best = { x, y, score };
    }
  }
  const out = Buffer.from(r.data);
  for (let y = best.y; y < best.y + bh; y++) {
    for (let x = best.x + shift; x < best.x + bw + shift; x++) {
      for (let c = 0; c < 3; c++) out[(y * r.width + x) * 3 + c] = r.data[(y * r.width + x - shift) * 3 + c] as number;
    }
  }
  return fromRaw({ ...r, data: out })
    .jpeg({ quality: 92 })
    .toBuffer();
}
