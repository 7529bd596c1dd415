/**
 * Training-only augmentation of model-size images that keeps what the photographer judges: the horizon, the
 * composition and the colour. Allowed: horizontal flip (a level horizon stays level, a figure on a thirds line moves
 * to the other one), a 200-of-224 crop resized back whose centre lies within 2% of the frame's side from the frame's
 * centre (a figure on a thirds line stays within 0.05 of the frame width of it), brightness and contrast within
 * +-0.1, rotation within +-1 degree (a tilted horizon is a reason not to keep a frame: a wider rotation would tilt
 * a keeper's horizon). Never a vertical flip, never a hue or saturation change. Brightness and contrast act on
 * luminance only (the same offset is added to R, G and B), so every pixel keeps its hue and chroma.
 */
import { Rng } from '../util/rng.js';

/** The random choices of one augmented view, recorded with it. */
export interface AugmentParams {
  flip: boolean;
  crop: { left: number; top: number; size: number };
  brightness: number;
  contrast: number;
  rotationDeg: number;
}

/** The widest rotation, and the crop centre's largest offset from the frame's centre as a share of the side. */
export const AUGMENT_LIMITS = { rotationDeg: 1, cropShift: 0.02 } as const;

/** Draws the parameters of one view for an image of `size` pixels. */
export function sampleAugment(rng: Rng, size: number): AugmentParams {
  const crop = Math.round((size * 200) / 224);
  const centred = Math.floor((size - crop) / 2);
  const shift = Math.floor(size * AUGMENT_LIMITS.cropShift);
  const at = (): number => Math.max(0, Math.min(size - crop, centred + rng.int(-shift, shift)));
  return {
    flip: rng.chance(0.5),
    crop: { left: at(), top: at(), size: crop },
    brightness: rng.uniform(-0.1, 0.1),
    contrast: rng.uniform(-0.1, 0.1),
    rotationDeg: rng.uniform(-AUGMENT_LIMITS.rotationDeg, AUGMENT_LIMITS.rotationDeg),
  };
}

const clamp255 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Applies one view to an RGB image of size x size; returns a new image of the same size. */
export function augment(rgb: Uint8Array, size: number, p: AugmentParams): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  const a = (p.rotationDeg * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  // rotation about the crop's centre, zoomed so no empty corner enters the view
  const zoom = 1 / (Math.abs(cos) + Math.abs(sin));
  const scale = (p.crop.size / size) * zoom;
  const cx = p.crop.left + p.crop.size / 2;
  const cy = p.crop.top + p.crop.size / 2;
  let lumSum = 0;
  for (let i = 0; i < size * size; i++)
    lumSum += 0.299 * (rgb[i * 3] as number) + 0.587 * (rgb[i * 3 + 1] as number) + 0.114 * (rgb[i * 3 + 2] as number);
  const mean = lumSum / (size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const u = ((p.flip ? size - 1 - x : x) - size / 2 + 0.5) * scale;
      const v = (y - size / 2 + 0.5) * scale;
      const sx = Math.min(size - 1.001, Math.max(0, cx + u * cos - v * sin - 0.5));
      const sy = Math.min(size - 1.001, Math.max(0, cy + u * sin + v * cos - 0.5));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const o = (y * size + x) * 3;
      const px = [0, 0, 0];
      for (let c = 0; c < 3; c++) {
        const p00 = rgb[(y0 * size + x0) * 3 + c] as number;
        const p10 = rgb[(y0 * size + x0 + 1) * 3 + c] as number;
        const p01 = rgb[((y0 + 1) * size + x0) * 3 + c] as number;
        const p11 = rgb[((y0 + 1) * size + x0 + 1) * 3 + c] as number;
        px[c] = (p00 * (1 - fx) + p10 * fx) * (1 - fy) + (p01 * (1 - fx) + p11 * fx) * fy;
      }
      const lum = 0.299 * (px[0] as number) + 0.587 * (px[1] as number) + 0.114 * (px[2] as number);
      // luminance only: one offset for all three channels keeps hue and chroma
      const shift = (lum - mean) * p.contrast + p.brightness * 255;
      out[o] = Math.round(clamp255((px[0] as number) + shift));
      out[o + 1] = Math.round(clamp255((px[1] as number) + shift));
      out[o + 2] = Math.round(clamp255((px[2] as number) + shift));
    }
  }
  return out;
}
