/**
 * Model input from a preview: the model card's resize and centre crop (sharp), then mean/std into NCHW floats.
 * Previews are already upright (EXIF orientation applied at ingest), so nothing here re-reads an original.
 */
import sharp from 'sharp';
import type { Preprocessing } from './models.js';
import { augment, sampleAugment } from './augment.js';
import { pixelDescriptor } from './descriptor.js';
import { Rng } from '../util/rng.js';

/** The resize target and crop box a model card prescribes for an image of this size. */
export function cropBox(
  width: number,
  height: number,
  p: Preprocessing,
): { rw: number; rh: number; left: number; top: number } {
  if (p.resizeMode === 'squash') return { rw: p.size, rh: p.size, left: 0, top: 0 };
  const scale = p.resize / Math.min(width, height);
  const rw = Math.max(p.size, Math.round(width * scale));
  const rh = Math.max(p.size, Math.round(height * scale));
  return { rw, rh, left: Math.floor((rw - p.size) / 2), top: Math.floor((rh - p.size) / 2) };
}

/** Resizes and crops RGB pixels to the model's input size; returns RGB bytes of size x size. */
export async function modelPixels(
  rgb: Uint8Array,
  width: number,
  height: number,
  p: Preprocessing,
): Promise<Uint8Array> {
  const box = cropBox(width, height, p);
  const out = await sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(box.rw, box.rh, { fit: 'fill', kernel: p.kernel })
    .extract({ left: box.left, top: box.top, width: p.size, height: p.size })
    .raw()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Writes RGB bytes (size x size) into `out` at image `index` as normalised NCHW floats. */
export function toTensor(rgb: Uint8Array, p: Preprocessing, out: Float32Array, index = 0): void {
  const plane = p.size * p.size;
  const base = index * 3 * plane;
  const [m0, m1, m2] = p.mean;
  const [s0, s1, s2] = p.std;
  for (let i = 0; i < plane; i++) {
    out[base + i] = ((rgb[i * 3] as number) / 255 - m0) / s0;
    out[base + plane + i] = ((rgb[i * 3 + 1] as number) / 255 - m1) / s1;
    out[base + 2 * plane + i] = ((rgb[i * 3 + 2] as number) / 255 - m2) / s2;
  }
}

/** Decodes an image file's bytes, applying EXIF orientation, to RGB. */
export async function decodeRgb(jpeg: Uint8Array): Promise<{ rgb: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(jpeg, { failOn: 'truncated' })
    .rotate()
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** What one preview becomes for the embedder: its pixel descriptor and (with preprocessing) the model tensor. */
export interface PreparedImage {
  descriptor: Float32Array | null;
  tensor: Float32Array | null;
}

/**
 * The one decode path of the embedder (the worker threads and the benchmark call it): JPEG -> RGB -> pixel
 * descriptor, and model crop -> tensor. With `view`, the model crop is an augmented view (seeded by the photo and
 * view number) and the descriptor is skipped (it belongs to the original). With `out`, the tensor is written there
 * (a slot of a shared batch buffer) and `tensor` comes back null.
 */
export async function prepareImage(
  jpeg: Uint8Array,
  preprocessing: Preprocessing | null,
  view?: { seed: number; id: number; view: number },
  out?: Float32Array,
): Promise<PreparedImage> {
  const { rgb, width, height } = await decodeRgb(jpeg);
  const descriptor = view ? null : pixelDescriptor(rgb, width, height);
  let tensor: Float32Array | null = null;
  if (preprocessing) {
    let px = await modelPixels(rgb, width, height, preprocessing);
    if (view)
      px = augment(
        px,
        preprocessing.size,
        sampleAugment(new Rng(view.seed).fork(`view:${view.id}:${view.view}`), preprocessing.size),
      );
    // straight into the caller's (shared) batch buffer when given one
    if (out) toTensor(px, preprocessing, out);
    else {
      tensor = new Float32Array(3 * preprocessing.size * preprocessing.size);
      toTensor(px, preprocessing, tensor);
    }
  }
  return { descriptor, tensor };
}
