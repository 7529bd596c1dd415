/**
 * Clock offsets: a camera whose clock was set wrong moves every time of a walk by the same whole seconds. Per
 * keeper walk, the delta (keeper time minus linked photo time) most metadata links agree on is the walk's offset.
 */
import type { ClockOffset, Decision } from './types.js';
import { sessionKey, type Keeper } from './candidates.js';

/**
 * The offsets of the walks where at least two links, and 60% of them, agree on one delta other than 0. `votes`
 * gives a keeper's metadata decision without an offset.
 */
export function clockOffsets(keepers: readonly Keeper[], votes: (k: Keeper) => Decision): Map<string, ClockOffset> {
  const offsets = new Map<string, ClockOffset>();
  const groups = new Map<string, number[]>();
  for (const k of keepers) {
    const key = sessionKey(k);
    if (!key) continue;
    const v = votes(k);
    if (v.photo === null || v.delta === null) continue;
    const group = groups.get(key);
    if (group) group.push(v.delta);
    else groups.set(key, [v.delta]);
  }
  for (const [key, deltas] of groups) {
    // a clock set wrong moves every time by whole seconds and keeps the sub-second; a keeper that lost its
    // sub-second is behind its frame by a fraction (delta = offset - fraction): its vote is the whole second above,
    // so 0.75 s early is no offset and an hour less 0.35 s is an hour
    const rounded = deltas.map((x) => (Math.abs(x - Math.round(x)) <= 0.02 ? Math.round(x) : Math.ceil(x)));
    const counts = new Map<number, number>();
    for (const r of rounded) counts.set(r, (counts.get(r) ?? 0) + 1);
    const [best, n] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] as [number, number];
    if (best !== 0 && n >= 2 && n / deltas.length >= 0.6) {
      offsets.set(key, { seconds: best, links: deltas.length, agreeing: n });
    }
  }
  return offsets;
}

/** The largest clock offset a keeper is taken to carry: time zones reach 14 hours. */
const MAX_OFFSET = 14 * 3600;

/**
 * The clock offset recorded on a keeper: its own, when the metadata linked it across a whole number of minutes
 * (a clock set to another time zone, a link by camera name across midnight), else its walk's.
 */
export function keeperOffset(d: Decision, walk: number): number {
  if (d.status !== 'matched' || d.delta === null || (d.method !== 'exif' && d.method !== 'filename')) return walk;
  const own = Math.abs(d.delta - Math.round(d.delta)) <= 0.02 ? Math.round(d.delta) : Math.ceil(d.delta);
  return own !== 0 && own % 60 === 0 && Math.abs(own) <= MAX_OFFSET ? own : walk;
}
