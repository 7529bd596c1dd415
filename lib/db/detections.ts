/**
 * The detection stage's tables: `detections` (one row a person or face found, boxes as fractions of the frame) and
 * `detections_examined` (one row a photo and model looked at, found or not), so a re-run resumes and a photo
 * without people is told from one not yet examined.
 */
import type { Db, SqlValue } from './duckdb.js';
import type { OverlayBox } from '../util/html.js';
import { tableExists } from './table.js';

/** The image sets the stage runs over, and the table and id column of each. */
export const DETECT_SETS = {
  photos: { table: 'photos', id: 'photo_id' },
  keepers: { table: 'keeper_files', id: 'keeper_id' },
  inbox: { table: 'inbox_photos', id: 'inbox_id' },
} as const;
export type DetectSet = keyof typeof DETECT_SETS;

const DDL = `
CREATE TABLE IF NOT EXISTS detections (
  "set" VARCHAR NOT NULL,           -- photos | keepers | inbox
  photo_id BIGINT NOT NULL,         -- photo_id, keeper_id or inbox_id within the set
  model_id VARCHAR NOT NULL,        -- e.g. centernet@human-models-3.0.4
  kind VARCHAR NOT NULL,            -- person | face
  score DOUBLE NOT NULL,
  x DOUBLE NOT NULL,                -- box left, top, width, height as fractions of the frame
  y DOUBLE NOT NULL,
  w DOUBLE NOT NULL,
  h DOUBLE NOT NULL,
  luma DOUBLE,                      -- mean luminance (0..1) inside the box
  shadow DOUBLE,                    -- a person's cast shadow at the feet, over the box height (0 none; NULL unmeasured)
  keypoints DOUBLE[],               -- a pose: 17 COCO keypoints as (x, y, score), fractions of the frame
  preview_size INTEGER NOT NULL     -- long side in pixels of the image the model saw
);
CREATE TABLE IF NOT EXISTS detections_examined (
  "set" VARCHAR NOT NULL,
  photo_id BIGINT NOT NULL,
  model_id VARCHAR NOT NULL,
  preview_size INTEGER,
  found INTEGER NOT NULL,           -- rows written to detections (0: examined, nothing found)
  frame_luma DOUBLE,                -- mean luminance (0..1) of the whole frame
  error VARCHAR,                    -- why the photo could not be examined (tried again on the next run)
  PRIMARY KEY ("set", photo_id, model_id)
);
`;

/** Creates the two tables when missing; a table from before the cast shadow gets its column (NULL: unmeasured). */
export async function ensureDetectionSchema(db: Db): Promise<void> {
  await db.run(DDL);
  await db.run('ALTER TABLE detections ADD COLUMN IF NOT EXISTS shadow DOUBLE');
}

/** One stored detection. */
export interface DetectionRow extends OverlayBox {
  set: DetectSet;
  photo_id: number;
  model_id: string;
  luma: number | null;
  /** A person's cast shadow at the feet over the box height (see `feetShadow`); null for a face or unmeasured. */
  shadow: number | null;
  keypoints: number[] | null;
  preview_size: number;
}

/** What one model made of one photo. */
export interface Examined {
  set: DetectSet;
  photoId: number;
  modelId: string;
  previewSize: number | null;
  frameLuma: number | null;
  error: string | null;
  found: Array<Omit<DetectionRow, 'set' | 'photo_id' | 'model_id' | 'preview_size'>>;
}

const COLS = [
  '"set"',
  'photo_id',
  'model_id',
  'kind',
  'score',
  'x',
  'y',
  'w',
  'h',
  'luma',
  'shadow',
  'keypoints',
  'preview_size',
];
const round = (v: number): number => Math.round(v * 1e5) / 1e5;

/**
 * Writes a batch of examined photos in one transaction: their earlier rows for the same model go, the new
 * detections and ledger rows land, so a killed run leaves each photo either done or not started.
 */
export async function writeExamined(db: Db, batch: readonly Examined[]): Promise<void> {
  if (!batch.length) return;
  await db.transaction(async () => {
    for (const e of batch) {
      const key: SqlValue[] = [e.set, e.photoId, e.modelId];
      await db.run('DELETE FROM detections WHERE "set" = ? AND photo_id = ? AND model_id = ?', key);
      await db.run('DELETE FROM detections_examined WHERE "set" = ? AND photo_id = ? AND model_id = ?', key);
    }
    const rows = batch.flatMap((e) =>
      e.found.map(
        (f) =>
          [
            e.set,
            e.photoId,
            e.modelId,
            f.kind,
            round(f.score),
            round(f.x),
            round(f.y),
            round(f.w),
            round(f.h),
            f.luma === null ? null : round(f.luma),
            f.shadow === null ? null : round(f.shadow),
            f.keypoints ? JSON.stringify(f.keypoints.map(round)) : null,
            e.previewSize,
          ] as SqlValue[],
      ),
    );
    const tuple = `(${COLS.map((c) => (c === 'keypoints' ? 'CAST(? AS DOUBLE[])' : '?')).join(', ')})`;
    for (let i = 0; i < rows.length; i += 150) {
      const part = rows.slice(i, i + 150);
      await db.run(
        `INSERT INTO detections (${COLS.join(', ')}) VALUES ${part.map(() => tuple).join(', ')}`,
        part.flat(),
      );
    }
    await db.insert(
      'detections_examined',
      ['"set"', 'photo_id', 'model_id', 'preview_size', 'found', 'frame_luma', 'error'],
      batch.map((e) => [
        e.set,
        e.photoId,
        e.modelId,
        e.previewSize,
        e.found.length,
        e.frameLuma === null ? null : round(e.frameLuma),
        e.error,
      ]),
    );
  });
}

/** The ids of a set that a model has examined without error (the ones a resumed run skips). */
export async function examinedIds(db: Db, set: DetectSet, modelId: string): Promise<Set<number>> {
  const rows = await db.all<{ id: number }>(
    `SELECT photo_id AS id FROM detections_examined WHERE "set" = ? AND model_id = ? AND error IS NULL`,
    [set, modelId],
  );
  return new Set(rows.map((r) => Number(r.id)));
}

/** The stored detections of a set (all models unless one is named), in photo order. */
export async function readDetections(db: Db, set: DetectSet, modelIds?: readonly string[]): Promise<DetectionRow[]> {
  const filter = modelIds?.length ? ` AND model_id IN (${modelIds.map(() => '?').join(', ')})` : '';
  const rows = await db.all<DetectionRow & { keypoints: unknown }>(
    `SELECT "set", photo_id, model_id, kind, score, x, y, w, h, luma, shadow,
    keypoints, preview_size FROM detections WHERE "set" = ?${filter} ORDER BY photo_id, model_id, score DESC`,
    [set, ...(modelIds ?? [])],
  );
  return rows.map((r) => ({
    ...r,
    photo_id: Number(r.photo_id),
    keypoints: Array.isArray(r.keypoints) ? (r.keypoints as number[]).map(Number) : null,
  }));
}

/** The examined ledger of a set: photo id to frame luminance, per model. */
export async function readExamined(
  db: Db,
  set: DetectSet,
): Promise<
  Array<{ photo_id: number; model_id: string; found: number; frame_luma: number | null; preview_size: number | null }>
> {
  const rows = await db.all<{
    photo_id: number;
    model_id: string;
    found: number;
    frame_luma: number | null;
    preview_size: number | null;
  }>(
    `SELECT photo_id, model_id, found, frame_luma, preview_size FROM detections_examined
      WHERE "set" = ? AND error IS NULL ORDER BY photo_id`,
    [set],
  );
  return rows.map((r) => ({ ...r, photo_id: Number(r.photo_id), found: Number(r.found) }));
}

/** Photos of a set that some model has examined without error (0 when the detection tables do not exist yet). */
export async function examinedCount(db: Db, set: DetectSet, modelPrefixes?: readonly string[]): Promise<number> {
  if (!(await tableExists(db, 'detections_examined'))) return 0;
  const like = modelPrefixes?.length ? ` AND (${modelPrefixes.map(() => 'model_id LIKE ?').join(' OR ')})` : '';
  return Number(
    await db.value(
      `SELECT count(DISTINCT photo_id) FROM detections_examined WHERE "set" = ? AND error IS NULL${like}`,
      [set, ...(modelPrefixes ?? []).map((p) => `${p}@%`)],
    ),
  );
}

/** The model ids that have examined photos of a set (none when the detection tables do not exist yet). */
export async function examinedModels(db: Db, set: DetectSet): Promise<string[]> {
  if (!(await examinedCount(db, set))) return [];
  const rows = await db.all<{ m: string }>(
    `SELECT DISTINCT model_id AS m FROM detections_examined WHERE "set" = ? AND error IS NULL ORDER BY 1`,
    [set],
  );
  return rows.map((r) => r.m);
}
