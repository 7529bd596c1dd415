/**
 * The `people` feature set: what the detectors found in a photo, as numbers a ranker can weigh. Built from the
 * tables `detections` and `detections_examined` only; a photo the person model has not examined gets NaN in every
 * column (imputed at standardisation like any missing value), a photo examined with nobody in it gets the values
 * of an empty frame.
 */
import type { Db } from '../db/duckdb.js';
import type { OverlayBox } from '../util/html.js';
import {
  DETECT_SETS,
  type DetectionRow,
  type DetectSet,
  examinedCount,
  readDetections,
  readExamined,
} from '../db/detections.js';

/** The columns, in order. Heights, widths and distances are fractions of the frame. */
export const PEOPLE_NAMES = [
  'people_count', // persons found at the score or above
  'people_small', // of them, shorter than 0.15 of the frame (far)
  'people_medium', // 0.15 to 0.4
  'people_large', // 0.4 and taller (near)
  'people_max_height', // the largest person's height (0 for none)
  'people_thirds_x', // the largest person's centre to the nearer vertical thirds line (1/3 for none)
  'people_thirds_y', // the largest person's head (top tenth of the box) to the nearer horizontal thirds line
  'people_layers', // size classes present (0..3): people at several depths
  'people_depth_ratio', // log2 of the largest over the smallest person's height (0 for fewer than two)
  'people_area', // the persons' boxes' area, summed (overlaps counted twice)
  'people_light', // luminance on the largest person less the frame's (0 for none): lit figures are positive
  'people_light_max', // the highest such difference over all persons
  'people_stride', // the widest ankle spread over leg length among posed persons (0 without a pose model)
  'face_count', // faces found at the face score or above
  'face_max_height', // the largest face's height
  // composition as a street photographer reads it: a subject or a pair, placed, at a size one can read
  'people_none', // 1 for a frame without anybody in it
  'people_few', // 1 for one or two persons: a subject, or a pair
  'people_thirds_near', // persons near a vertical thirds line, each counted by nearness (1 on the line, 0 a tenth off)
  'people_readable', // persons at a readable size (a fifth to half of the frame tall, soft edges)
  'people_few_thirds', // people_thirds_near in a frame of one or two persons (0 otherwise)
  'people_few_readable', // people_readable in a frame of one or two persons (0 otherwise)
  'people_crowd', // a crowd: 0 up to three persons, rising to 1 at six and more
  'people_shadow', // the longest cast shadow at a person's feet over his height (0: everyone in shade; see feetShadow)
] as const;
export type PeopleName = (typeof PEOPLE_NAMES)[number];

export interface PeopleOptions {
  /** The model whose person boxes count; default the first of `PERSON_MODEL_ORDER` that examined any photo. */
  personModel?: string;
  /**
   * The person model (`centernet`, `nanodet`, ...) whose fullest run counts, whichever others examined more: the one
   * a saved ranker's people columns came from. No run of it: every person column unknown.
   */
  personFamily?: string;
  /**
   * Persons below this score are ignored. 0.25: of the sample's figures taller than 0.1 of the frame centernet finds
   * 81.3% at 0.25 against 77.3% at 0.3, with nothing found on the empty frames at either (bench/people-sample.ts).
   */
  minScore?: number;
  /** Faces below this score are ignored. */
  minFaceScore?: number;
}

/** Person models by preference when none is named (the detection stage's default first). */
export const PERSON_MODEL_ORDER = ['centernet', 'movenet-multipose', 'nanodet'];

const DEFAULT_SCORE = 0.25;
const FACE_COLUMNS = [PEOPLE_NAMES.indexOf('face_count'), PEOPLE_NAMES.indexOf('face_max_height')];
const DEFAULT_FACE_SCORE = 0.5;

type Det = Pick<DetectionRow, 'score' | 'x' | 'y' | 'w' | 'h' | 'luma' | 'keypoints'> & { shadow?: number | null };

const thirds = (v: number): number => Math.min(Math.abs(v - 1 / 3), Math.abs(v - 2 / 3));

/** Nearness of a centre to the nearer vertical thirds line: 1 on it, falling linearly to 0 a tenth of the frame off. */
export const thirdsNearness = (centreX: number): number => Math.max(0, 1 - thirds(centreX) / 0.1);

/**
 * How readable a person of this height (fraction of the frame) is as a subject: 0 for a speck under a tenth of the
 * frame, 1 from a fifth to half of it, falling to 0 again at two thirds, where the frame crops the body.
 */
export function readableSize(h: number): number {
  if (h <= 0.1 || h >= 2 / 3) return 0;
  if (h < 0.2) return (h - 0.1) / 0.1;
  if (h <= 0.5) return 1;
  return (2 / 3 - h) / (2 / 3 - 0.5);
}

/** The composition columns (people_none .. people_crowd) of a frame's persons. */
function composition(persons: readonly Det[]): number[] {
  const n = persons.length;
  const few = n >= 1 && n <= 2 ? 1 : 0;
  const near = persons.reduce((s, p) => s + thirdsNearness(p.x + p.w / 2), 0);
  const readable = persons.reduce((s, p) => s + readableSize(p.h), 0);
  return [n === 0 ? 1 : 0, few, near, readable, few * near, few * readable, Math.min(1, Math.max(0, (n - 3) / 3))];
}

/** Widest ankle spread over hip-to-ankle length among persons whose hips and ankles the pose model is sure of. */
function stride(persons: readonly Det[]): number {
  let best = 0;
  for (const p of persons) {
    const k = p.keypoints;
    if (!k || k.length < 51) continue;
    const at = (i: number): [number, number, number] => [
      k[3 * i] as number,
      k[3 * i + 1] as number,
      k[3 * i + 2] as number,
    ];
    const [lh, rh, la, ra] = [at(11), at(12), at(15), at(16)];
    if (Math.min(lh[2], rh[2], la[2], ra[2]) < 0.3) continue;
    const leg = (la[1] + ra[1] - (lh[1] + rh[1])) / 2;
    if (leg > 0) best = Math.max(best, Math.abs(la[0] - ra[0]) / leg);
  }
  return best;
}

/** One photo's row (see PEOPLE_NAMES) from its persons and faces above the scores, and its frame's luminance. */
export function peopleRow(persons: readonly Det[], faces: readonly Det[], frameLuma: number | null): number[] {
  const heights = persons.map((p) => p.h);
  const largest = persons.reduce<Det | null>((a, p) => (a === null || p.h > a.h ? p : a), null);
  const small = heights.filter((h) => h < 0.15).length;
  const large = heights.filter((h) => h >= 0.4).length;
  const medium = heights.length - small - large;
  const lightOf = (p: Det): number => (p.luma !== null && frameLuma !== null ? p.luma - frameLuma : 0);
  return [
    persons.length,
    small,
    medium,
    large,
    largest?.h ?? 0,
    largest ? thirds(largest.x + largest.w / 2) : 1 / 3,
    largest ? thirds(largest.y + largest.h * 0.05) : 1 / 3,
    [small, medium, large].filter((n) => n > 0).length,
    persons.length >= 2 ? Math.log2(Math.max(...heights) / Math.max(1e-3, Math.min(...heights))) : 0,
    persons.reduce((s, p) => s + p.w * p.h, 0),
    largest ? lightOf(largest) : 0,
    persons.length ? Math.max(...persons.map(lightOf)) : 0,
    stride(persons),
    faces.length,
    faces.reduce((m, f) => Math.max(m, f.h), 0),
    ...composition(persons),
    // unknown when a person's box was found before the shadow was measured (`flux detect` measures it)
    persons.some((p) => p.shadow == null) ? NaN : persons.reduce((m, p) => Math.max(m, p.shadow as number), 0),
  ];
}

/** The people rows of a set. */
export interface PeopleRows {
  ids: number[];
  names: string[];
  /** Row-major, `names.length` wide. */
  x: Float32Array;
  /** The models the rows come from (recorded with a ranker trained on them). */
  personModel: string | null;
  faceModel: string | null;
  /** Rows of photos the person model has not examined (all NaN). */
  notExamined: number;
}

/** The detector a run id names (`centernet@…` -> `centernet`). */
export const runFamily = (run: string): string => run.split('@')[0] as string;

/**
 * Of the runs of a detector (`prefix@…` ids: package version, runtime), the one that examined the most photos, ties
 * to the later id; so a corpus examined on one runtime and partly again on another reads one run, the fuller one.
 */
export function fullestRun(ledger: ReadonlyArray<{ model_id: string }>, prefix: string): string | undefined {
  const counts = new Map<string, number>();
  for (const l of ledger)
    if (l.model_id.startsWith(`${prefix}@`)) counts.set(l.model_id, (counts.get(l.model_id) ?? 0) + 1);
  let best: string | undefined;
  for (const [id, n] of counts) {
    const b = best === undefined ? -1 : (counts.get(best) as number);
    if (n > b || (n === b && id > (best as string))) best = id;
  }
  return best;
}

/** The runs the people columns and boxes read: persons (named, or by `PERSON_MODEL_ORDER`), faces and poses. */
function chosenRuns(
  ledger: ReadonlyArray<{ model_id: string }>,
  options: PeopleOptions,
): { personModel: string | null; faceModel: string | null; poseModel: string | null } {
  const personModel =
    options.personModel ??
    (options.personFamily !== undefined
      ? fullestRun(ledger, options.personFamily)
      : PERSON_MODEL_ORDER.map((m) => fullestRun(ledger, m)).find((m) => m !== undefined)) ??
    null;
  const faceModel = fullestRun(ledger, 'blazeface') ?? null;
  const poseModel = fullestRun(ledger, 'movenet-multipose') ?? null;
  return { personModel, faceModel, poseModel };
}

/** The `people` feature set of every photo of a set, in id order. */
export async function peopleFeatures(db: Db, set: DetectSet, options: PeopleOptions = {}): Promise<PeopleRows> {
  const { table, id } = DETECT_SETS[set];
  const ids = (await db.all<{ id: number }>(`SELECT ${id} AS id FROM ${table} ORDER BY 1`)).map((r) => Number(r.id));
  // no detection run yet (the tables may not exist): every row unknown
  const ledger = (await examinedCount(db, set)) > 0 ? await readExamined(db, set) : [];
  const { personModel, faceModel, poseModel } = chosenRuns(ledger, options);
  const seen = new Map(ledger.filter((l) => l.model_id === personModel).map((l) => [l.photo_id, l.frame_luma]));
  const faceSeen = new Set(ledger.filter((l) => l.model_id === faceModel).map((l) => l.photo_id));
  // poses come from the pose model when it ran, whichever model gives the boxes
  const models = [personModel, faceModel, poseModel].filter((m): m is string => m !== null);
  const rows = models.length ? await readDetections(db, set, models) : [];
  const minScore = options.minScore ?? DEFAULT_SCORE;
  const minFace = options.minFaceScore ?? DEFAULT_FACE_SCORE;
  const byPhoto = new Map<number, { persons: Det[]; faces: Det[]; poses: Det[] }>();
  for (const r of rows) {
    const entry = byPhoto.get(r.photo_id) ?? { persons: [], faces: [], poses: [] };
    byPhoto.set(r.photo_id, entry);
    if (r.model_id === personModel && r.kind === 'person' && r.score >= minScore) entry.persons.push(r);
    if (r.model_id === faceModel && r.kind === 'face' && r.score >= minFace) entry.faces.push(r);
    if (r.model_id === poseModel && r.model_id !== personModel && r.keypoints && r.score >= minScore)
      entry.poses.push(r);
  }
  const dim = PEOPLE_NAMES.length;
  const x = new Float32Array(ids.length * dim).fill(NaN);
  let notExamined = 0;
  ids.forEach((pid, i) => {
    if (!seen.has(pid)) {
      notExamined++;
      return;
    }
    const found = byPhoto.get(pid) ?? { persons: [], faces: [], poses: [] };
    const row = peopleRow(found.persons, found.faces, seen.get(pid) ?? null);
    if (found.poses.length) row[PEOPLE_NAMES.indexOf('people_stride')] = stride(found.poses);
    // faces from a photo the face model has not examined are unknown, not zero
    if (!faceSeen.has(pid)) for (const c of FACE_COLUMNS) row[c] = NaN;
    x.set(row, i * dim);
  });
  return { ids, names: [...PEOPLE_NAMES], x, personModel, faceModel, notExamined };
}

/** A box to draw over a preview: fractions of the frame (the overlay's own shape). */
export type PeopleBox = OverlayBox;

/**
 * The boxes the people columns count, by photo id: the persons of the person model and the faces of the face model
 * at the same scores as `peopleFeatures` (only for `ids` when given). Empty when nothing has been detected.
 */
export async function peopleBoxes(
  db: Db,
  set: DetectSet,
  options: PeopleOptions & { ids?: readonly number[] } = {},
): Promise<Map<number, PeopleBox[]>> {
  const out = new Map<number, PeopleBox[]>();
  if (!(await examinedCount(db, set))) return out;
  const ledger = await readExamined(db, set);
  const { personModel, faceModel } = chosenRuns(ledger, options);
  const models = [personModel, faceModel].filter((m): m is string => m !== null);
  if (!models.length) return out;
  const wanted = options.ids ? new Set(options.ids) : null;
  const minScore = options.minScore ?? DEFAULT_SCORE;
  const minFace = options.minFaceScore ?? DEFAULT_FACE_SCORE;
  for (const r of await readDetections(db, set, models)) {
    if (wanted && !wanted.has(r.photo_id)) continue;
    const person = r.model_id === personModel && r.kind === 'person' && r.score >= minScore;
    const face = r.model_id === faceModel && r.kind === 'face' && r.score >= minFace;
    if (!person && !face) continue;
    const list = out.get(r.photo_id) ?? [];
    list.push({ kind: r.kind, score: r.score, x: r.x, y: r.y, w: r.w, h: r.h });
    out.set(r.photo_id, list);
  }
  // persons first, then faces, each by score
  for (const list of out.values()) list.sort((a, b) => a.kind.localeCompare(b.kind) * -1 || b.score - a.score);
  return out;
}
