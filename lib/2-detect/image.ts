/** Decodes an image file (a preview, or a photo in a test or bench) to raw RGB for the detectors. */
import sharp from 'sharp';
import type { Rgb } from './run.js';

/** The image as RGB, EXIF orientation applied, shrunk so its long side is at most `maxSide` pixels. */
export async function decodeRgb(input: string | Buffer, maxSide = Infinity): Promise<Rgb> {
  let img = sharp(input, { failOn: 'truncated' }).rotate();
  if (Number.isFinite(maxSide))
    img = img.resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true });
  const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}
