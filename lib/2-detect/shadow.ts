/**
 * A person's cast shadow, read at the feet. In hard sun a standing person throws a dark strip along the lit ground
 * from where he stands; in shade, or under a grey sky, there is none. The descriptor's `cast_shadow` looks for such a
 * strip anywhere in the lower half of the frame (and also finds dark windows there); anchored at a person box's
 * bottom edge the same test asks whether this person stands in the sun.
 */
import type { Rgb } from './run.js';

/** A shadow pixel is darker than this share of the ground a few rows below it. */
const SHADE = 0.6;
/** The reference ground must be lit at least this much (luma 0..255): no shadow is read on a black street. */
const LIT = 25;
/** How far either side of the box's centre a shadow may reach, in box heights. */
const REACH = 1.2;
/** A run counts when it reaches the feet: overlaps this many box heights either side of the centre. */
const FEET = 0.15;
/** Rows above and below the box's bottom edge searched (the edge of a box is a few pixels off). */
const ROWS = 3;
/** Runs shorter than this many pixels are noise. */
const MIN_RUN = 3;

type Box = { x: number; y: number; w: number; h: number };

/**
 * The longest shadow run at a person's feet over the box height (0: none). In each row from `ROWS` above to `ROWS`
 * below the box's bottom edge, the runs of pixels darker than `SHADE` of the pixel a few rows further down (the
 * ground past a thin strip: 5% of the box height and 2 more rows, at least 3), that pixel lit; within `REACH` box
 * heights either side of the centre. A run counts when it overlaps the feet (`FEET` box heights either side of the
 * centre) and is `MIN_RUN` pixels or longer. Either direction: the sun may stand on either side. On the sample
 * archive a lit person's shadow is 0.9 of his height times the sun's hardness (0..1).
 */
export function feetShadow(img: Rgb, box: Box): number {
  const { data, width: w, height: h } = img;
  const fh = box.h * h;
  if (fh < 4) return 0;
  const lum = (x: number, y: number): number => {
    const o = (y * w + x) * 3;
    return 0.299 * (data[o] as number) + 0.587 * (data[o + 1] as number) + 0.114 * (data[o + 2] as number);
  };
  const cx = Math.round((box.x + box.w / 2) * w);
  const bottom = Math.round((box.y + box.h) * h);
  const below = Math.max(3, Math.round(0.05 * fh) + 2);
  const [a0, a1] = [cx - Math.round(FEET * fh), cx + Math.round(FEET * fh)];
  const [x0, x1] = [Math.max(0, cx - Math.round(REACH * fh)), Math.min(w - 1, cx + Math.round(REACH * fh))];
  let longest = 0;
  for (let y = Math.max(0, bottom - ROWS); y <= Math.min(h - 1 - below, bottom + ROWS); y++) {
    let start = -1;
    for (let x = x0; x <= x1 + 1; x++) {
      const ref = x <= x1 ? lum(x, y + below) : 0;
      if (x <= x1 && ref > LIT && lum(x, y) < SHADE * ref) {
        if (start < 0) start = x;
        continue;
      }
      // a run ends at x - 1: it counts when it reaches the feet
      if (start >= 0 && start <= a1 && x - 1 >= a0) longest = Math.max(longest, x - start);
      start = -1;
    }
  }
  return longest >= MIN_RUN ? longest / Math.max(8, fh) : 0;
}
