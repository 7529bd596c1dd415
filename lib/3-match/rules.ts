/**
 * The rules that turn evidence into links: vetoes on metadata links (a frame shot seconds apart looks more like
 * the keeper, or the images look unlike), the similarity link with its threshold, margin and contradictions, and
 * the photographer's accepted links, which win over everything.
 */
import type { Decision, Thresholds } from './types.js';
import { epoch, fromEpoch, hasFraction, timeContradicts } from './time.js';
import {
  offsetOf,
  sameCamera,
  type CorpusIndex,
  type DecisionBook,
  type Keeper,
  type Photo,
  type Scored,
} from './candidates.js';
import type { ClockOffset } from './types.js';
import { quantile } from './calibration.js';
import { pairKey, type PairScorer } from './vectors.js';

/** Why a similarity link waits for the photographer on an archive too small to calibrate the thresholds on. */
const UNCALIBRATED =
  'similarity is not calibrated on this archive (too few keepers linked by metadata), ' +
  'so it links nothing by itself';
/** The note a doubted metadata link's rival gets (verification looks for it). */
export const RIVAL_NOTE = 'a frame shot seconds apart';
const THUMBS_CANNOT = 'thumbnails cannot confirm a link on this archive (burst frames reach 1)';

/** What the rules read besides one keeper's decision. */
export interface RuleContext {
  ix: CorpusIndex;
  book: DecisionBook;
  offsets: ReadonlyMap<string, ClockOffset>;
  thresholds: Thresholds;
  /** The second, independent look (grey thumbnails) when the first is a model's vectors, else null. */
  secondLook: PairScorer | null;
  /** Where the second look makes a link sure (above 1: never). */
  thumbLink: number;
}

/** The frame seconds apart the keeper looks most like, when it looks more like it than the linked photo. */
async function preferredRival(
  cx: RuleContext,
  k: Keeper,
  d: Decision,
  near: readonly number[],
  nearScores: ReadonlyMap<string, number>,
): Promise<Scored | null> {
  const rival = near.map((id) => ({ id, s: nearScores.get(pairKey(k.id, id)) ?? -1 })).sort((a, b) => b.s - a.s)[0];
  const linked = d.photo as number;
  const s = d.similarity as number;
  if (!rival || rival.s <= s) return null;
  // a rival by a clear margin, or by any amount when the independent thumbnail look prefers it too; a keeper time
  // without a sub-second pins only the second: a frame of that second that looks more like the keeper, by any
  // amount, is enough doubt
  const sameSecond =
    k.t !== null &&
    !hasFraction(k.t) &&
    Math.abs((cx.ix.timeOf(rival.id) ?? Infinity) - (cx.ix.timeOf(linked) ?? -Infinity)) < 1;
  if (sameSecond || rival.s >= s + cx.thresholds.margin) return rival;
  if (!cx.secondLook) return null;
  const t2 = await cx.secondLook.score([
    [k.id, rival.id],
    [k.id, linked],
  ]);
  return (t2.get(pairKey(k.id, rival.id)) ?? -1) > (t2.get(pairKey(k.id, linked)) ?? 2) ? rival : null;
}

/**
 * A link by time or name (not by identical bytes) is looked at beside the frames shot within seconds of it: when
 * one of them looks more like the keeper, the metadata may point at the wrong frame of a burst (an editor that
 * dropped the sub-second, a time copied from another file); a link whose images look unlike goes to review too.
 */
export async function vetoMetadataLinks(
  cx: RuleContext,
  links: readonly Keeper[],
  decided: ReadonlyMap<number, Decision>,
  scores: { link: ReadonlyMap<string, number>; near: ReadonlyMap<string, number> },
  nearOf: ReadonlyMap<number, number[]>,
): Promise<void> {
  const { truePairs, siblings } = cx.thresholds;
  // far below what true pairs score here: a different picture under the same time or name
  const unlike =
    truePairs.length >= 3
      ? Math.min(quantile(truePairs, 0.05) - 0.1, cx.thresholds.link)
      : (siblings.length ? Math.min(...siblings) : 0) - 0.2;
  for (const k of links) {
    const d = decided.get(k.id) as Decision;
    if (d.similarity === null) d.similarity = scores.link.get(pairKey(k.id, d.photo as number)) ?? null;
    if (d.method === 'sha256' || d.similarity === null) continue;
    const rival = await preferredRival(cx, k, d, nearOf.get(k.id) ?? [], scores.near);
    if (rival) {
      const p = cx.ix.photoById.get(d.photo as number) as Photo;
      const q = cx.ix.photoById.get(rival.id) as Photo;
      const apart = Math.abs((cx.ix.timeOf(q.id) as number) - (cx.ix.timeOf(p.id) as number)).toFixed(2);
      Object.assign(d, {
        status: 'review',
        pool: [d.photo as number, rival.id],
        reason:
          `linked by ${d.method} to ${p.path}, but ${q.path}, shot ${apart} s from it, ` +
          'looks more like the keeper ' +
          `(${rival.s.toFixed(3)} vs ${d.similarity.toFixed(3)})`,
        candidates: [
          { id: d.photo as number, similarity: d.similarity, note: `${d.method}` },
          { id: rival.id, similarity: rival.s, note: RIVAL_NOTE },
        ],
      });
      d.photo = null;
      d.method = null;
    } else if (cx.thresholds.calibrated && d.similarity < unlike) {
      // to a person, the frame the metadata named kept as the proposal and listed as the candidate an accept links
      const p = cx.ix.photoById.get(d.photo as number) as Photo;
      Object.assign(d, {
        status: 'review',
        reason:
          `linked by ${d.method} to ${p.path}, but the images look unlike each other ` +
          `(similarity ${d.similarity.toFixed(3)}; ` +
          `true pairs here score from ${quantile(truePairs, 0.05).toFixed(3)})`,
        pool: [p.id],
        candidates: [{ id: p.id, similarity: d.similarity, note: `${d.method}` }],
      });
    }
  }
}

/**
 * Why a candidate's camera, frame number or capture time contradicts the keeper's, or null. In a walk whose clock
 * was found off, a keeper's time may be read with that offset or as it is (a keeper of another stretch of the day,
 * or one whose clock was right): only a time that agrees with neither contradicts.
 */
export function contradiction(cx: RuleContext, k: Keeper, id: number): string | null {
  const p = cx.ix.photoById.get(id) as Photo;
  if (!sameCamera(k.model, p.model)) return `shot with a ${p.model}, the keeper with a ${k.model}`;
  if (k.name && p.name && k.name !== p.name) return `camera name ${p.name} is not ${k.name}`;
  if (!k.t || !p.t) return null;
  const off = offsetOf(cx.offsets, k);
  const kt = epoch(k.t) - off;
  const pt = epoch(p.t);
  if (timeContradicts(k.t, kt, pt) && (off === 0 || timeContradicts(k.t, epoch(k.t), pt))) {
    return `taken at ${p.t.slice(0, 22)}, the keeper at ${fromEpoch(kt).slice(0, 22)}`;
  }
  return null;
}

/** The independent thumbnail look at the keeper beside a photo (null without a model). */
async function thumbLook(cx: RuleContext, k: Keeper, id: number): Promise<number | null> {
  return cx.secondLook ? ((await cx.secondLook.score([[k.id, id]])).get(pairKey(k.id, id)) ?? null) : null;
}

/** The thumbnail part of a reason: nothing without a second look, else why it did not confirm. */
const thumbNote = (cx: RuleContext, thumb: number | null, below: (t: number) => string): string =>
  thumb === null ? '' : cx.thumbLink > 1 ? `; ${THUMBS_CANNOT}` : below(thumb);

/** One keeper's decision in the making and its most similar candidate. */
interface TopCandidate {
  k: Keeper;
  d: Decision;
  best: Scored;
  /** The runner-up's similarity (-1 for none). */
  second: number;
  /** The candidates are frames of one second of a burst. */
  burstPool: boolean;
}

/** A best candidate at or above the link threshold: linked when clear and sure, else to review with why. */
async function aboveLink(cx: RuleContext, top: TopCandidate): Promise<void> {
  const { k, d, best, second, burstPool } = top;
  const t = cx.thresholds;
  const why = contradiction(cx, k, best.id);
  if (why) {
    d.status = 'review';
    d.reason =
      `the most similar photo (${best.s.toFixed(3)}) contradicts the keeper: ${why}; ` + 'its original may be missing';
    return;
  }
  if (best.s - second < t.margin) {
    d.status = 'review';
    d.reason = `two photos are almost equally similar (${best.s.toFixed(3)} vs ${second.toFixed(3)})`;
    return;
  }
  d.photo = best.id;
  d.method = 'similarity';
  d.similarity = best.s;
  const thumb = await thumbLook(cx, k, best.id);
  const sure = !burstPool && t.calibrated && (best.s >= t.review || (thumb !== null && thumb >= cx.thumbLink));
  d.status = sure ? 'matched' : 'review';
  d.reason = sure
    ? null
    : burstPool
      ? `the keeper's time names a second with ${d.pool.length} frames of a burst; ` +
        `the most similar is ${best.s.toFixed(3)}, to confirm`
      : !t.calibrated
        ? `linked by similarity ${best.s.toFixed(3)}; ${UNCALIBRATED}`
        : `linked by similarity ${best.s.toFixed(3)}, below the sure threshold ${t.review.toFixed(3)}` +
          thumbNote(cx, thumb, (x) => `, thumbnail similarity ${x.toFixed(5)} below ${cx.thumbLink.toFixed(5)}`);
}

/**
 * Just below the model's threshold: linked only when the independent thumbnail look is sure as well and no other
 * photo comes close; otherwise it waits for the photographer.
 */
async function justBelowLink(cx: RuleContext, top: TopCandidate): Promise<void> {
  const { k, d, best, second, burstPool } = top;
  const t = cx.thresholds;
  const thumb = await thumbLook(cx, k, best.id);
  if (!burstPool && t.calibrated && thumb !== null && thumb >= cx.thumbLink && best.s - second >= t.margin) {
    Object.assign(d, { photo: best.id, method: 'similarity', similarity: best.s, status: 'matched', reason: null });
    return;
  }
  d.status = 'review';
  d.reason =
    `most similar photo ${best.s.toFixed(3)} is just below the link threshold ${t.link.toFixed(3)}` +
    (!t.calibrated
      ? `; ${UNCALIBRATED}`
      : thumbNote(cx, thumb, (x) => ` (thumbnail similarity ${x.toFixed(5)}, sure at ${cx.thumbLink.toFixed(5)})`));
}

/** The similarity step's decision for one keeper from its top candidates (best first). */
export async function decideBySimilarity(
  cx: RuleContext,
  k: Keeper,
  d: Decision,
  top: readonly Scored[],
): Promise<void> {
  const t = cx.thresholds;
  // the frames of one second of a burst look alike: an image does not choose among them by itself
  const burstPool = d.pool.length > 1 && d.candidates.length > 0 && d.candidates.every((c) => c.note === 'same second');
  // a candidate whose frame number or capture time contradicts the keeper's is never linked by similarity
  d.candidates = top.map((x) => ({
    id: x.id,
    similarity: x.s,
    note: contradiction(cx, k, x.id) ?? 'no contradiction',
  }));
  const best = top[0];
  const second = top[1]?.s ?? -1;
  if (!best) {
    d.status = 'unmatched';
    d.reason = 'nothing to compare: the keeper has no vector (its preview failed) or no corpus photo has one';
  } else if (best.s >= t.link) {
    await aboveLink(cx, { k, d, best, second, burstPool });
  } else if (best.s >= t.link - 2 * t.margin && !contradiction(cx, k, best.id)) {
    await justBelowLink(cx, { k, d, best, second, burstPool });
  } else {
    d.status = 'unmatched';
    d.reason = `no corpus photo is similar enough (best ${best.s.toFixed(3)}, threshold ${t.link.toFixed(3)})`;
  }
}

/** The photographer's accepted links win over everything (with the similarity the scorer gives them). */
export async function applyAccepted(
  cx: RuleContext,
  keepers: readonly Keeper[],
  decided: ReadonlyMap<number, Decision>,
  scorer: PairScorer,
): Promise<void> {
  for (const k of keepers) {
    const a = cx.book.accepted(k);
    if (a === null || !cx.ix.photoById.has(a)) continue;
    const d = decided.get(k.id) as Decision;
    const s2 = (await scorer.score([[k.id, a]])).get(pairKey(k.id, a)) ?? null;
    Object.assign(d, {
      photo: a,
      status: 'matched',
      method: d.photo === a && d.method ? d.method : 'similarity',
      reason: 'accepted by the photographer',
      similarity: s2,
    });
  }
}
