/**
 * The photographer's review decisions on inbox photos, made in the portal (`flux serve`): one row per photo, the
 * latest decision, committed before the portal answers. Decisions are labels: a kept inbox photo is a keeper of its
 * day, a rejected one a reviewed near-miss, the most valuable negative, weighted highest (`decisionLabels`).
 */
import { FluxError } from '../util/check.js';
import type { Db } from './duckdb.js';
import { tableExists } from './table.js';

export const DECISIONS = ['keep', 'reject'] as const;
export type Decision = (typeof DECISIONS)[number];

/**
 * Training weight of each decision. Every label the archive gives by itself (a matched keeper, an unreviewed
 * corpus frame) weighs 1; a frame the photographer looked at and rejected says most about his taste, so it weighs
 * the most.
 */
export const DECISION_WEIGHTS: Readonly<Record<Decision, number>> = Object.freeze({ keep: 1, reject: 3 });

const DDL = `
CREATE TABLE IF NOT EXISTS review_decisions (
  photo_id BIGINT PRIMARY KEY,      -- inbox_photos.inbox_id: one row per photo, the latest decision
  path VARCHAR NOT NULL,            -- the inbox path when decided, relative to the inbox root
  decision VARCHAR NOT NULL,        -- keep | reject
  keeper_score DOUBLE,              -- the score the photographer saw beside it
  decided_at TIMESTAMP NOT NULL     -- UTC
)`;

/** Creates the decisions table when it is not there yet. */
export async function ensureDecisionSchema(db: Db): Promise<void> {
  await db.run(DDL);
}

/** Whether a value is one of the decisions. */
export function isDecision(value: unknown): value is Decision {
  return typeof value === 'string' && (DECISIONS as readonly string[]).includes(value);
}

export interface DecisionRow {
  photo_id: number;
  path: string;
  decision: Decision;
  keeper_score: number | null;
  /** ISO 8601, UTC. */
  decided_at: string;
}

const SELECT_ROW = `SELECT photo_id, path, decision, keeper_score,
  strftime(decided_at, '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS decided_at FROM review_decisions`;

/**
 * Records a decision on an inbox photo and commits it (the single statement is its own transaction, written to the
 * WAL before this returns). A second decision on the same photo replaces the first: one row per photo however many
 * requests arrive. Returns the row with the decision it replaced (`previous`, null when there was none), read in
 * the same call, which an undo restores. Throws a FluxError naming the photo or the decision when either is unknown.
 */
export async function recordDecision(
  db: Db,
  photoId: number,
  decision: string,
  at = new Date(),
): Promise<DecisionRow & { previous: Decision | null }> {
  if (!isDecision(decision))
    throw new FluxError(`decision: expected one of ${DECISIONS.join(', ')}, received ${JSON.stringify(decision)}`);
  if (!Number.isSafeInteger(photoId) || photoId < 0)
    throw new FluxError(`photo_id: expected an inbox photo id, received ${JSON.stringify(photoId)}`);
  const photo = (
    await db.all<{ path: string; keeper_score: number | null }>(
      `SELECT p.path, ${
        (await tableExists(db, 'inbox_scores'))
          ? '(SELECT s.keeper_score FROM inbox_scores s WHERE s.path = p.path)'
          : 'NULL'
      } AS keeper_score
    FROM inbox_photos p WHERE p.inbox_id = ?`,
      [photoId],
    )
  )[0];
  if (!photo) throw new FluxError(`photo_id: no inbox photo ${photoId} in this database`);
  await ensureDecisionSchema(db);
  const previous =
    (await db.value<Decision>('SELECT decision FROM review_decisions WHERE photo_id = ?', [photoId])) ?? null;
  await db.run(`INSERT OR REPLACE INTO review_decisions VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMP))`, [
    photoId,
    photo.path,
    decision,
    photo.keeper_score,
    at.toISOString().replace('T', ' ').replace('Z', ''),
  ]);
  const row = (await db.all<DecisionRow>(`${SELECT_ROW} WHERE photo_id = ?`, [photoId]))[0] as DecisionRow;
  return { ...row, previous };
}

/** Withdraws the decision on a photo (undo); true when there was one. */
export async function removeDecision(db: Db, photoId: number): Promise<boolean> {
  if (!(await tableExists(db, 'review_decisions'))) return false;
  const had = Number(await db.value('SELECT count(*) FROM review_decisions WHERE photo_id = ?', [photoId])) > 0;
  if (had) await db.run('DELETE FROM review_decisions WHERE photo_id = ?', [photoId]);
  return had;
}

/** Every photo's latest decision, oldest first. */
export async function listDecisions(db: Db): Promise<DecisionRow[]> {
  if (!(await tableExists(db, 'review_decisions'))) return [];
  return db.all<DecisionRow>(`${SELECT_ROW} ORDER BY decided_at, photo_id`);
}

/** A training label from a decision. */
export interface DecisionLabel {
  /** 1: a keeper of its day; 0: a reviewed near-miss. */
  label: 0 | 1;
  weight: number;
  decision: Decision;
  /** The photo's capture day (its walk), or null when it has no capture time. */
  day: string | null;
}

/**
 * The decisions as training labels, by inbox photo id (`inbox_photos.inbox_id`, the id of the photo's `inbox`
 * vectors and descriptors): keep -> label 1 (a keeper of its capture day), reject -> label 0 with the highest
 * weight. Photos no longer in `inbox_photos` are left out (no features to learn from).
 */
export async function decisionLabels(db: Db): Promise<Map<number, DecisionLabel>> {
  if (!(await tableExists(db, 'review_decisions'))) return new Map();
  const rows = await db.all<{
    id: number;
    decision: Decision;
    day: string | null;
  }>(`SELECT d.photo_id AS id, d.decision,
    CAST(CAST(p.captured_at AS DATE) AS VARCHAR) AS day
    FROM review_decisions d JOIN inbox_photos p ON p.inbox_id = d.photo_id
    ORDER BY d.photo_id`);
  return new Map(
    rows.map((r) => [
      r.id,
      { label: r.decision === 'keep' ? 1 : 0, weight: DECISION_WEIGHTS[r.decision], decision: r.decision, day: r.day },
    ]),
  );
}

/**
 * Decisions on photos no longer in the inbox (another inbox was scored since): they do not train; filed in the
 * archive, the photos are labelled there.
 */
export async function decisionsOutsideInbox(db: Db): Promise<number> {
  if (!(await tableExists(db, 'review_decisions'))) return 0;
  return Number(
    await db.value(`SELECT count(*) FROM review_decisions WHERE photo_id NOT IN (SELECT inbox_id FROM inbox_photos)`),
  );
}

/** The `meta` key holding the auto-surface threshold fitted on the decisions (written by the portal). */
export const SURFACE_THRESHOLD_KEY = 'surface_threshold';

/** The auto-surface threshold fitted on the photographer's decisions. */
export interface SurfaceCalibration {
  /** Surface every new photo scoring at least this; null when the decisions do not support one yet. */
  threshold: number | null;
  rule: string;
  precision: number | null;
  recall: number | null;
  /** Photos scoring at least the threshold per 1,000 scored inbox photos. */
  reviewPer1000: number | null;
  /** Decisions on scored photos made since the scoring model trained: the ones fitted on. */
  decisions: number;
  /** Decisions left out: made before the scoring model trained, so among its training rows. */
  trainedOn?: number;
  keeps: number;
  rejects: number;
  /** Scored inbox photos the review load is measured on. */
  inboxPhotos: number;
  /** The keeper model whose scores were judged. */
  model: string | null;
  fittedAt: string;
  note: string | null;
}

/** The calibration the portal wrote last, or null: what `flux score` surfaces by when it holds a threshold. */
export async function readSurfaceCalibration(db: Db): Promise<SurfaceCalibration | null> {
  const text = await db
    .value<string>('SELECT value FROM meta WHERE key = ?', [SURFACE_THRESHOLD_KEY])
    .catch(() => null);
  return text ? (JSON.parse(text) as SurfaceCalibration) : null;
}
