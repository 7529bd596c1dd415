/**
 * EXIF through exifr, turned into typed fields. Validators turn junk (zero dates, impossible values) into null,
 * so a bad tag never becomes a wrong fact. Dates stay camera-local strings: no time zone is ever guessed.
 */
import exifr from 'exifr';
import { isValidDateTime } from './names.js';

/** The EXIF fields the workbench stores. Absent or invalid tags are null. */
export interface ExifFields {
  /** Camera-local DateTimeOriginal with sub-seconds: `YYYY-MM-DD HH:MM:SS[.fff]`. */
  capturedAt: string | null;
  /** OffsetTimeOriginal, `+HH:MM`. */
  utcOffset: string | null;
  make: string | null;
  model: string | null;
  focalLength: number | null;
  exposureTime: number | null;
  fNumber: number | null;
  iso: number | null;
  orientation: number | null;
  gpsLat: number | null;
  gpsLon: number | null;
  /** True when the file carried an EXIF block with any of these fields. */
  hasExif: boolean;
  /** Why the file's EXIF block could not be read (whole or in part), or null when it read cleanly or there is none. */
  exifDamage: string | null;
}

const EMPTY: ExifFields = {
  capturedAt: null,
  utcOffset: null,
  make: null,
  model: null,
  focalLength: null,
  exposureTime: null,
  fNumber: null,
  iso: null,
  orientation: null,
  gpsLat: null,
  gpsLon: null,
  hasExif: false,
  exifDamage: null,
};

const OPTIONS = {
  tiff: true,
  exif: true,
  gps: true,
  ifd1: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  interop: false,
  makerNote: false,
  userComment: false,
  reviveValues: false,
  translateValues: false,
  translateKeys: true,
  mergeOutput: true,
} as const;

/** A camera date string (`YYYY:MM:DD HH:MM:SS`) plus optional sub-seconds, or null when invalid. */
export function parseExifDate(value: unknown, subSec?: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!isValidDateTime(y, mo, d, h, mi, s)) return null;
  const base = `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}`;
  const digits = typeof subSec === 'string' || typeof subSec === 'number' ? String(subSec).trim() : '';
  // SubSecTime is the digits after the decimal point ("37" means .37); keep at most microseconds
  return /^\d{1,9}$/.test(digits) ? `${base}.${digits.slice(0, 6)}` : base;
}

function text(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  // eslint-disable-next-line no-control-regex
  const t = v.replace(/\u0000/g, '').trim();
  return t.length > 0 && t.length <= 200 ? t : null;
}

function num(v: unknown, min: number, max: number): number | null {
  const n = Array.isArray(v) ? Number(v[0]) : Number(v);
  return typeof v !== 'boolean' && v !== null && v !== undefined && Number.isFinite(n) && n >= min && n <= max
    ? n
    : null;
}

/** The first line of an error's message, at most 160 characters. */
function firstLine(err: unknown): string {
  const m =
    String((err as Error)?.message ?? err)
      .split('\n')[0]
      ?.trim() ?? '';
  return m.length > 160 ? `${m.slice(0, 157)}...` : m || 'unknown error';
}

/**
 * Reads the stored EXIF fields from a JPEG already in memory (never reads the file again). A damaged EXIF block is
 * missing EXIF (or the fields that could be read), not a failed photo; `exifDamage` says what was wrong, so a
 * corrupt block is not taken for one stripped on purpose.
 */
export async function readExif(buffer: Uint8Array): Promise<ExifFields> {
  let raw: Record<string, unknown> | undefined;
  let damage: string | null = null;
  try {
    raw = (await exifr.parse(Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength), OPTIONS)) as
      Record<string, unknown> | undefined;
  } catch (err) {
    raw = undefined;
    damage = firstLine(err);
  }
  // exifr reports a block it could not walk in `errors` rather than throwing
  const errors = raw && Array.isArray(raw.errors) ? (raw.errors as unknown[]) : [];
  if (errors.length) damage = errors.map(firstLine).join('; ');
  // an EXIF block that holds no tags (or none at all) is not damage: exifr says so when it cannot walk one
  if (!raw || Object.keys(raw).every((k) => k === 'errors')) return { ...EMPTY, exifDamage: damage };
  const capturedAt =
    parseExifDate(raw.DateTimeOriginal, raw.SubSecTimeOriginal) ??
    parseExifDate(raw.CreateDate, raw.SubSecTimeDigitized);
  const offset = text(raw.OffsetTimeOriginal);
  const out: ExifFields = {
    capturedAt,
    utcOffset: offset && /^[+-]\d{2}:\d{2}$/.test(offset) ? offset : null,
    make: text(raw.Make),
    model: text(raw.Model),
    focalLength: num(raw.FocalLength, 0.1, 5000),
    exposureTime: num(raw.ExposureTime, 1e-6, 3600),
    fNumber: num(raw.FNumber, 0.5, 128),
    iso: num(raw.ISO ?? raw.ISOSpeedRatings ?? raw.PhotographicSensitivity, 1, 10_000_000),
    orientation: num(raw.Orientation, 1, 8),
    gpsLat: num(raw.latitude, -90, 90),
    gpsLon: num(raw.longitude, -180, 180),
    hasExif: false,
    exifDamage: damage,
  };
  out.hasExif = Object.entries(out).some(([k, v]) => k !== 'hasExif' && k !== 'exifDamage' && v !== null);
  return out;
}
