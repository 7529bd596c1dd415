/**
 * The planted matching archive: on top of a generated sample (its own folder, written by `generateSample`), keeper
 * files of every kind matching must handle, each with the frame it shows and what a right link is:
 * - stripped and renamed exports (`export_0001.jpg`, no EXIF) re-encoded at q70-q95, cropped 2-15%, exposed +-1 EV,
 *   toned by a contrast curve, rotated by 0.5-2 degrees; and edits that kept their EXIF and name;
 * - beside each of them, in the corpus, a burst sibling: the same frame with a figure moved 1% of the width, shot
 *   0.3 s later (a right link is never to it);
 * - keepers whose original is missing: an edit of a frame that was never imported, whose sibling was;
 * - two walks whose keepers carry a clock set +9 h and -11 h off (EXIF and name), across midnight, some of them
 *   renamed so only the EXIF time (after the walk's offset) names their frame.
 * The truth goes to `planted.json` beside the sample's `truth.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { Rng } from '../util/rng.js';
import { canonicalName, dayFolder } from '../1-ingest/names.js';
import type { SampleResult, TruthPhoto } from './generate.js';
import { crop, exposure, fromRaw, movedFigure, rotated, sCurve, uprightRaw } from './edits.js';

export type PlantedKind =
  | 'reencode-stripped'
  | 'crop-stripped'
  | 'exposure-stripped'
  | 'contrast-stripped'
  | 'rotation-stripped'
  | 'edit-exif'
  | 'missing-original'
  | 'offset-named'
  | 'offset-renamed';

/** One planted keeper file and what matching should make of it. */
export interface PlantedKeeper {
  /** Relative to the keepers root. */
  path: string;
  kind: PlantedKind;
  /** The edit, in words (`crop 7.2%`, `q78`). */
  label: string;
  /** Its frame's path under the originals root, or null when that frame is not in the corpus. */
  original: string | null;
  /** The planted burst sibling beside its frame (a wrong link), or null. */
  sibling: string | null;
  /** The clock offset its EXIF carries (keeper minus frame, seconds), or null. */
  offsetSeconds: number | null;
}

export interface PlantOptions {
  seed?: number;
  /** Keepers per stripped edit kind and of EXIF-kept edits; default 20. */
  perKind?: number;
  /** Keepers whose original is missing; default 10. */
  missing?: number;
  /** Keepers per clock-offset walk; default 6. */
  perOffset?: number;
}

export interface PlantedArchive {
  keepers: PlantedKeeper[];
  file: string;
}

const STRIPPED = [
  'reencode-stripped',
  'crop-stripped',
  'exposure-stripped',
  'contrast-stripped',
  'rotation-stripped',
] as const;
const MAKE = 'RICOH IMAGING COMPANY, LTD.';

const parseLocal = (t: string): number => Date.parse(`${t.slice(0, 19).replace(' ', 'T')}Z`);
const fmt = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
/** A capture time (`YYYY-MM-DD HH:MM:SS.ss`) moved by `ms`, keeping two sub-second digits. */
const moved = (t: string, ms: number): string => {
  const at = parseLocal(t) + Math.round(Number(`0.${t.slice(20) || '0'}`) * 1000) + ms;
  const whole = Math.floor(at / 1000) * 1000;
  return `${fmt(whole)}.${String(Math.round((at - whole) / 10)).padStart(2, '0')}`;
};
const offsetFor = (t: string): string =>
  Number(t.slice(5, 7)) >= 4 && Number(t.slice(5, 7)) <= 10 ? '+02:00' : '+01:00';

/** Camera EXIF for a capture time with its sub-second. */
function cameraExif(img: Sharp, model: string, t: string): Sharp {
  const time = t.slice(0, 19).replace(/-/g, ':');
  return img.withExif({
    IFD0: { Make: MAKE, Model: model, Orientation: '1' },
    IFD2: {
      DateTimeOriginal: time,
      DateTimeDigitized: time,
      SubSecTimeOriginal: t.slice(20) || '00',
      OffsetTimeOriginal: offsetFor(t),
    },
  });
}

function write(root: string, rel: string, data: Buffer): void {
  const file = join(root, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, data);
}

type Raw = Awaited<ReturnType<typeof uprightRaw>>;

/** One stripped edit of a decoded frame, with its label; the parameters are drawn from `rng`. */
async function strippedEdit(r: Raw, kind: (typeof STRIPPED)[number], rng: Rng): Promise<[Buffer, string]> {
  const q = rng.int(80, 95);
  const raw = (data: Buffer): Sharp => fromRaw({ ...r, data });
  if (kind === 'reencode-stripped') {
    const quality = rng.int(70, 95);
    return [await fromRaw(r).jpeg({ quality }).toBuffer(), `re-encode q${quality}`];
  }
  if (kind === 'crop-stripped') {
    const share = rng.uniform(0.02, 0.15);
    const img = await crop(r, share, rng.uniform(-1, 1));
    return [await img.jpeg({ quality: q }).toBuffer(), `crop ${(100 * share).toFixed(1)}%`];
  }
  if (kind === 'exposure-stripped') {
    const ev = (rng.chance(0.5) ? 1 : -1) * rng.uniform(0.5, 1);
    return [await raw(exposure(r.data, ev)).jpeg({ quality: q }).toBuffer(), `exposure ${ev.toFixed(2)} EV`];
  }
  if (kind === 'contrast-stripped') {
    const s = (rng.chance(0.7) ? 1 : -1) * rng.uniform(0.3, 0.7);
    return [await raw(sCurve(r.data, s)).jpeg({ quality: q }).toBuffer(), `contrast curve ${s.toFixed(2)}`];
  }
  const deg = (rng.chance(0.5) ? 1 : -1) * rng.uniform(0.5, 2);
  return [await (await rotated(r, deg)).jpeg({ quality: q }).toBuffer(), `rotation ${deg.toFixed(2)} deg`];
}

/** Frames a planted keeper may start from: single landscape frames, no misfire, no keeper, not copied twice. */
function eligible(sample: SampleResult): TruthPhoto[] {
  const twice = new Set(sample.truth.duplicates.map((d) => d.of));
  const shifted = new Set(sample.truth.sessions.filter((s) => s.clockShiftHours !== 0).map((s) => s.id));
  return sample.truth.photos.filter(
    (p) =>
      p.burst === null &&
      p.misfire === null &&
      !p.keeper &&
      p.orientation === 1 &&
      !twice.has(p.path) &&
      !shifted.has(p.session),
  );
}

/** What the planting steps share. */
interface Planter {
  sample: SampleResult;
  rng: Rng;
  out: PlantedKeeper[];
  exports: { n: number };
  siblings: { n: number };
}

const modelOf = (w: Planter, p: TruthPhoto): string =>
  (w.sample.truth.sessions.find((s) => s.id === p.session) as SampleResult['truth']['sessions'][number]).model;
const dayOf = (p: TruthPhoto): string => p.path.split('/').slice(0, 3).join('/');

/** Writes a sibling of `p` (a figure moved 1% of the width, 0.3 s later) into the corpus; returns its path. */
async function plantSibling(w: Planter, p: TruthPhoto, pixels: Buffer): Promise<string> {
  const path = `${dayOf(p)}/R${String(1_000_000 + ++w.siblings.n).padStart(7, '0')}.JPG`;
  const data = await cameraExif(sharp(pixels), modelOf(w, p), moved(p.capturedAt, 300)).toBuffer();
  write(w.sample.originals, path, data);
  return path;
}

/** A keeper of frame `p` made by `kind`, with a sibling planted beside `p`. */
async function plantEdited(w: Planter, p: TruthPhoto, kind: PlantedKind): Promise<void> {
  const file = join(w.sample.originals, p.path);
  const meta = await sharp(file).metadata();
  const long = Math.max(meta.width ?? 0, meta.height ?? 0);
  const sibling = await plantSibling(w, p, await movedFigure(file, 0.01, long));
  const r = await uprightRaw(file, long);
  if (kind === 'edit-exif') {
    const share = w.rng.uniform(0.02, 0.08);
    const ev = w.rng.uniform(-0.4, 0.4);
    const img = await crop({ ...r, data: exposure(r.data, ev) }, share, w.rng.uniform(-1, 1));
    const data = await cameraExif(img.jpeg({ quality: w.rng.int(80, 95) }), modelOf(w, p), p.capturedAt).toBuffer();
    const path = `${dayOf(p)}/${canonicalName(p.capturedAt, w.sample.truth.config.author, p.path.split('/').pop() as string)}`;
    write(w.sample.keepers, path, data);
    const label = `crop ${(100 * share).toFixed(1)}%, exposure ${ev.toFixed(2)} EV, EXIF kept`;
    w.out.push({ path, kind, label, original: p.path, sibling, offsetSeconds: null });
    return;
  }
  const [data, label] = await strippedEdit(r, kind as (typeof STRIPPED)[number], w.rng);
  const path = `${dayOf(p)}/export_${String(++w.exports.n).padStart(4, '0')}.jpg`;
  write(w.sample.keepers, path, data);
  w.out.push({ path, kind, label, original: p.path, sibling, offsetSeconds: null });
}

/**
 * A keeper whose original is missing: the frame `p` with a figure moved (never imported), edited and stripped; `p`
 * itself is in the corpus, one frame of the same burst.
 */
async function plantMissing(w: Planter, p: TruthPhoto): Promise<void> {
  const file = join(w.sample.originals, p.path);
  const meta = await sharp(file).metadata();
  const long = Math.max(meta.width ?? 0, meta.height ?? 0);
  const lost = await uprightRaw(await movedFigure(file, 0.01, long), long);
  const [data, label] = await strippedEdit(lost, w.rng.pick(STRIPPED), w.rng);
  const path = `${dayOf(p)}/export_${String(++w.exports.n).padStart(4, '0')}.jpg`;
  write(w.sample.keepers, path, data);
  w.out.push({ path, kind: 'missing-original', label, original: null, sibling: p.path, offsetSeconds: null });
}

/**
 * A walk whose camera clock ran `hours` off: `n` of its frames, spread over the walk, kept with the wrong time in
 * EXIF; every other one keeps its canonical name (the name links it, and votes for the offset), the rest are
 * renamed and only their EXIF time names their frame. The walk is the one whose keeper times cross midnight most.
 */
async function plantOffsetWalk(w: Planter, hours: number, n: number, pool: TruthPhoto[]): Promise<void> {
  const bySession = new Map<number, TruthPhoto[]>();
  for (const p of pool) bySession.set(p.session, [...(bySession.get(p.session) ?? []), p]);
  const used = new Set(w.out.map((k) => k.original));
  const crossing = (p: TruthPhoto): boolean =>
    moved(p.capturedAt, hours * 3_600_000).slice(0, 10) !== p.capturedAt.slice(0, 10);
  const [, frames] = [...bySession.entries()]
    .filter(([, ps]) => ps.length >= n && !ps.some((p) => used.has(p.path)))
    .map(([s, ps]) => [s, ps, ps.filter(crossing).length] as const)
    .filter(([, , c]) => c > 0)
    .sort((a, b) => Math.abs(a[1].length / 2 - a[2]) - Math.abs(b[1].length / 2 - b[2]) || a[0] - b[0])[0] ?? [-1, []];
  const sorted = [...frames].sort((a, b) => a.capturedAt.localeCompare(b.capturedAt));
  const step = sorted.length / n;
  for (let i = 0; i < n && sorted.length >= n; i++) {
    const p = sorted[Math.floor(i * step)] as TruthPhoto;
    const t = moved(p.capturedAt, hours * 3_600_000);
    const img = sharp(join(w.sample.originals, p.path)).jpeg({ quality: 90 });
    const data = await cameraExif(img, modelOf(w, p), t).toBuffer();
    const name = p.path.split('/').pop() as string;
    const named = i % 2 === 0;
    const base = named
      ? canonicalName(t, w.sample.truth.config.author, name)
      : `export_${String(++w.exports.n).padStart(4, '0')}.jpg`;
    const path = `${dayFolder(t.slice(0, 10))}/${base}`;
    write(w.sample.keepers, path, data);
    const kind = named ? 'offset-named' : 'offset-renamed';
    const label = `clock ${hours > 0 ? '+' : ''}${hours} h`;
    w.out.push({ path, kind, label, original: p.path, sibling: null, offsetSeconds: hours * 3600 });
  }
}

/** Plants the matching cases into a freshly generated sample; writes and returns the truth (`planted.json`). */
export async function plantMatchingArchive(sample: SampleResult, options: PlantOptions = {}): Promise<PlantedArchive> {
  const rng = new Rng(options.seed ?? 5).fork('planted');
  const w: Planter = { sample, rng, out: [], exports: { n: 0 }, siblings: { n: 0 } };
  const perKind = options.perKind ?? 20;
  const pool = eligible(sample);
  // the offset walks first: they need whole walks of untouched frames
  await plantOffsetWalk(w, 9, options.perOffset ?? 6, pool);
  await plantOffsetWalk(w, -11, options.perOffset ?? 6, pool);
  const used = new Set(w.out.map((k) => k.original));
  const usedSessions = new Set(pool.filter((p) => used.has(p.path)).map((p) => p.session));
  const free = rng.shuffle(pool.filter((p) => !usedSessions.has(p.session)));
  const kinds: PlantedKind[] = [...STRIPPED, 'edit-exif' as const].flatMap((k) => Array<PlantedKind>(perKind).fill(k));
  for (const [i, kind] of kinds.entries()) {
    const p = free[i];
    if (p) await plantEdited(w, p, kind);
  }
  for (const p of free.slice(kinds.length, kinds.length + (options.missing ?? 10))) await plantMissing(w, p);
  const file = join(sample.out, 'planted.json');
  writeFileSync(file, JSON.stringify(w.out, null, 1));
  return { keepers: w.out, file };
}
