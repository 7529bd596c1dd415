/**
 * The one module that decodes images (sharp). Decoding uses shrink-on-load: a 24 MP JPEG is decoded straight to
 * about 1/8 size, which is ten times faster than a full decode.
 */
import sharp from 'sharp';

/** Long side of the preview cache images, in pixels. */
export const PREVIEW_SIZE = 384;

// one libvips thread per image: the ingest pool runs several images at once, one per core
sharp.concurrency(1);
sharp.cache(false);

/** A decoded preview and the stored size of the original. */
export interface Preview {
  jpeg: Buffer;
  width: number;
  height: number;
  /** libjpeg's warning when the picture decoded only past damage (corrupt data, a missing part drawn grey). */
  warning: string | null;
}

const MAGIC: Array<[string, number[]]> = [
  ['PNG', [0x89, 0x50, 0x4e, 0x47]],
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['TIFF or RAW', [0x49, 0x49, 0x2a, 0x00]],
  ['TIFF or RAW', [0x4d, 0x4d, 0x00, 0x2a]],
  ['PDF', [0x25, 0x50, 0x44, 0x46]],
  ['ZIP', [0x50, 0x4b, 0x03, 0x04]],
];

/** Null for bytes that start like a JPEG, else a reason naming what they look like. */
export function notJpegReason(buf: Uint8Array): string | null {
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return null;
  const head = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const kind = MAGIC.find(([, sig]) => sig.every((b, i) => buf[i] === b))?.[0];
  if (buf.length >= 8 && buf[4] === 0x66 && buf[5] === 0x74 && buf[6] === 0x79 && buf[7] === 0x70) {
    return 'not a JPEG: HEIF/MP4 content';
  }
  return kind ? `not a JPEG: ${kind} content` : `not a JPEG: starts with bytes ${head || '(none)'}`;
}

/**
 * Decodes a JPEG in memory to a small preview, EXIF orientation applied. Throws with libvips' reason when it cannot
 * be decoded; a picture that decodes only past damaged data is kept, with libjpeg's warning (the photographer's
 * photo is still his, but he should know).
 */
export async function makePreview(buf: Buffer, size = PREVIEW_SIZE): Promise<Preview> {
  const meta = await sharp(buf).metadata();
  if (!meta.width || !meta.height) throw new Error('no image size in the JPEG header');
  const decode = (failOn: 'warning' | 'truncated'): Promise<Buffer> =>
    sharp(buf, { failOn })
      .rotate()
      .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 85 })
      .toBuffer();
  try {
    return { jpeg: await decode('warning'), width: meta.width, height: meta.height, warning: null };
  } catch (strict) {
    // a second, lenient decode: it throws too when the damage is beyond a warning
    const jpeg = await decode('truncated');
    // libvips' message names the damage ("Corrupt JPEG data: ...") when its error buffer holds libjpeg's text
    // (the buffer is shared between threads: the same line may come more than once)
    const detail = [
      ...new Set(
        (strict as Error).message
          .split('\n')
          .map((l) => l.replace(/^VipsJpeg: /, '').trim())
          .filter((l) => l && !/treated as error due to failOn/i.test(l)),
      ),
    ];
    return {
      jpeg,
      width: meta.width,
      height: meta.height,
      warning: detail.join('; ') || 'libjpeg reported damaged data',
    };
  }
}

/** Checks a JPEG decodes fully without making a preview (used when the preview already exists). */
export async function readSize(buf: Buffer): Promise<{ width: number; height: number }> {
  const meta = await sharp(buf).metadata();
  if (!meta.width || !meta.height) throw new Error('no image size in the JPEG header');
  return { width: meta.width, height: meta.height };
}
