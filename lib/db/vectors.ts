/**
 * The vector tables: the pixel descriptor of every image, the images `flux embed` could not embed, and the context
 * features of each photo (views over the corpus for the rankers). The embedding vectors themselves live in
 * Parquet parts in the workspace (lib/2-embed/store.ts), not in DuckDB.
 */
import { type Db } from './duckdb.js';
import { col, createTables, tableColumns, type TableSpec } from './table.js';

/**
 * Light and haze by where they fall in the frame: descriptor columns added after the first twelve. A database made
 * before them gets the columns (NULL), and `flux embed` fills them from the previews without running the image model
 * again.
 */
export const LATER_DESCRIPTOR_NAMES: readonly string[] = Object.freeze([
  'light_rows',
  'light_rows_low',
  'haze_top',
  'haze_middle',
  'haze_bottom',
  'local_contrast_top',
  'local_contrast_middle',
  'local_contrast_bottom',
  'haze_spread',
  'veil_spread',
  'cast_shadow',
]);

/** The pixel descriptor's measures, in order: the columns of `descriptors` after ("set", id). */
export const DESCRIPTOR_NAMES: readonly string[] = Object.freeze([
  'brightness',
  'contrast',
  'dynamic_range',
  'clip_black',
  'clip_white',
  'haze',
  'sharpness',
  'noise',
  'saturation',
  'tilt_deg',
  'tilt_strength',
  'colourfulness',
  ...LATER_DESCRIPTOR_NAMES,
]);

/**
 * The pixel descriptor's version, written with every row. Bumped when a column comes to measure differently, so that
 * `flux embed` computes the rows of an earlier version again from the previews (the image model does not run) and
 * no ranker mixes the two. 1: the rows written before the version was recorded (NULL); 2: the horizon's tilt read
 * at half and at a quarter of the preview, whichever shows it more clearly, and sought within 25 degrees of level
 * (lib/2-embed/descriptor.ts).
 */
export const DESCRIPTOR_VERSION = 2;

/** The image sets that get vectors. */
export type ImageSet = 'photos' | 'keepers' | 'inbox';

const DESCRIPTORS: TableSpec = {
  name: 'descriptors',
  note: 'the pixel descriptor of every image (lib/2-embed/descriptor.ts), from its preview',
  columns: [
    col('"set"', 'VARCHAR NOT NULL', 'photos | keepers | inbox'),
    col('id', 'BIGINT NOT NULL', 'photo_id, keeper_id or inbox_id'),
    ...DESCRIPTOR_NAMES.map((n) => col(n, 'DOUBLE')),
    col('version', 'INTEGER', 'the pixel descriptor version that computed the row (NULL: before versions)'),
  ],
  key: ['"set"', 'id'],
};

const EMBED_ERRORS: TableSpec = {
  name: 'embed_errors',
  note: 'images flux embed could not embed (tried again on the next run)',
  columns: [
    col('"set"', 'VARCHAR NOT NULL'),
    col('id', 'BIGINT NOT NULL'),
    col('model_id', 'VARCHAR NOT NULL', 'the image model, or "descriptor" when only the descriptor was computed'),
    col('preview', 'VARCHAR'),
    col('message', 'VARCHAR NOT NULL'),
  ],
  key: ['"set"', 'id', 'model_id'],
};

/** The vector tables, in the order they are made. */
export const VECTOR_TABLES: readonly TableSpec[] = [DESCRIPTORS, EMBED_ERRORS];

/**
 * The context features the rankers use, in order (columns of the views `photo_context` and `inbox_context`). The
 * views' measures of the walk's extent (`session_frames`, `log_session_frames`, `session_minutes`) and of a frame's
 * place in it (`session_position`) are left out: inbox photos are scored as they arrive, and those measures of a
 * photo change as more of its walk arrives (its score must not), while a mean such as the walk's light only gets
 * surer. On a planted archive whose inbox walks are shorter than any corpus walk, the walk's size alone took 0.07 of
 * the log-loss gain share from the inbox's calibrated scores, and leaving the three out cost nothing on the corpus's
 * folds (bench/RESULTS.md, "A photo's score does not depend on how much of its walk has arrived").
 */
export const CONTEXT_NAMES: readonly string[] = Object.freeze([
  'hour_sin',
  'hour_cos',
  'weekend',
  'season_sin',
  'season_cos',
  'focal_length',
  'log_exposure',
  'log_iso',
  'f_number',
]);

/**
 * The descriptor measures of a walk's weather and light, averaged over the walk (every photo of its day that has a
 * descriptor): fog, haze and hard sun belong to the day, while one frame's measure of them is swayed by that frame's
 * exposure and contrast. Rows with both the descriptor and the context carry them as `walk_<measure>` (rows.ts).
 */
export const WALK_MEASURES: readonly string[] = Object.freeze([
  'brightness',
  'contrast',
  'dynamic_range',
  'haze',
  'saturation',
  // where light and haze fall: every later column
  ...LATER_DESCRIPTOR_NAMES,
]);

/** The walk columns' names, in order. */
export const WALK_NAMES: readonly string[] = Object.freeze(WALK_MEASURES.map((n) => `walk_${n}`));

/**
 * A photo's walk, as an expression over its own table's columns: a corpus photo's session day, an inbox photo's
 * capture day (it has no session of its own). The context views' walk features and the walk columns (rows.ts) both
 * partition by it, so they agree on what one walk is.
 */
export const WALK_DAY: Readonly<Record<'photos' | 'inbox', string>> = Object.freeze({
  photos: 'session_date',
  inbox: 'CAST(captured_at AS DATE)',
});

/**
 * Context features of each photo from EXIF and its session: time of day and season as angles, weekday, camera
 * settings on log scales (the rankers' CONTEXT_NAMES), and the walk's extent and where in it the frame was taken (for
 * analyses only: they change as a walk arrives). Inbox photos have no session date of their own: their walk is their
 * capture day.
 */
function contextView(view: string, table: string, id: string, session: string): string {
  const walk = `PARTITION BY ${session}`;
  const inWalk = (expr: string): string => `CASE WHEN ${session} IS NOT NULL THEN ${expr} END`;
  return `
CREATE OR REPLACE VIEW ${view} AS
SELECT ${id},
  hour(captured_at) + minute(captured_at) / 60.0 AS hour,
  sin(2 * pi() * (hour(captured_at) + minute(captured_at) / 60.0) / 24) AS hour_sin,
  cos(2 * pi() * (hour(captured_at) + minute(captured_at) / 60.0) / 24) AS hour_cos,
  isodow(captured_at) AS weekday,
  CASE WHEN isodow(captured_at) >= 6 THEN 1.0 WHEN captured_at IS NOT NULL THEN 0.0 END AS weekend,
  sin(2 * pi() * dayofyear(captured_at) / 365.25) AS season_sin,
  cos(2 * pi() * dayofyear(captured_at) / 365.25) AS season_cos,
  focal_length,
  ln(exposure_time) AS log_exposure,
  ln(iso) AS log_iso,
  f_number,
  -- photos without a day are no walk of their own: their walk features are missing, not one walk of them all
  ${inWalk(`count(*) OVER (${walk})`)} AS session_frames,
  ${inWalk(`ln(count(*) OVER (${walk}))`)} AS log_session_frames,
  ${inWalk(`date_diff('second', min(captured_at) OVER (${walk}), max(captured_at) OVER (${walk})) / 60.0`)}
    AS session_minutes,
  ${inWalk(`(row_number() OVER (${walk} ORDER BY captured_at, ${id}) - 1)
    / greatest(1, count(*) OVER (${walk}) - 1)`)} AS session_position
FROM ${table}`;
}

/** Creates the vector tables that do not exist yet and (re)defines the context views over the corpus tables. */
export async function ensureVectorSchema(db: Db): Promise<void> {
  await createTables(db, VECTOR_TABLES);
  // a database made before the later descriptor columns: add them (NULL until flux embed fills them)
  for (const n of LATER_DESCRIPTOR_NAMES) await db.run(`ALTER TABLE descriptors ADD COLUMN IF NOT EXISTS ${n} DOUBLE`);
  // and before the version (NULL: rows of version 1, computed again by flux embed)
  await db.run(`ALTER TABLE descriptors ADD COLUMN IF NOT EXISTS version INTEGER`);
  await db.run(contextView('photo_context', 'photos', 'photo_id', WALK_DAY.photos));
  await db.run(contextView('inbox_context', 'inbox_photos', 'inbox_id', WALK_DAY.inbox));
}

/**
 * The later descriptor columns (and the version) the descriptors table predates (no command has added them yet);
 * none without one.
 */
export async function missingDescriptorColumns(db: Db): Promise<string[]> {
  const cols = await tableColumns(db, 'descriptors');
  return cols.length > 0 ? [...LATER_DESCRIPTOR_NAMES, 'version'].filter((n) => !cols.includes(n)) : [];
}

/** Whether a descriptor row (by column name, with its `version`) was written by an earlier descriptor version. */
export function isStaleDescriptor(row: Readonly<Record<string, unknown>>): boolean {
  return row[DESCRIPTOR_NAMES[0] as string] != null && Number(row.version ?? 1) !== DESCRIPTOR_VERSION;
}

/** The ids of a set that have a descriptor of this version (rows of an earlier one do not count). */
export async function descriptorIds(db: Db, set: ImageSet): Promise<Set<number>> {
  const rows = await db.all<{ id: number }>(`SELECT id FROM descriptors WHERE "set" = ? AND version = ?`, [
    set,
    DESCRIPTOR_VERSION,
  ]);
  return new Set(rows.map((r) => Number(r.id)));
}

/** The ids of a set that failed for a model (or for `descriptor`) on an earlier run. */
export async function failedIds(db: Db, set: ImageSet, modelId: string): Promise<Set<number>> {
  const rows = await db.all<{ id: number }>(`SELECT id FROM embed_errors WHERE "set" = ? AND model_id = ?`, [
    set,
    modelId,
  ]);
  return new Set(rows.map((r) => Number(r.id)));
}

/** An image of a set that could not be embedded. */
export interface EmbedFailure {
  id: number;
  preview: string;
  message: string;
}

/**
 * Writes the descriptors of a flushed batch (through the appender: INSERT OR REPLACE from a staging table) and its
 * failures; an image that failed before and worked now is no longer an error.
 */
export async function writeDescriptors(
  db: Db,
  set: ImageSet,
  modelId: string,
  ok: ReadonlyArray<{ id: number; descriptor: Float32Array }>,
  failed: readonly EmbedFailure[],
): Promise<void> {
  await db.transaction(async () => {
    if (ok.length) {
      // by name: a database given its later columns one by one may hold them in another order
      const cols = ['"set"', 'id', ...DESCRIPTOR_NAMES, 'version'].join(', ');
      await db.run(`CREATE TEMP TABLE IF NOT EXISTS descriptor_stage AS SELECT ${cols} FROM descriptors LIMIT 0`);
      await db.append(
        'descriptor_stage',
        ['varchar', 'bigint', ...DESCRIPTOR_NAMES.map(() => 'double' as const), 'integer'],
        ok.map((d) => [set, d.id, ...Array.from(d.descriptor, Number), DESCRIPTOR_VERSION]),
      );
      await db.run(`INSERT OR REPLACE INTO descriptors (${cols}) SELECT ${cols} FROM descriptor_stage`);
      await db.run('DELETE FROM descriptor_stage');
      await db.run(`DELETE FROM embed_errors WHERE "set" = ? AND model_id = ? AND id IN (SELECT unnest(?::BIGINT[]))`, [
        set,
        modelId,
        JSON.stringify(ok.map((d) => d.id)),
      ]);
    }
    await db.insert(
      'embed_errors',
      ['"set"', 'id', 'model_id', 'preview', 'message'],
      failed.map((d) => [set, d.id, modelId, d.preview, d.message]),
      'INSERT OR REPLACE',
    );
  });
}

/** Every image `flux embed` could not embed, by set and id. */
export async function embedFailures(
  db: Db,
): Promise<Array<{ set: string; model_id: string; preview: string | null; message: string }>> {
  return db.all(`SELECT "set", model_id, preview, message FROM embed_errors ORDER BY "set", preview, model_id`);
}
