import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { parseExifDate, readExif } from '../lib/1-ingest/exif.js';
import { makePreview, notJpegReason } from '../lib/1-ingest/image.js';
import { envSkip, noSharedPhotos, SHARED_PHOTOS } from './helpers.js';

function manifest(): Array<Record<string, string>> {
  const [head, ...rows] = readFileSync(join(SHARED_PHOTOS, 'MANIFEST.tsv'), 'utf8').trim().split('\n');
  const cols = (head as string).split('\t');
  return rows.map((r) => Object.fromEntries(r.split('\t').map((v, i) => [cols[i], v])));
}

test(
  'EXIF of the real camera JPEGs equals MANIFEST.tsv (time, make, model, stored size)',
  { skip: envSkip(noSharedPhotos) },
  async () => {
    const rows = manifest();
    assert.ok(rows.length >= 10, 'the manifest lists the shared photos');
    for (const row of rows) {
      const buf = readFileSync(join(SHARED_PHOTOS, row.file as string));
      const exif = await readExif(buf);
      const expected = (row.DateTimeOriginal as string).replace(/^(\d{4}):(\d{2}):(\d{2})/, '$1-$2-$3');
      assert.equal(exif.capturedAt?.slice(0, 19), expected, `${row.file} DateTimeOriginal`);
      assert.equal(exif.make, row.Make, `${row.file} Make`);
      assert.equal(exif.model, row.Model, `${row.file} Model`);
      const meta = await sharp(buf).metadata();
      assert.equal(`${meta.width}x${meta.height}`, `${row.width}x${row.height}`, `${row.file} stored size`);
    }
  },
);

test('orientation: previews of rotated real photos come out upright', { skip: envSkip(noSharedPhotos) }, async () => {
  const cases: Array<[string, number | null]> = [
    ['mei_canon-eos-1000d.jpg', 6],
    ['mei_nikon-d40.jpg', 6],
    ['mei_apple-iphone-5.jpg', 3],
    ['mei_motorola-xt1068.jpg', null],
  ];
  for (const [file, orientation] of cases) {
    const buf = readFileSync(join(SHARED_PHOTOS, file));
    const exif = await readExif(buf);
    assert.equal(exif.orientation, orientation, `${file} orientation`);
    const preview = await makePreview(buf);
    const meta = await sharp(preview.jpeg).metadata();
    const sideways = orientation !== null && orientation >= 5;
    assert.equal(
      (meta.width as number) > (meta.height as number),
      sideways ? preview.width < preview.height : preview.width > preview.height,
      `${file}: preview ${meta.width}x${meta.height} from stored ${preview.width}x${preview.height}`,
    );
    assert.equal(Math.max(meta.width as number, meta.height as number), 384, `${file} preview long side`);
  }
});

test('sub-seconds and offsets of a written Ricoh EXIF block are read back', async () => {
  const jpeg = await sharp({ create: { width: 32, height: 24, channels: 3, background: '#808080' } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'RICOH IMAGING COMPANY, LTD.', Model: 'RICOH GR III' },
      IFD2: {
        DateTimeOriginal: '2022:01:15 13:22:44',
        SubSecTimeOriginal: '37',
        OffsetTimeOriginal: '+01:00',
        ExposureTime: '1/250',
        FNumber: '28/10',
        ISOSpeedRatings: '400',
        FocalLength: '183/10',
      },
    })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  const e = await readExif(jpeg);
  assert.equal(e.capturedAt, '2022-01-15 13:22:44.37');
  assert.equal(e.utcOffset, '+01:00');
  assert.equal(e.model, 'RICOH GR III');
  assert.equal(e.orientation, 6);
  assert.equal(e.exposureTime, 1 / 250);
  assert.equal(e.fNumber, 2.8);
  assert.equal(e.iso, 400);
  assert.equal(e.focalLength, 18.3);
  assert.equal(e.hasExif, true);
});

test('missing or junk EXIF becomes nulls, never a wrong fact', async () => {
  const bare = await sharp({ create: { width: 16, height: 16, channels: 3, background: '#000' } })
    .jpeg()
    .toBuffer();
  const e = await readExif(bare);
  assert.equal(e.hasExif, false);
  assert.equal(e.capturedAt, null);
  assert.equal(parseExifDate('0000:00:00 00:00:00'), null);
  assert.equal(parseExifDate('2022:02:30 10:00:00'), null);
  assert.equal(parseExifDate('2022:01:15 13:22:44', '5'), '2022-01-15 13:22:44.5');
  assert.equal(notJpegReason(Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2])), 'not a JPEG: PNG content');
  assert.equal(notJpegReason(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), null);
});

test(
  'a damaged EXIF block is told from a missing one: stripped, intact and corrupt blocks of real photos',
  { skip: envSkip(noSharedPhotos) },
  async () => {
    const buf = readFileSync(join(SHARED_PHOTOS, 'mei_nikon-d40.jpg'));
    const intact = await readExif(buf);
    assert.equal(intact.exifDamage, null);
    assert.ok(intact.hasExif && intact.capturedAt !== null);
    // stripped by sharp (no withMetadata): no block, so no damage either
    const stripped = await sharp(buf).jpeg().toBuffer();
    assert.deepEqual([(await readExif(stripped)).hasExif, (await readExif(stripped)).exifDamage], [false, null]);
    const tiff = buf.indexOf(Buffer.from('Exif\0\0')) + 6;
    const corrupt = (edit: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(buf);
      edit(b);
      return b;
    };
    const cases: Array<[string, Buffer, RegExp]> = [
      [
        'IFD0 offset past the end',
        corrupt((b) =>
          b[tiff] === 0x49 ? b.writeUInt32LE(0x7ffffff0, tiff + 4) : b.writeUInt32BE(0x7ffffff0, tiff + 4),
        ),
        /outside of file/,
      ],
      ['TIFF header zeroed', corrupt((b) => b.fill(0, tiff, tiff + 400)), /Malformed EXIF/],
      [
        'IFD entries overwritten',
        corrupt((b) => {
          for (let i = tiff + 8; i < tiff + 2000; i++) b[i] = (i * 7919) & 255;
        }),
        /Invalid TIFF value type/,
      ],
    ];
    for (const [what, bytes, message] of cases) {
      const e = await readExif(bytes);
      assert.equal(e.hasExif, false, `${what}: nothing readable`);
      assert.match(e.exifDamage ?? '', message, what);
      assert.ok(!(e.exifDamage ?? '').includes('\n'), `${what}: one line`);
    }
    // a valid EXIF block with no entries at all (IFD0 of 0 entries): empty, not damaged
    const empty = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00, 0x16]),
      Buffer.from('Exif\0\0'),
      Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
      stripped.subarray(2),
    ]);
    assert.deepEqual([(await readExif(empty)).hasExif, (await readExif(empty)).exifDamage], [false, null]);
  },
);
