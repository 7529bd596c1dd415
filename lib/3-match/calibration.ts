/**
 * Similarity thresholds learnt from the archive itself: keepers linked by metadata give true pairs (the similarity
 * of a re-encode or edit to its original) and siblings (the most similar other frame of the same walk).
 */
import type { Thresholds } from './types.js';
import { addDays } from './time.js';
import type { CorpusIndex, Keeper, Photo } from './candidates.js';
import { pairKey, type PairScorer } from './vectors.js';

export const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return (s[lo] as number) + ((s[Math.min(lo + 1, s.length - 1)] as number) - (s[lo] as number)) * (pos - lo);
};

/**
 * Thresholds from the archive itself: a link must beat every sibling similarity seen (plus a small gap), and links
 * below the midpoint between that and 1 also go to review. Without enough evidence the CLIP defaults are used for
 * CLIP models and every similarity link goes to review for the others.
 */
export function calibrate(source: string, truePairs: number[], siblings: number[]): Thresholds {
  const enough = truePairs.length >= 3 && siblings.length >= 5;
  if (!enough) {
    const clip = source.includes('clip');
    const link = clip ? 0.98 : 0.995;
    return { source, link, review: clip ? 0.99 : 1.01, margin: 0.02, calibrated: false, truePairs, siblings };
  }
  const sibMax = Math.max(...siblings);
  const link = Math.min(0.999, Math.max(sibMax + 0.005, quantile(siblings, 0.99) + 0.01));
  const review = link + (1 - link) / 2;
  // the margin over the second-best is a fraction of the gap between a typical sibling and a certain link
  const margin = Math.max(0.005, (link - quantile(siblings, 0.5)) / 4);
  return { source, link, review, margin, calibrated: true, truePairs, siblings };
}

/** The similarities calibration learns from. */
export interface Distributions {
  truePairs: number[];
  siblings: number[];
}

/**
 * The evidence of at most 300 metadata-linked keepers spread over the archive: `photoOf` gives a keeper's linked
 * photo. `measure` scores the pairs with a scorer: true pairs whose bytes differ, and per keeper the most similar
 * other frame of its photo's walk.
 */
export function calibrationEvidence(
  ix: CorpusIndex,
  linked: readonly Keeper[],
  photoOf: (k: Keeper) => number,
): {
  measure(sc: PairScorer): Promise<Distributions>;
} {
  const step = Math.max(1, Math.floor(linked.length / 300));
  const calib = linked.filter((_, i) => i % step === 0);
  const calibPairs: Array<readonly [number, number]> = [];
  const othersOf = (p: Photo): number[] => {
    const same = (ix.byDay.get(p.day ?? '') ?? []).filter((id) => id !== p.id);
    if (same.length) return same;
    // a walk of one frame has no siblings: the frames of the nearest days stand in for them, else frames from
    // across the archive (a small archive of single photos)
    const day = p.day ?? '1970-01-01';
    const near = [-3, -2, -1, 1, 2, 3].flatMap((d) => ix.byDay.get(addDays(day, d)) ?? []).slice(0, 200);
    if (near.length) return near;
    const stride = Math.max(1, Math.floor(ix.photos.length / 200));
    return ix.photos.filter((x, i) => i % stride === 0 && x.id !== p.id).map((x) => x.id);
  };
  for (const k of calib) {
    const p = ix.photoById.get(photoOf(k)) as Photo;
    calibPairs.push([k.id, p.id]);
    for (const id of othersOf(p)) calibPairs.push([k.id, id]);
  }
  return {
    async measure(sc) {
      const scores = await sc.score(calibPairs);
      const truePairs: number[] = [];
      const siblings: number[] = [];
      for (const k of calib) {
        const p = ix.photoById.get(photoOf(k)) as Photo;
        const s = scores.get(pairKey(k.id, p.id));
        if (s === undefined) continue;
        if (p.sha !== k.sha) truePairs.push(s);
        let best = -1;
        for (const id of othersOf(p)) best = Math.max(best, scores.get(pairKey(k.id, id)) ?? -1);
        if (best > -1) siblings.push(best);
      }
      return { truePairs, siblings };
    },
  };
}

/**
 * The bar of the second, independent look (grey thumbnails): halfway between the closest sibling seen and 1 (a
 * burst frame of near-identical pixels comes very close to 1, a re-encode of the photo itself closer still). When
 * siblings reach 1, thumbnails cannot tell a copy from a burst frame, and the second look never makes a link sure
 * (a bar above 1).
 */
export function thumbnailBar(siblings: number[]): number {
  const top = Math.max(...siblings);
  const bar = top + (1 - top) / 2;
  return siblings.length >= 5 && 1 - top > 1e-5 ? bar : 1.01;
}
