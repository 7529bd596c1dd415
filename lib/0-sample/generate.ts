/**
 * The built-in sample archive: a deterministic, rendered stand-in for a Ricoh street photographer's archive, with
 * every hard case the workbench must handle, and a ground-truth file that says what is what.
 *
 * Planning (names, times, scenes, which frames are keepers and how each keeper file was made) happens first, from
 * the seed alone; rendering and writing follow, so the output is identical for a seed whatever the timing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { checkInt, checkNumber, checkString, FluxError } from '../util/check.js';
import { makeDir, sha256, writeFileAtomic } from '../util/fsutil.js';
import { throttle, type OnProgress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { canonicalName, dayFolder } from '../1-ingest/names.js';
import {
  blurSigma,
  burstSibling,
  misfireParams,
  renderScene,
  sampleSceneParams,
  sampleSessionStyle,
  tasteScore,
  type Misfire,
  type SceneParams,
  type SessionStyle,
} from './render.js';

export const GENERATOR_VERSION = 2;

/** Options of `generateSample`. */
export interface SampleOptions {
  out: string;
  seed?: number;
  /** Walks (shooting days) in the corpus; default 24. */
  sessions?: number;
  /** Mean frames per walk; default 60. */
  frames?: number;
  width?: number;
  height?: number;
  quality?: number;
  /** Share of corpus frames the photographer kept; default 0.04. */
  keeperRate?: number;
  author?: string;
  /**
   * True keep probabilities instead of the deterministic choice (off by default; the default sample never has it).
   */
  planted?: PlantedOptions;
  onProgress?: OnProgress;
}

/**
 * A planted archive: every frame gets a true keep probability p = sigmoid(scale * taste + bias), the bias solved so
 * the expected share of kept corpus frames is `rate`; keepers are drawn Bernoulli(p) from a seeded stream, so a
 * model's scores can be judged against the probabilities themselves (truth.json records p for every original and
 * every inbox frame).
 */
export interface PlantedOptions {
  /** Slope of the log-odds on the hidden taste (about N(0, 1) over frames). */
  scale: number;
  /** Expected keeper share of the corpus frames; default 0.0375. */
  rate?: number;
  /** Walks in the inbox (each about half a corpus walk); default 1. */
  inboxWalks?: number;
}

/** The planted setting as recorded: every field filled. */
export type PlantedConfig = Required<PlantedOptions>;

/** How a keeper file came from its original. */
export type KeeperKind =
  | 'copy' // identical bytes
  | 'reencode' // EXIF kept, bytes differ
  | 'edit' // crop <= 10% and/or exposure +-0.3 EV, EXIF kept
  | 'edit-stripped' // the same edit, EXIF stripped
  | 'stripped-renamed' // EXIF stripped, renamed without the camera name
  | 'shifted' // in the session whose keeper clock is off by whole hours (EXIF and name)
  | 'missing-original' // the original is not in the corpus; a burst sibling is
  | 'orphan' // no original at all
  | 'keeper-copy' // a second identical copy of another keeper file
  | 'bad'; // a damaged keeper file that cannot be read

export interface TruthKeeper {
  path: string;
  kind: KeeperKind;
  /** The true original's path under ORIGINALS, or null when there is none in the corpus. */
  original: string | null;
  /** SHA-256 of the true original (also for a missing original), or null. */
  originalSha256: string | null;
  session: number | null;
}

export interface TruthPhoto {
  path: string;
  /** The true keep probability (planted archives only). */
  p?: number;
  sha256: string;
  session: number;
  burst: number | null;
  capturedAt: string;
  taste: number;
  keeper: boolean;
  misfire: Misfire | null;
  orientation: number;
}

/** The resolved configuration: every setting filled, `planted` only when asked for. */
export type SampleConfig = Required<Omit<SampleOptions, 'out' | 'onProgress' | 'planted'>> & {
  planted?: PlantedConfig;
};

export interface SampleTruth {
  generator: number;
  config: SampleConfig;
  /** The solved bias of a planted archive and the expected keepers it gives (planted archives only). */
  planted?: PlantedConfig & { bias: number; expectedKeepers: number };
  counts: Record<string, number>;
  sessions: Array<{
    id: number;
    date: string;
    model: string;
    start: string;
    frames: number;
    richness: number;
    clockShiftHours: number;
  }>;
  photos: TruthPhoto[];
  /** Double-imported corpus copies and the path they duplicate. */
  duplicates: Array<{ path: string; of: string }>;
  keepers: TruthKeeper[];
  /** Files that cannot be read as photos, by root. */
  bad: Array<{ root: 'ORIGINALS' | 'KEEPERS'; path: string; kind: 'zero-byte' | 'truncated' | 'not-jpeg' }>;
  sidecars: string[];
  /** Inbox frames; `p` is the true keep probability (planted archives only). */
  inbox: Array<{ path: string; taste: number; keeperLike: boolean; p?: number }>;
  /** Ricoh names that occur in more than one corpus folder. */
  recurringNames: number;
}

const BODIES = [
  { model: 'RICOH GR III', focal: 18.3, software: 'GR III Ver 2.10' },
  { model: 'RICOH GR IIIx', focal: 26.1, software: 'GR IIIx Ver 1.50' },
] as const;
const MAKE = 'RICOH IMAGING COMPANY, LTD.';

/** One planned frame of the sample: its scene, its hidden taste and whether it is kept. */
export interface Frame {
  session: number;
  body: 0 | 1;
  name: string;
  folder: string;
  /** Camera-local `YYYY-MM-DD HH:MM:SS`. */
  time: string;
  subSec: string;
  offset: string;
  params: SceneParams;
  taste: number;
  latent: number;
  misfire: Misfire | null;
  portrait: boolean;
  burst: number | null;
  exposure: string;
  fNumber: number;
  iso: number;
  /** Written to the corpus (false for a keeper whose original is missing). */
  inCorpus: boolean;
  keeper: boolean;
  /** The true keep probability (planted archives only). */
  p?: number;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const fmt = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const parseLocal = (t: string): number => Date.parse(`${t.replace(' ', 'T')}Z`);
const ricoh = (counter: number): string => `R${pad(counter, 7)}.JPG`;

function exifOf(f: Frame, time = f.time): Record<string, Record<string, string>> {
  const body = BODIES[f.body];
  return {
    IFD0: { Make: MAKE, Model: body.model, Software: body.software, Orientation: f.portrait ? '6' : '1' },
    IFD2: {
      DateTimeOriginal: time.replace(/-/g, ':'),
      DateTimeDigitized: time.replace(/-/g, ':'),
      SubSecTimeOriginal: f.subSec,
      OffsetTimeOriginal: f.offset,
      ExposureTime: f.exposure,
      FNumber: `${Math.round(f.fNumber * 10)}/10`,
      ISOSpeedRatings: String(f.iso),
      FocalLength: `${Math.round(body.focal * 10)}/10`,
    },
  };
}

/** Attaches a frame's camera EXIF; the orientation tag goes through withMetadata, which is what sharp honours. */
function withCameraExif(img: Sharp, f: Frame, time = f.time): Sharp {
  return img.withExif(exifOf(f, time)).withMetadata({ orientation: f.portrait ? 6 : 1 });
}

/** Europe-like daylight saving: +02:00 from April to October. */
const offsetFor = (date: string): string =>
  Number(date.slice(5, 7)) >= 4 && Number(date.slice(5, 7)) <= 10 ? '+02:00' : '+01:00';

function cameraSettings(rng: Rng, p: SceneParams): { exposure: string; fNumber: number; iso: number } {
  const night = p.timeOfDay < 6.5 || p.timeOfDay > 20.5;
  const iso = night ? rng.pick([1600, 3200, 6400]) : rng.pick([100, 200, 400, 800]);
  const fNumber = rng.pick([2.8, 4, 5.6, 8, 11]);
  const denom = night ? rng.pick([15, 30, 60]) : rng.pick([125, 250, 500, 1000, 2000]);
  return { exposure: `1/${denom}`, fNumber, iso };
}

/** The whole sample before any file is written. */
export interface Plan {
  sessions: Array<{ id: number; date: string; body: 0 | 1; style: SessionStyle; frames: Frame[]; shiftHours: number }>;
  frames: Frame[];
  inbox: Frame[];
  /** A planted archive's solved bias and expected keepers. */
  planted?: { bias: number; expectedKeepers: number };
}

/** Keepers: the best frames by the latent taste, at most one per burst. */
function markKeepers(frames: Frame[], keeperRate: number): void {
  const target = Math.max(8, Math.round(frames.length * keeperRate));
  const ranked = frames.filter((f) => f.misfire === null).sort((a, b) => b.latent - a.latent);
  const usedBursts = new Set<number>();
  let kept = 0;
  for (const f of ranked) {
    if (kept >= target) break;
    if (f.burst !== null && usedBursts.has(f.burst)) continue;
    if (f.burst !== null) usedBursts.add(f.burst);
    f.keeper = true;
    kept++;
  }
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * The bias that makes the mean of sigmoid(scale * taste + bias) over `tastes` equal `rate` (bisection: the mean
 * rises with the bias).
 */
export function plantedBias(tastes: readonly number[], scale: number, rate: number): number {
  const mean = (b: number): number => tastes.reduce((a, t) => a + sigmoid(scale * t + b), 0) / tastes.length;
  let lo = -60;
  let hi = 60;
  for (let it = 0; it < 200 && hi - lo > 1e-12; it++) {
    const mid = (lo + hi) / 2;
    if (mean(mid) < rate) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Keepers of a planted archive: every frame's true keep probability from its hidden taste, the bias solved over the
 * corpus frames for the expected rate, then one seeded Bernoulli draw per frame (bursts and misfires included: the
 * probability alone decides). The inbox frames get their probability from the same curve.
 */
function drawPlantedKeepers(
  rng: Rng,
  frames: Frame[],
  inbox: Frame[],
  planted: PlantedConfig,
): { bias: number; expectedKeepers: number } {
  const bias = plantedBias(
    frames.map((f) => f.taste),
    planted.scale,
    planted.rate,
  );
  let expectedKeepers = 0;
  for (const f of frames) {
    f.p = sigmoid(planted.scale * f.taste + bias);
    expectedKeepers += f.p;
    f.keeper = rng.next() < f.p;
  }
  for (const f of inbox) f.p = sigmoid(planted.scale * f.taste + bias);
  return { bias, expectedKeepers };
}

/**
 * The inbox: a new walk nine days after the last one, its counter following the GR III's; a planted archive may ask
 * for more walks, a day apart, each in its own style.
 */
function planInbox(irng: Rng, cfg: SampleConfig, lastDate: string, counters: number[]): Frame[] {
  const inbox: Frame[] = [];
  for (let w = 0; w < (cfg.planted?.inboxWalks ?? 1); w++) {
    const style = sampleSessionStyle(irng);
    const idate = fmt(parseLocal(`${lastDate} 00:00:00`) + (9 + w) * 86_400_000).slice(0, 10);
    let clock = parseLocal(`${idate} ${pad(Math.floor(style.hour))}:10:00`);
    const ni = Math.max(6, Math.round(cfg.frames / 2));
    for (let i = 0; i < ni; i++) {
      clock += irng.int(10, 120) * 1000;
      const params = sampleSceneParams(irng, style, i);
      const counter = counters[0] as number;
      counters[0] = counter >= 9999 ? 1 : counter + 1;
      inbox.push({
        session: -1,
        body: 0,
        name: ricoh(counter),
        folder: '',
        time: fmt(clock),
        subSec: pad(irng.int(0, 99)),
        offset: offsetFor(idate),
        params,
        taste: tasteScore(params),
        latent: 0,
        misfire: null,
        portrait: false,
        burst: null,
        ...cameraSettings(irng, params),
        inCorpus: false,
        keeper: false,
      });
    }
  }
  return inbox;
}

/**
 * Plans the sample from its configuration: walks, frames with their scene parameters, hidden taste and keeper flags,
 * and the inbox. Deterministic; `generateSample` renders exactly this, so analyses can read the scenes behind a
 * generated archive (its `truth.json` config) without rendering anything.
 */
export function planSample(cfg: SampleConfig): Plan {
  const root = new Rng(cfg.seed);
  const rng = root.fork('plan');
  // shooting days spread over 2022-01 .. 2026-09, sorted; distinct
  const start = Date.UTC(2022, 0, 3);
  const span = Math.floor((Date.UTC(2026, 8, 30) - start) / 86_400_000);
  const days = new Set<number>();
  while (days.size < cfg.sessions) days.add(rng.int(0, span));
  const dates = [...days].sort((a, b) => a - b).map((d) => fmt(start + d * 86_400_000).slice(0, 10));
  // the GR III counter starts near the wrap, the GR IIIx low; unimported frames advance the counters between walks
  const counters = [9200 + rng.int(0, 200), 100 + rng.int(0, 300)];
  const sessions: Plan['sessions'] = [];
  const frames: Frame[] = [];
  let burstId = 0;
  const resetAt = Math.floor(cfg.sessions * 0.6);
  let firstGr3Counter: number | null = null;
  for (let s = 0; s < cfg.sessions; s++) {
    const srng = root.fork(`session:${s}`);
    const body: 0 | 1 = srng.chance(0.7) ? 0 : 1;
    if (body === 0 && firstGr3Counter === null) firstGr3Counter = counters[0] as number;
    // a serviced camera starts counting again where an earlier year did: the same names recur
    if (s === resetAt && firstGr3Counter !== null) counters[0] = firstGr3Counter;
    const style = sampleSessionStyle(srng);
    const date = dates[s] as string;
    const n = Math.max(8, Math.round(cfg.frames * srng.uniform(0.5, 1.5)));
    let clock = parseLocal(`${date} ${pad(Math.floor(style.hour))}:${pad(Math.floor((style.hour % 1) * 60))}:00`);
    const t0 = clock;
    const session = { id: s, date, body, style, frames: [] as Frame[], shiftHours: 0 };
    while (session.frames.length < n) {
      clock += srng.int(4, 150) * 1000;
      const base = sampleSceneParams(srng, style, (clock - t0) / 60_000);
      const burstLen = srng.chance(0.12) ? srng.int(2, 4) : 1;
      const burst = burstLen > 1 ? burstId++ : null;
      const portrait = srng.chance(0.05);
      const settings = cameraSettings(srng, base);
      let params = base;
      for (let b = 0; b < burstLen && session.frames.length < n; b++) {
        if (b > 0) params = burstSibling(params, srng);
        const misfire = burst === null && srng.chance(0.02) ? srng.pick(['black', 'white', 'blur'] as const) : null;
        if (misfire) params = misfireParams(misfire, base);
        const counter = counters[body] as number;
        counters[body] = counter >= 9999 ? 1 : counter + 1;
        const taste = tasteScore(params);
        const frame: Frame = {
          session: s,
          body,
          name: ricoh(counter),
          folder: dayFolder(date),
          time: fmt(clock),
          subSec: pad(burstLen > 1 ? b * 25 : srng.int(0, 99)),
          offset: offsetFor(date),
          params,
          taste,
          latent: misfire ? -Infinity : taste + 0.5 * style.richness + srng.normal(0, 0.35),
          misfire,
          portrait,
          burst,
          ...settings,
          inCorpus: true,
          keeper: false,
        };
        session.frames.push(frame);
      }
    }
    frames.push(...session.frames);
    sessions.push(session);
    // frames shot but never imported advance the counter between walks
    counters[0] = (((counters[0] as number) + rng.int(0, 400) - 1) % 9999) + 1;
    counters[1] = (((counters[1] as number) + rng.int(0, 400) - 1) % 9999) + 1;
  }
  const inbox = planInbox(root.fork('inbox'), cfg, dates[dates.length - 1] as string, counters);
  if (!cfg.planted) {
    markKeepers(frames, cfg.keeperRate);
    return { sessions, frames, inbox };
  }
  const planted = drawPlantedKeepers(root.fork('planted-keepers'), frames, inbox, cfg.planted);
  return { sessions, frames, inbox, planted };
}

/** Renders a frame to a JPEG with its camera EXIF (or none). */
async function encodeFrame(f: Frame, cfg: SampleConfig, withExif = true): Promise<Buffer> {
  const [w, h] = f.portrait ? [cfg.height, cfg.width] : [cfg.width, cfg.height];
  const rgb = renderScene(f.params, w, h);
  const raw = { width: w, height: h, channels: 3 } as const;
  let img = sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw });
  const sigma = blurSigma(f.params, w);
  if (sigma > 0) img = img.blur(sigma);
  // a portrait frame is stored sideways with Orientation 6, as the camera does
  if (f.portrait && withExif) img = img.rotate(270);
  img = img.jpeg({ quality: cfg.quality });
  return withExif ? withCameraExif(img, f).toBuffer() : img.toBuffer();
}

function writeFile(root: string, rel: string, data: Uint8Array | string, time: string, offset: string): void {
  const file = join(root, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, data);
  // the file's mtime is the moment of capture (UTC from the camera-local time and its offset)
  const sign = offset.startsWith('-') ? -1 : 1;
  const off = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6))) * 60_000;
  const when = new Date(parseLocal(time) - off);
  utimesSync(file, when, when);
}

const MARKER = '.flux-sample.json';

function prepareOut(out: string, config: SampleConfig): 'fresh' | 'done' {
  const dir = resolve(out);
  if (!existsSync(dir)) {
    makeDir('--out', dir);
  } else if (!statSync(dir).isDirectory()) {
    throw new FluxError(`--out: ${dir} is a file; name a new or empty folder for the sample`);
  } else {
    const marker = join(dir, MARKER);
    if (existsSync(marker)) {
      const prev = JSON.parse(readFileSync(marker, 'utf8')) as { config: unknown };
      if (JSON.stringify(prev.config) !== JSON.stringify(config)) {
        throw new FluxError(
          `--out: ${dir} holds a sample made with other settings (${JSON.stringify(prev.config)}); ` +
            'choose another folder or remove that one',
        );
      }
      return existsSync(join(dir, 'truth.json')) ? 'done' : 'fresh';
    }
    if (readdirSync(dir).length > 0) {
      throw new FluxError(`--out: ${dir} is not empty and is not a sample archive; choose an empty or new folder`);
    }
  }
  writeFileAtomic(join(dir, MARKER), JSON.stringify({ generator: GENERATOR_VERSION, config }, null, 1));
  return 'fresh';
}

/** Resolves the options to the full configuration recorded in the truth file. */
export function sampleConfig(options: Omit<SampleOptions, 'out' | 'onProgress'>): SampleConfig {
  return {
    seed: checkInt('--seed', options.seed ?? 7, 0, 0xffffffff),
    sessions: checkInt('--sessions', options.sessions ?? 60, 4, 5000),
    frames: checkInt('--frames', options.frames ?? 40, 8, 2000),
    width: checkInt('--width', options.width ?? 768, 64, 8000),
    height: checkInt('--height', options.height ?? 512, 64, 8000),
    quality: checkInt('--quality', options.quality ?? 88, 40, 100),
    keeperRate: Number(options.keeperRate ?? 0.04),
    author: checkString('--author', options.author ?? 'DanteSisofo'),
    ...(options.planted !== undefined ? { planted: plantedConfig(options.planted) } : {}),
  };
}

/** The planted setting checked, its defaults filled. */
function plantedConfig(o: PlantedOptions): PlantedConfig {
  if (typeof o !== 'object' || o === null) {
    throw new FluxError(`planted: expected settings such as {"scale":2}, received ${JSON.stringify(o)}`);
  }
  return {
    scale: checkNumber('planted.scale', o.scale, 0.01, 50),
    rate: checkNumber('planted.rate', o.rate ?? 0.0375, 0.001, 0.5),
    inboxWalks: checkInt('planted.inboxWalks', o.inboxWalks ?? 1, 1, 1000),
  };
}

/** Result of `generateSample`. */
export interface SampleResult {
  out: string;
  originals: string;
  keepers: string;
  inbox: string;
  truthFile: string;
  truth: SampleTruth;
  reused: boolean;
  seconds: number;
}

/** What the writing steps share: the settings, the folders, the random stream, the truth so far and the progress. */
interface Writer {
  cfg: SampleConfig;
  paths: { originals: string; keepers: string; inbox: string; truthFile: string };
  rng: Rng;
  truth: SampleTruth;
  onProgress: OnProgress;
  /** Frames rendered so far, of `total`. */
  rendered: { done: number; total: number };
}

/** How each keeper file was made: which keepers lost their original, the clock-shifted session, and the rest. */
interface KeeperPlan {
  keepers: Frame[];
  kindOf: Map<Frame, KeeperKind>;
  shiftHours: number;
}

/** Assigns how each keeper file was made (fixed quotas first so every kind occurs, then a realistic mix). */
function planKeepers(rng: Rng, frames: Frame[], sessions: Plan['sessions']): KeeperPlan {
  const keepers = frames.filter((f) => f.keeper);
  const bySession = new Map<number, Frame[]>();
  for (const k of keepers) bySession.set(k.session, [...(bySession.get(k.session) ?? []), k]);
  // the clock-shifted session: the one with the most keepers among the middle sessions
  const shifted =
    [...bySession.entries()]
      .filter(([, ks]) => ks.length >= 2)
      .sort((a, b) => b[1].length - a[1].length || a[0] - b[0])[1]?.[0] ?? ([...bySession.keys()][0] as number);
  const shiftHours = 1;
  (sessions[shifted] as Plan['sessions'][number]).shiftHours = shiftHours;
  const kindOf = new Map<Frame, KeeperKind>();
  const burstKeepers = rng.shuffle(keepers.filter((k) => k.burst !== null && k.session !== shifted));
  for (const k of burstKeepers.slice(0, 3)) {
    kindOf.set(k, 'missing-original');
    k.inCorpus = false;
  }
  const quota: KeeperKind[] = [
    'copy',
    'edit',
    'edit-stripped',
    'stripped-renamed',
    'reencode',
    'copy',
    'edit',
    'edit-stripped',
    'stripped-renamed',
    'reencode',
  ];
  const mix = ['copy', 'copy', 'copy', 'copy', 'reencode', 'edit', 'edit-stripped', 'stripped-renamed'] as const;
  const rest = rng.shuffle(keepers.filter((k) => !kindOf.has(k) && k.session !== shifted));
  rest.forEach((k, i) => kindOf.set(k, i < quota.length ? (quota[i] as KeeperKind) : rng.pick(mix)));
  for (const k of keepers) if (k.session === shifted) kindOf.set(k, 'shifted');
  return { keepers, kindOf, shiftHours };
}

const corpusPath = (f: Frame): string => `${f.folder}/${f.name}`;
const keeperDir = (time: string): string => dayFolder(time.slice(0, 10));

/**
 * Renders and writes the corpus, two encodes in flight while the next frame renders; returns each frame's SHA-256
 * and the bytes of the kept frames (their keeper files are made from them).
 */
async function writeCorpus(
  w: Writer,
  frames: Frame[],
): Promise<{ shaOf: Map<Frame, string>; bytesOf: Map<Frame, Buffer> }> {
  const shaOf = new Map<Frame, string>();
  const bytesOf = new Map<Frame, Buffer>();
  const inflight = new Set<Promise<void>>();
  const writeOne = async (f: Frame): Promise<void> => {
    const jpeg = await encodeFrame(f, w.cfg);
    shaOf.set(f, sha256(jpeg));
    if (f.keeper) bytesOf.set(f, jpeg);
    if (f.inCorpus) writeFile(w.paths.originals, corpusPath(f), jpeg, f.time, f.offset);
    w.onProgress({ stage: 'render', done: ++w.rendered.done, total: w.rendered.total });
  };
  for (const f of [...frames]) {
    const p = writeOne(f).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 2) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  for (const f of frames) {
    if (!f.inCorpus) continue;
    w.truth.photos.push({
      path: corpusPath(f),
      sha256: shaOf.get(f) as string,
      session: f.session,
      burst: f.burst,
      capturedAt: `${f.time}.${f.subSec}`,
      taste: Math.round(f.taste * 1e4) / 1e4,
      ...(f.p !== undefined ? { p: f.p } : {}),
      keeper: f.keeper,
      misfire: f.misfire,
      orientation: f.portrait ? 6 : 1,
    });
  }
  return { shaOf, bytesOf };
}

/** A crop of up to 5% a side and an exposure change of up to 0.3 EV; `stripped` loses EXIF (turned upright). */
async function editedCopy(w: Writer, f: Frame, orig: Buffer, stripped: boolean): Promise<Buffer> {
  const meta = await sharp(orig).metadata();
  const cropX = Math.round((meta.width as number) * w.rng.uniform(0, 0.05));
  const cropY = Math.round((meta.height as number) * w.rng.uniform(0, 0.05));
  const ev = w.rng.uniform(-0.3, 0.3);
  const gain = 2 ** (ev / 2.2);
  let img = sharp(orig);
  const upright = stripped && f.portrait;
  if (upright) img = img.rotate();
  const w0 = upright ? (meta.height as number) : (meta.width as number);
  const h0 = upright ? (meta.width as number) : (meta.height as number);
  img = sharp(await img.toBuffer())
    .extract({ left: cropX, top: cropY, width: w0 - 2 * cropX, height: h0 - 2 * cropY })
    .linear(gain, 0)
    .jpeg({ quality: w.cfg.quality });
  return stripped ? img.toBuffer() : withCameraExif(img, f).toBuffer();
}

/** The bytes, name and (camera-clock) time of one keeper file, made from its original the way `kind` says. */
async function keeperFile(
  w: Writer,
  f: Frame,
  kind: KeeperKind,
  orig: Buffer,
  plan: KeeperPlan,
  renamed: { n: number },
): Promise<{ data: Buffer; name: string; time: string }> {
  const { cfg, rng } = w;
  const name = canonicalName(f.time, cfg.author, f.name);
  if (kind === 'copy' || kind === 'missing-original') return { data: orig, name, time: f.time };
  if (kind === 'reencode') {
    const data = await withCameraExif(sharp(orig).jpeg({ quality: cfg.quality - 10 - rng.int(0, 8) }), f).toBuffer();
    return { data, name, time: f.time };
  }
  if (kind === 'edit' || kind === 'edit-stripped') {
    return { data: await editedCopy(w, f, orig, kind === 'edit-stripped'), name, time: f.time };
  }
  if (kind === 'stripped-renamed') {
    const data = await sharp(orig).rotate().jpeg({ quality: cfg.quality }).toBuffer();
    return { data, name: `${f.time.slice(0, 10)}_${cfg.author}_print-${pad(++renamed.n)}.jpg`, time: f.time };
  }
  // shifted: the camera clock was off by whole hours; EXIF and name both carry the wrong time
  const time = fmt(parseLocal(f.time) + plan.shiftHours * 3_600_000);
  const data = await withCameraExif(sharp(orig).jpeg({ quality: cfg.quality }), { ...f, time }).toBuffer();
  return { data, name: canonicalName(time, cfg.author, f.name), time };
}

/** Writes the keeper files, a few of them twice, and two orphans with no original anywhere. */
async function writeKeepers(
  w: Writer,
  plan: KeeperPlan,
  corpus: Awaited<ReturnType<typeof writeCorpus>>,
  frames: Frame[],
): Promise<void> {
  const { truth, rng, paths } = w;
  const renamed = { n: 0 };
  for (const f of plan.keepers) {
    const kind = plan.kindOf.get(f) as KeeperKind;
    const { data, name, time } = await keeperFile(w, f, kind, corpus.bytesOf.get(f) as Buffer, plan, renamed);
    const path = `${keeperDir(time)}/${name}`;
    const originalSha256 = corpus.shaOf.get(f) as string;
    writeFile(paths.keepers, path, data, time, f.offset);
    truth.keepers.push({ path, kind, original: f.inCorpus ? corpusPath(f) : null, originalSha256, session: f.session });
    // a few keeper files were copied twice into the keepers tree
    if (kind === 'copy' && truth.keepers.filter((k) => k.kind === 'keeper-copy').length < 2 && rng.chance(0.3)) {
      const twin = path.replace(/\.JPG$/, '-2.JPG');
      writeFile(paths.keepers, twin, data, time, f.offset);
      const original = corpusPath(f);
      truth.keepers.push({ path: twin, kind: 'keeper-copy', original, originalSha256, session: f.session });
    }
  }
  // orphans: keepers with no original anywhere in the corpus
  const orng = rng.fork('orphans');
  for (let i = 0; i < 2; i++) {
    const style = sampleSessionStyle(orng);
    const f: Frame = {
      ...(frames[0] as Frame),
      session: -1,
      params: sampleSceneParams(orng, style, 5),
      portrait: false,
      burst: null,
      time: `2021-${pad(6 + i)}-1${i} 1${i}:2${i}:0${i}`,
      name: ricoh(5000 + i * 77),
      subSec: '00',
    };
    const data = await encodeFrame(f, w.cfg);
    const path = `${keeperDir(f.time)}/${canonicalName(f.time, w.cfg.author, f.name)}`;
    writeFile(paths.keepers, path, data, f.time, '+01:00');
    truth.keepers.push({ path, kind: 'orphan', original: null, originalSha256: null, session: null });
  }
}

/** Corpus duplicates (a double import), files that are no photos or are damaged, and sidecar files. */
async function writeOddFiles(w: Writer, frames: Frame[], keepers: Frame[]): Promise<void> {
  const { truth, rng, paths } = w;
  const inCorpus = frames.filter((f) => f.inCorpus);
  const dupPick = rng.shuffle(inCorpus).slice(0, Math.max(3, Math.round(inCorpus.length * 0.01)));
  dupPick.forEach((f, i) => {
    const path = i === 0 ? `${f.folder}/import-2/${f.name}` : `${f.folder}/${f.name.replace('.JPG', '-1.JPG')}`;
    writeFile(paths.originals, path, readFileSync(join(paths.originals, corpusPath(f))), f.time, f.offset);
    truth.duplicates.push({ path, of: corpusPath(f) });
  });
  const badFolder = (inCorpus[Math.floor(inCorpus.length / 3)] as Frame).folder;
  const sample = readFileSync(join(paths.originals, corpusPath(inCorpus[0] as Frame)));
  const grey = { r: 90, g: 90, b: 90 };
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: grey } })
    .png()
    .toBuffer();
  const day = badFolder.slice(-10);
  const bads: Array<[SampleTruth['bad'][number]['root'], string, SampleTruth['bad'][number]['kind'], Buffer]> = [
    ['ORIGINALS', `${badFolder}/R0000000.JPG`, 'zero-byte', Buffer.alloc(0)],
    ['ORIGINALS', `${badFolder}/R0000001.JPG`, 'truncated', sample.subarray(0, Math.floor(sample.length * 0.4))],
    ['ORIGINALS', `${badFolder}/R0000002.JPG`, 'not-jpeg', png],
    [
      'KEEPERS',
      `${badFolder}/${canonicalName(`${day} 12:00:00`, w.cfg.author, 'R0000003.JPG')}`,
      'zero-byte',
      Buffer.alloc(0),
    ],
    [
      'KEEPERS',
      `${badFolder}/${canonicalName(`${day} 12:00:01`, w.cfg.author, 'R0000004.JPG')}`,
      'truncated',
      sample.subarray(0, Math.floor(sample.length * 0.3)),
    ],
  ];
  for (const [root, path, kind, data] of bads) {
    writeFile(root === 'ORIGINALS' ? paths.originals : paths.keepers, path, data, `${day} 12:00:00`, '+01:00');
    truth.bad.push({ root, path, kind });
    if (root === 'KEEPERS') {
      truth.keepers.push({ path, kind: 'bad', original: null, originalSha256: null, session: null });
    }
  }
  for (const f of rng.shuffle(inCorpus).slice(0, 5)) {
    const path = `${f.folder}/${f.name.replace('.JPG', '.xmp')}`;
    writeFile(paths.originals, path, `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>\n`, f.time, f.offset);
    truth.sidecars.push(`ORIGINALS/${path}`);
  }
  for (const [root, dir] of [
    ['ORIGINALS', paths.originals],
    ['KEEPERS', paths.keepers],
  ] as const) {
    const folder = (inCorpus[0] as Frame).folder;
    const path = root === 'KEEPERS' ? `${keeperDir((keepers[0] as Frame).time)}/.DS_Store` : `${folder}/.DS_Store`;
    writeFile(dir, path, Buffer.from('Bud1\0\0\0\x01'), (inCorpus[0] as Frame).time, '+01:00');
    truth.sidecars.push(`${root}/${path}`);
  }
}

/** The inbox: a new walk that is not in the archive yet. */
async function writeInbox(w: Writer, inbox: Frame[], keepers: Frame[]): Promise<void> {
  for (const f of inbox) {
    const jpeg = await encodeFrame(f, w.cfg);
    writeFile(w.paths.inbox, f.name, jpeg, f.time, f.offset);
    w.onProgress({ stage: 'render', done: ++w.rendered.done, total: w.rendered.total });
    const p = f.p !== undefined ? { p: f.p } : {};
    w.truth.inbox.push({ path: f.name, taste: Math.round(f.taste * 1e4) / 1e4, keeperLike: false, ...p });
  }
  // an inbox frame counts as keeper-like when its taste reaches the weakest kept frame's taste
  const bar = Math.min(...keepers.map((k) => k.taste));
  for (const i of w.truth.inbox) i.keeperLike = i.taste >= bar;
}

/** The summary parts of the truth: recurring names, the walks and the counts. */
function summarise(truth: SampleTruth, frames: Frame[], sessions: Plan['sessions']): void {
  const names = new Map<string, Set<string>>();
  for (const p of truth.photos) {
    const name = p.path.split('/').pop() as string;
    names.set(name, (names.get(name) ?? new Set()).add(p.path.slice(0, p.path.lastIndexOf('/'))));
  }
  truth.recurringNames = [...names.values()].filter((s) => s.size > 1).length;
  truth.sessions = sessions.map((s) => ({
    id: s.id,
    date: s.date,
    model: BODIES[s.body].model,
    start: (s.frames[0] as Frame).time,
    frames: s.frames.length,
    richness: Math.round(s.style.richness * 1e3) / 1e3,
    clockShiftHours: s.shiftHours,
  }));
  const kinds: Record<string, number> = {};
  for (const k of truth.keepers) kinds[`keepers.${k.kind}`] = (kinds[`keepers.${k.kind}`] ?? 0) + 1;
  truth.counts = {
    frames: frames.length,
    corpusPhotos: truth.photos.length,
    corpusKeepers: truth.photos.filter((p) => p.keeper).length,
    corpusDuplicates: truth.duplicates.length,
    keeperFiles: truth.keepers.length,
    keeperFilesReadable: truth.keepers.filter((k) => k.kind !== 'bad').length,
    bad: truth.bad.length,
    sidecars: truth.sidecars.length,
    inbox: truth.inbox.length,
    bursts: new Set(frames.filter((f) => f.burst !== null).map((f) => f.burst)).size,
    portrait: truth.photos.filter((p) => p.orientation === 6).length,
    misfires: truth.photos.filter((p) => p.misfire !== null).length,
    ...kinds,
  };
}

/**
 * Writes the sample archive to `out`: `ORIGINALS/`, `KEEPERS/`, `INBOX/` and `truth.json`. A folder that already
 * holds the same sample is reused as it is; a half-written one is completed.
 */
export async function generateSample(options: SampleOptions): Promise<SampleResult> {
  const t0 = performance.now();
  const cfg = sampleConfig(options);
  if (!(cfg.keeperRate > 0 && cfg.keeperRate < 0.5)) {
    throw new FluxError(`--keeper-rate: expected a number from 0 to 0.5, received ${cfg.keeperRate}`);
  }
  const out = resolve(checkString('--out', options.out));
  const paths = {
    originals: join(out, 'ORIGINALS'),
    keepers: join(out, 'KEEPERS'),
    inbox: join(out, 'INBOX'),
    truthFile: join(out, 'truth.json'),
  };
  if (prepareOut(out, cfg) === 'done') {
    const truth = JSON.parse(readFileSync(paths.truthFile, 'utf8')) as SampleTruth;
    return { out, ...paths, truth, reused: true, seconds: (performance.now() - t0) / 1000 };
  }
  const { sessions, frames, inbox, planted } = planSample(cfg);
  if (planted && !frames.some((f) => f.keeper)) {
    throw new FluxError(
      `planted: the draw kept no frame of ${frames.length} (${planted.expectedKeepers.toFixed(1)} expected); ` +
        'ask for more walks or a higher rate',
    );
  }
  const rng = new Rng(cfg.seed).fork('files');
  const plan = planKeepers(rng, frames, sessions);
  const truth: SampleTruth = {
    generator: GENERATOR_VERSION,
    config: cfg,
    ...(cfg.planted && planted ? { planted: { ...cfg.planted, ...planted } } : {}),
    counts: {},
    sessions: [],
    photos: [],
    duplicates: [],
    keepers: [],
    bad: [],
    sidecars: [],
    inbox: [],
    recurringNames: 0,
  };
  const w: Writer = {
    cfg,
    paths,
    rng,
    truth,
    onProgress: throttle(options.onProgress),
    rendered: { done: 0, total: frames.length + inbox.length },
  };
  const corpus = await writeCorpus(w, frames);
  await writeKeepers(w, plan, corpus, frames);
  await writeOddFiles(w, frames, plan.keepers);
  await writeInbox(w, inbox, plan.keepers);
  summarise(truth, frames, sessions);
  writeFileSync(paths.truthFile, JSON.stringify(truth));
  return { out, ...paths, truth, reused: false, seconds: (performance.now() - t0) / 1000 };
}
