/** The shapes the matching parts share: options, report, thresholds, and one keeper's decision. */
import type { OnProgress } from '../util/progress.js';
import type { CalibrationRow } from '../db/matching.js';

export type MatchMethod = 'exif' | 'filename' | 'sha256' | 'similarity';
export type MatchStatus = 'matched' | 'review' | 'unmatched';

/** The photo_id a `none` decision is stored with: the photographer says the keeper's original is not in the archive. */
export const NO_ORIGINAL = -1;

export interface MatchOptions {
  /** Embedding model whose vectors the similarity step uses; default: the best one with vectors, else thumbnails. */
  model?: string;
  /** Re-decide every keeper, not only new or undecided ones. */
  all?: boolean;
  onProgress?: OnProgress;
}

/** The similarity thresholds one run learnt (or fell back to) for a vector source, as stored in match_calibration. */
export type Thresholds = CalibrationRow;

/** A walk's clock offset: seconds the keeper's clock ran ahead, from how many links, how many agreeing. */
export interface ClockOffset {
  seconds: number;
  links: number;
  agreeing: number;
}

export interface MatchReport {
  keepers: number;
  processed: number;
  byMethod: Record<string, number>;
  byStatus: Record<string, number>;
  /** Per walk (keeper day and camera, `camera` empty when unknown) with an offset. */
  offsets: Array<{ day: string; camera: string } & ClockOffset>;
  thresholds: Thresholds;
  unmatched: string[];
  review: Array<{ path: string; reason: string }>;
  /** Keeper files ingest could not read as photos (not a JPEG, truncated, empty): never matched, with the reason. */
  unreadable: Array<{ path: string; reason: string }>;
  seconds: number;
  /**
   * Seconds spent in the metadata steps (loading, EXIF, filename, SHA-256, offsets), in the similarity step, and in
   * verification by alignment (with the pairs it verified).
   */
  timings: {
    metadata: number;
    similarity: number;
    keepersBySimilarity: number;
    verification?: number;
    verifiedPairs?: number;
  };
}

/** What the cascade decided for one keeper so far. */
export interface Decision {
  photo: number | null;
  method: MatchMethod | null;
  status: MatchStatus;
  similarity: number | null;
  reason: string | null;
  /** Seconds between the keeper's time and the photo's (keeper minus photo), for offset detection. */
  delta: number | null;
  /** Photos the metadata narrowed the keeper down to (same name and day, same second): similarity looks only here. */
  pool: number[];
  /** What the review table lists for this keeper (written to match_candidates). */
  candidates: Array<{ id: number; similarity: number | null; note: string }>;
}
