/**
 * Clock offsets: a camera whose clock was set wrong moves every time by the same whole seconds until it is set
 * again. Per camera and period (its keepers' own times, a new period after a pause of more than six hours, so a walk
 * across midnight is one period), the delta (keeper time minus linked photo time) most metadata links agree on is
 * the period's offset, and it applies to every walk (keeper day and camera) of the period.
 */
import type { ClockOffset, Decision } from './types.js';
import { keeperTime, sessionKey, type Keeper } from './candidates.js';
import { epoch } from './time.js';

/** A pause longer than this (seconds) between a camera's keepers starts a new period. */
const PERIOD_GAP = 6 * 3600;

/**
 * The keepers grouped by camera and period: per camera, those with a time in time order, split at each pause of
 * more than six hours; those without a time by their folder day.
 */
export function clockPeriods(keepers: readonly Keeper[]): Keeper[][] {
  const byCamera = new Map<string, Keeper[]>();
  const undated = new Map<string, Keeper[]>();
  for (const k of keepers) {
    const key = sessionKey(k);
    if (!key) continue;
    const into = keeperTime(k) ? byCamera : undated;
    const group = keeperTime(k) ? (k.model ?? '') : key;
    into.set(group, [...(into.get(group) ?? []), k]);
  }
  const periods: Keeper[][] = [...undated.values()];
  for (const ks of byCamera.values()) {
    const timed = ks.map((k) => ({ k, t: epoch(keeperTime(k) as string) })).sort((a, b) => a.t - b.t);
    let period: Keeper[] = [];
    let last = -Infinity;
    for (const { k, t } of timed) {
      if (t - last > PERIOD_GAP && period.length) {
        periods.push(period);
        period = [];
      }
      period.push(k);
      last = t;
    }
    if (period.length) periods.push(period);
  }
  return periods;
}

/** The delta at least two links, and 60% of them, agree on, when it is not 0. */
function agreedOffset(deltas: readonly number[]): ClockOffset | null {
  if (deltas.length === 0) return null;
  // a clock set wrong moves every time by whole seconds and keeps the sub-second; a keeper that lost its
  // sub-second is behind its frame by a fraction (delta = offset - fraction): its vote is the whole second above,
  // so 0.75 s early is no offset and an hour less 0.35 s is an hour
  const rounded = deltas.map((x) => (Math.abs(x - Math.round(x)) <= 0.02 ? Math.round(x) : Math.ceil(x)));
  const counts = new Map<number, number>();
  for (const r of rounded) counts.set(r, (counts.get(r) ?? 0) + 1);
  const [best, n] = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0] as [number, number];
  return best !== 0 && n >= 2 && n / deltas.length >= 0.6 ? { seconds: best, links: deltas.length, agreeing: n } : null;
}

/**
 * The offsets of the walks (keyed `day|camera`, see `sessionKey`) whose camera and period has at least two links,
 * and 60% of them, agreeing on one delta other than 0. `votes` gives a keeper's metadata decision without an
 * offset.
 */
export function clockOffsets(keepers: readonly Keeper[], votes: (k: Keeper) => Decision): Map<string, ClockOffset> {
  const offsets = new Map<string, ClockOffset>();
  for (const period of clockPeriods(keepers)) {
    const deltas: number[] = [];
    for (const k of period) {
      const v = votes(k);
      if (v.photo !== null && v.delta !== null) deltas.push(v.delta);
    }
    const found = agreedOffset(deltas);
    if (!found) continue;
    for (const k of period) offsets.set(sessionKey(k) as string, found);
  }
  return new Map([...offsets.entries()].sort((a, b) => a[0].localeCompare(b[0])));
}

/** The largest clock offset a keeper is taken to carry: time zones reach 14 hours. */
const MAX_OFFSET = 14 * 3600;

/**
 * The clock offset recorded on a keeper: its own, when the metadata linked it across a whole number of minutes
 * (a clock set to another time zone, a link by camera name across midnight) or at none (linked as its clock reads
 * in a walk whose clock was off elsewhere), else its walk's.
 */
export function keeperOffset(d: Decision, walk: number): number {
  if (d.status !== 'matched' || d.delta === null || (d.method !== 'exif' && d.method !== 'filename')) return walk;
  const own = Math.abs(d.delta - Math.round(d.delta)) <= 0.02 ? Math.round(d.delta) : Math.ceil(d.delta);
  // (-0, a lost sub-second's ceiling, is 0)
  return own % 60 === 0 && Math.abs(own) <= MAX_OFFSET ? own || 0 : walk;
}
