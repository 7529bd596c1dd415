/**
 * Clear technical failures, something no photographer keeps: black or badly underexposed frames, dark frames of one
 * colour, blown-out frames, nothing in focus. Judged from the pixel descriptor alone; they score 0.0 with the reason.
 */

/**
 * Descriptor limits of a clear technical failure, something no photographer keeps. A dark or light frame counts as
 * black or white only when it is also nearly featureless (tiny tonal range and contrast), so night scenes, fog and
 * high-key photographs stay; a frame whose mean is almost white, or mostly clipped white, is blown out.
 */
export const FAILURE_RULES = {
  featureless: { dynamicRange: 0.16, contrast: 0.04 },
  /** Mean luma (0..1) below which a featureless frame is black; above `white` it is white. */
  black: 0.35,
  /**
   * A dark frame with lights in it (a night street, lit windows) is a photograph, not a black frame: its brightest
   * 1% reach at least `range` above the darkest, and at least `ratio` times its mean. Underexposure keeps the
   * brightest near the mean (1.5-5 times in real photographs darkened 3-4 stops).
   */
  lit: { range: 0.12, ratio: 8 },
  white: 0.85,
  /** Mean luma above which any frame is blown out. */
  blownOut: 0.94,
  /** Mean luma and clipped share that together are blown out. */
  bright: { brightness: 0.9, clipWhite: 0.7 },
  /** Share of clipped white pixels that is blown out whatever else. */
  clipWhite: 0.9,
  /**
   * Sharpness (log Laplacian energy) below this: no edge anywhere, nothing in focus at all. Deliberately strict: a
   * blurred street scene (motion, a missed focus the photographer liked) keeps its model score.
   */
  sharpness: 0.3,
  /**
   * A dark featureless frame of one colour (sky, a wall), not black: saturated and colourful. Saturation alone is not
   * enough, since the noise of near-black pixels is "saturated"; colourfulness (opponent channels) is not fooled.
   */
  tinted: { saturation: 0.25, colourfulness: 0.1 },
};

/** Why a photo is a clear technical failure, or null. `d` maps descriptor names to values. */
export function failureReason(d: Record<string, number>): string | null {
  const b = d.brightness as number,
    dr = d.dynamic_range as number,
    c = d.contrast as number,
    cw = d.clip_white as number,
    sh = d.sharpness as number;
  if (![b, dr, c, cw, sh].every(Number.isFinite)) return null;
  const r = FAILURE_RULES;
  const featureless = dr < r.featureless.dynamicRange && c < r.featureless.contrast;
  const lit = dr >= r.lit.range && dr >= r.lit.ratio * b;
  if (featureless && b < r.black && !lit) {
    const tinted = (d.saturation ?? 0) > r.tinted.saturation && (d.colourfulness ?? 0) > r.tinted.colourfulness;
    const what = tinted
      ? `dark featureless frame of one colour (saturation ${(d.saturation as number).toFixed(2)}, `
      : 'black or badly underexposed frame (';
    return `${what}brightness ${b.toFixed(3)}, tonal range ${dr.toFixed(3)})`;
  }
  if (
    (featureless && b > r.white) ||
    b > r.blownOut ||
    (b > r.bright.brightness && cw > r.bright.clipWhite) ||
    cw > r.clipWhite
  ) {
    return `blown-out frame (brightness ${b.toFixed(3)}, ${(cw * 100).toFixed(0)}% clipped white)`;
  }
  if (sh < r.sharpness) return `nothing in focus (sharpness ${sh.toFixed(3)})`;
  return null;
}
