import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  canonicalName,
  dayFolder,
  folderDate,
  isPlainRicohName,
  isValidDateTime,
  parseCanonicalName,
  ricohName,
} from '../lib/1-ingest/names.js';

test('ricohName finds the camera name in plain, copied and canonical names', () => {
  assert.equal(ricohName('R0001234.JPG'), 'R0001234.JPG');
  assert.equal(ricohName('r0001234.jpg'), 'R0001234.JPG');
  assert.equal(ricohName('R0001234-1.JPG'), 'R0001234.JPG');
  assert.equal(ricohName('2022-01-15_13-22-44_DanteSisofo_R0001234.JPG'), 'R0001234.JPG');
  assert.equal(ricohName('IMG_1234.JPG'), null);
  assert.equal(ricohName('R000123.JPG'), null, 'six digits is not a Ricoh counter');
  assert.equal(ricohName('XR0001234.JPG'), null, 'must start at a word boundary');
});

test('isPlainRicohName accepts only the camera name itself', () => {
  assert.equal(isPlainRicohName('R0001234.JPG'), true);
  assert.equal(isPlainRicohName('R0001234-1.JPG'), false);
  assert.equal(isPlainRicohName('2022-01-15_13-22-44_X_R0001234.JPG'), false);
});

test('parseCanonicalName reads time, author and camera name, and rejects impossible dates', () => {
  assert.deepEqual(parseCanonicalName('2022-01-15_13-22-44_DanteSisofo_R0001234.JPG'), {
    capturedAt: '2022-01-15 13:22:44',
    author: 'DanteSisofo',
    originalFilename: 'R0001234.JPG',
  });
  assert.deepEqual(parseCanonicalName('2024-02-29_00-00-00_A_B_r0000001.jpg'), {
    capturedAt: '2024-02-29 00:00:00',
    author: 'A_B',
    originalFilename: 'R0000001.JPG',
  });
  assert.equal(parseCanonicalName('2023-02-29_10-00-00_X_R0000001.JPG'), null, '2023 is not a leap year');
  assert.equal(parseCanonicalName('2022-01-15_25-00-00_X_R0000001.JPG'), null);
  assert.equal(parseCanonicalName('2022-01-15_DanteSisofo_print-01.jpg'), null);
  assert.equal(
    parseCanonicalName('2022-01-15_13-22-44_DanteSisofo_R0001234-2.JPG')?.originalFilename,
    'R0001234.JPG',
    'a copy suffix',
  );
  assert.equal(
    parseCanonicalName('2022-01-15_13-22-44_DanteSisofo_R0001234 (3).jpg')?.originalFilename,
    'R0001234.JPG',
  );
});

test('canonicalName round-trips through parseCanonicalName', () => {
  const name = canonicalName('2026-11-23 07:05:09.37', 'DanteSisofo', 'R0009999.JPG');
  assert.equal(name, '2026-11-23_07-05-09_DanteSisofo_R0009999.JPG');
  assert.equal(parseCanonicalName(name)?.capturedAt, '2026-11-23 07:05:09');
});

test('folderDate takes the deepest valid day folder; dayFolder builds the layout', () => {
  assert.equal(folderDate('2022/2022-01/2022-01-15/R0001234.JPG'), '2022-01-15');
  assert.equal(folderDate('2022/2022-01/2022-01-15/import-2/R0001234.JPG'), '2022-01-15');
  assert.equal(folderDate('2022/2022-13/2022-13-01/R0001234.JPG'), null);
  assert.equal(folderDate('R0001234.JPG'), null);
  assert.equal(dayFolder('2022-01-15'), '2022/2022-01/2022-01-15');
  assert.equal(isValidDateTime(2100, 12, 31, 23, 59, 59), true);
  assert.equal(isValidDateTime(2022, 4, 31), false);
});
