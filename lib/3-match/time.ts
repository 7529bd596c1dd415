/**
 * Capture-time arithmetic for matching: times as `YYYY-MM-DD HH:MM:SS.ffffff` text (DuckDB's strftime), seconds
 * since 1970 to the microsecond, days, and whether a candidate's time contradicts a keeper's.
 */

/** Seconds since 1970 of a `YYYY-MM-DD HH:MM:SS.ffffff` time, to the microsecond (cameras write up to 6 digits). */
export const epoch = (t: string): number =>
  Date.parse(`${t.slice(0, 19).replace(' ', 'T')}Z`) / 1000 + (t.length > 20 ? Number(`0${t.slice(19, 26)}`) : 0);

/** The inverse of {@link epoch}, to the microsecond, so a keeper's time compares equal to its original's. */
export const fromEpoch = (s: number): string => {
  const micros = Math.round(s * 1e6);
  const whole = Math.floor(micros / 1e6);
  const iso = new Date(whole * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${String(micros - whole * 1e6).padStart(6, '0')}`;
};

/** The day (`YYYY-MM-DD`) of a time. */
export const dayOf = (t: string): string => t.slice(0, 10);

/** The day `n` days after `day`. */
export const addDays = (day: string, n: number): string =>
  new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** Frames shot this close to a link's photo are the ones a time or name could be confused with (a burst). */
export const BURST_SECONDS = 5;

/** Whether a time carries a sub-second other than zero (`.000000` may as well be a camera that wrote none). */
export const hasFraction = (t: string): boolean => /\.\d*[1-9]/.test(t.slice(19));

/**
 * Whether a candidate's capture time contradicts the keeper's (seconds since 1970, the keeper's after its walk's
 * clock offset). A keeper with a sub-second names one frame of a burst: its original has that sub-second. A keeper
 * without one names the second: its original lies within it.
 */
export function timeContradicts(keeperT: string, keeperEpoch: number, photoEpoch: number): boolean {
  const d = photoEpoch - keeperEpoch;
  return hasFraction(keeperT) ? Math.abs(d) > 0.02 : d < -0.02 || d >= 1;
}
