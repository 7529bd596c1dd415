/**
 * Verification inside the matching run: previews decoded once, thresholds learnt from the archive (metadata-linked
 * keepers against their own photo are positives, against the frame shot nearest to it within a burst negatives),
 * and the rule that links, sends to review or vetoes a similarity decision on verified evidence.
 */
import { join } from 'node:path';
import type { Decision } from './types.js';
import { BURST_SECONDS } from './time.js';
import { RIVAL_NOTE } from './rules.js';
import type { CorpusIndex, Keeper, Photo, Scored } from './candidates.js';
import { quantile } from './calibration.js';
import {
  beyondEdits,
  DEFAULT_VERIFY,
  loadRgb,
  tieBreak,
  verdict,
  verificationRow,
  verified,
  verifyImages,
  type Planar,
  type Verification,
  type VerifyThresholds,
} from './verify.js';

/** Decoded previews, kept for the run. */
export interface PreviewCache {
  keeper(id: number): Promise<Planar | null>;
  photo(id: number): Promise<Planar | null>;
}

export function previewCache(
  workspace: string,
  keeperPreview: (id: number) => string | null,
  photoPreview: (id: number) => string | null,
): PreviewCache {
  const load = (cache: Map<number, Promise<Planar | null>>, preview: (id: number) => string | null) => (id: number) => {
    let p = cache.get(id);
    if (!p) {
      const file = preview(id);
      // a preview that does not decode leaves the pair unverified (the keeper is reported as such elsewhere)
      p = file ? loadRgb(join(workspace, file)).catch(() => null) : Promise.resolve(null);
      cache.set(id, p);
    }
    return p;
  };
  return { keeper: load(new Map(), keeperPreview), photo: load(new Map(), photoPreview) };
}

/** Verifies a keeper against photos; pairs without two previews are left out. */
export async function verifyAgainst(
  cache: PreviewCache,
  keeper: number,
  photos: readonly number[],
): Promise<Map<number, Verification>> {
  const out = new Map<number, Verification>();
  const k = await cache.keeper(keeper);
  if (!k) return out;
  for (const id of photos) {
    const c = await cache.photo(id);
    if (c) out.set(id, verifyImages(k, c));
  }
  return out;
}

/** The learnt thresholds with the evidence they came from. */
export interface VerifyCalibration extends VerifyThresholds {
  positives: number[];
  negatives: number[];
}

/**
 * Thresholds from the archive: up to 40 metadata-linked keepers (edited ones first), each verified against its
 * photo (a positive) and against the frame shot nearest to that photo, when one lies within a burst's seconds (a
 * negative). The bar sits halfway (geometrically) between the high end of the positives (their 95th percentile:
 * what an edit leaves) and the low end of the negatives (their 10th percentile: what a moved figure leaves). A few
 * negatives below the positives are frames the pixels cannot tell apart (a still scene shot twice): they do not set
 * the bar, and two candidates that verify alike go to review by the verdict's ratio. A candidate beyond the
 * largest positive and below the lowest correlation of the positives, though within the bar, is not linked but
 * goes to review (`edits`). Calibrated when at least five of each are found and the two ends do not cross;
 * otherwise verification records, and decides nothing by itself.
 */
export async function calibrateVerification(
  ix: CorpusIndex,
  cache: PreviewCache,
  linked: readonly Keeper[],
  photoOf: (k: Keeper) => number,
): Promise<VerifyCalibration> {
  const nearest = (p: Photo): number | null => {
    const t = ix.timeOf(p.id);
    if (t === null || !p.day) return null;
    let best: { id: number; d: number } | null = null;
    for (const id of ix.byDay.get(p.day) ?? []) {
      const e = ix.timeOf(id);
      if (id === p.id || e === null) continue;
      const d = Math.abs(e - t);
      if (d <= BURST_SECONDS && (!best || d < best.d)) best = { id, d };
    }
    return best?.id ?? null;
  };
  const withBurst = linked
    .map((k) => ({ k, p: ix.photoById.get(photoOf(k)) as Photo }))
    .map((x) => ({ ...x, near: nearest(x.p) }))
    .filter((x) => x.near !== null);
  // edited keepers say the most about what an edit leaves; exact copies fill up
  const chosen = [
    ...withBurst.filter((x) => x.p.sha !== x.k.sha),
    ...withBurst.filter((x) => x.p.sha === x.k.sha),
  ].slice(0, 40);
  const positives: number[] = [];
  const negatives: number[] = [];
  const shifts = { positives: [] as number[], negatives: [] as number[] };
  const correlations: number[] = [];
  for (const { k, p, near } of chosen) {
    const v = await verifyAgainst(cache, k.id, [p.id, near as number]);
    const pos = v.get(p.id);
    const neg = v.get(near as number);
    if (pos) positives.push(pos.worstTile);
    if (neg) negatives.push(neg.worstTile);
    if (pos) shifts.positives.push(pos.shift);
    if (pos) correlations.push(pos.ncc);
    if (neg) shifts.negatives.push(neg.shift);
  }
  const calibrated = positives.length >= 5 && negatives.length >= 5 && verifyBar(positives, negatives) !== null;
  const shift = calibrated ? shiftBar(shifts.positives, shifts.negatives) : Infinity;
  return calibrated
    ? {
        ...DEFAULT_VERIFY,
        worstTile: verifyBar(positives, negatives) as number,
        shift,
        edits: { worstTile: Math.max(...positives), ncc: Math.min(...correlations) },
        calibrated,
        positives,
        negatives,
      }
    : { ...DEFAULT_VERIFY, calibrated: false, positives, negatives };
}

/**
 * The shift bar of a lone verified candidate: between what the archive's edits ask for (95th percentile) and what
 * its burst neighbours ask for (10th), and at least twice the edits' (a heavier edit than the archive's own, an
 * exposure of a whole stop, asks for more), never beyond the neighbours'; Infinity when the two ends cross.
 */
export function shiftBar(positives: number[], negatives: number[]): number {
  const between = verifyBar(positives, negatives);
  if (between === null) return Infinity;
  return Math.max(between, Math.min(2 * quantile(positives, 0.95), quantile(negatives, 0.1)));
}

/** The worst-tile bar between what edits leave and what burst neighbours leave, or null when they cross. */
export function verifyBar(positives: number[], negatives: number[]): number | null {
  const high = quantile(positives, 0.95);
  const low = quantile(negatives, 0.1);
  return high < low ? Math.sqrt(high * low) : null;
}

/** The similarity at which a candidate is worth verifying: below the low end of true pairs here, else the link. */
export function verifyFloor(truePairs: number[], link: number, margin: number): number {
  return truePairs.length >= 3 ? Math.min(link, quantile(truePairs, 0.02) - 3 * margin) : link - 4 * margin;
}

/**
 * Between two candidates that verify alike, the one the pixels where the two differ choose: the keeper's residual
 * there against it at most half that against the other (tieBreak in verify.ts); null when neither is that clear.
 */
export async function settleTie(
  cache: PreviewCache,
  keeper: number,
  [a, b]: readonly [number, number],
  vs: ReadonlyMap<number, Verification>,
): Promise<number | null> {
  const [k, pa, pb] = await Promise.all([cache.keeper(keeper), cache.photo(a), cache.photo(b)]);
  const va = vs.get(a);
  const vb = vs.get(b);
  if (!k || !pa || !pb || !va || !vb) return null;
  const t = tieBreak(k, { image: pa, transform: va.transform }, { image: pb, transform: vb.transform });
  if (!t) return null;
  return t.a <= t.b / 2 ? a : t.b <= t.a / 2 ? b : null;
}

/**
 * Applies verified evidence to one keeper's similarity decision (only when the thresholds were learnt here): a
 * verdict's link is made; of two candidates that verify alike, the one the pixels where they differ choose, else
 * both go to review; a keeper whose candidates do not verify is left unmatched (its original may be missing).
 */
export async function applyVerdict(
  d: Decision,
  top: readonly Scored[],
  vs: ReadonlyMap<number, Verification>,
  vt: VerifyThresholds,
  contradicts: (id: number) => boolean,
  settle: (pair: readonly [number, number]) => Promise<number | null>,
): Promise<void> {
  const ids = top.map((x) => x.id).filter((id) => vs.has(id) && !contradicts(id));
  if (!vt.calibrated || ids.length === 0) return;
  const list = ids.map((id) => vs.get(id) as Verification);
  const v = verdict(list, vt);
  const fmt = (id: number): string => (vs.get(id) as Verification).worstTile.toFixed(3);
  for (const c of d.candidates) {
    const m = vs.get(c.id);
    if (m) c.note = `${c.note}; alignment worst tile ${m.worstTile.toFixed(3)}${verified(m, vt) ? ', verified' : ''}`;
  }
  const pair = ids
    .filter((id) => verified(vs.get(id) as Verification, vt))
    .sort((a, b) => (vs.get(a) as Verification).worstTile - (vs.get(b) as Verification).worstTile)
    .slice(0, 2) as [number, number];
  // of two that verify alike, the one the pixels where they differ choose: not linked either when it is beyond
  // every edit measured here (both are then frames beside a missing original, as far as the pixels can tell)
  const settled = v.review ? await settle(pair) : null;
  const chosen =
    v.link !== null
      ? (ids[v.link] as number)
      : settled !== null && !beyondEdits(vs.get(settled) as Verification, vt)
        ? settled
        : null;
  if (chosen !== null) {
    const id = chosen;
    Object.assign(d, {
      photo: id,
      method: 'similarity',
      similarity: top.find((x) => x.id === id)?.s ?? null,
      status: 'matched',
      reason: null,
    });
  } else if (v.doubt) {
    const best = pair[0];
    const m = vs.get(best) as Verification;
    const next = pair[1] === undefined ? null : (vs.get(pair[1]) as Verification);
    const which = next
      ? `the photo that verifies best (worst tile ${fmt(best)}; the next ${next.worstTile.toFixed(3)}), `
      : `only one photo verifies by alignment (worst tile ${fmt(best)}), `;
    const why =
      v.doubt === 'shift'
        ? `but one tile asks for a shift of ${m.shift.toFixed(2)} px (edits here ask for up to ${vt.shift.toFixed(2)})`
        : `but beyond every edit measured here (worst tiles up to ${vt.edits.worstTile.toFixed(3)}, correlation ` +
          `${m.ncc.toFixed(4)} against at least ${vt.edits.ncc.toFixed(4)}), though within the bar of ` +
          vt.worstTile.toFixed(3);
    Object.assign(d, {
      photo: null,
      method: null,
      status: 'review',
      reason: `${which}${why}: a burst sibling of a missing original looks like this`,
    });
  } else if (v.review) {
    const [a, b] = pair;
    Object.assign(d, {
      photo: null,
      method: null,
      status: 'review',
      reason: `two candidates verify alike by alignment (worst tiles ${fmt(a)} and ${fmt(b)})`,
    });
  } else if (!top.some((x) => vs.has(x.id) && verified(vs.get(x.id) as Verification, vt))) {
    const best = ids[0] as number;
    Object.assign(d, {
      photo: null,
      method: null,
      status: 'unmatched',
      reason:
        `alignment verifies none of the ${ids.length} most similar photos (best worst tile ${fmt(best)}, ` +
        `verified up to ${vt.worstTile.toFixed(3)}): its original may be missing`,
    });
  } else if (d.status === 'matched') {
    // the photo that verifies contradicts the keeper's name or time: not linked, and not settled either
    const best = ids[0] as number;
    Object.assign(d, {
      status: 'review',
      reason:
        `linked by similarity, but alignment does not verify it (worst tile ${fmt(best)}, ` +
        `verified up to ${vt.worstTile.toFixed(3)})`,
    });
  }
}

/** Whether a decision is a metadata link sent to review because a frame shot seconds apart looked more alike. */
export const isVetoedLink = (d: Decision): boolean => d.candidates.length === 2 && d.candidates[1]?.note === RIVAL_NOTE;

/**
 * A doubted metadata link is made after all when alignment verifies its photo and not the rival (calibrated
 * thresholds only); otherwise it stays in review, with the measurements in its candidates' notes.
 */
export function restoreVerifiedLink(d: Decision, vs: ReadonlyMap<number, Verification>, vt: VerifyThresholds): void {
  const [named, rival] = d.candidates as [Decision['candidates'][number], Decision['candidates'][number]];
  const a = vs.get(named.id);
  const b = vs.get(rival.id);
  if (!vt.calibrated || !a || !b) return;
  for (const [c, m] of [
    [named, a],
    [rival, b],
  ] as const) {
    c.note = `${c.note}; alignment worst tile ${m.worstTile.toFixed(3)}${verified(m, vt) ? ', verified' : ''}`;
  }
  if (verdict([a, b], vt).link !== 0) return;
  Object.assign(d, {
    photo: named.id,
    method: named.note.split(';')[0],
    similarity: named.similarity,
    status: 'matched',
    reason: null,
  });
}

export { verificationRow };
