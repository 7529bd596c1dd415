/**
 * File names and folder dates: Ricoh camera names (`R0001234.JPG`), canonical keeper names
 * (`2022-01-15_13-22-44_DanteSisofo_R0001234.JPG`) and the `YYYY-MM-DD` day folder of the archive layout.
 */

/** A Ricoh camera file name, anywhere in a base name (`R0001234.JPG`, `R0001234-1.JPG`, `..._R0001234.JPG`). */
const RICOH = /(?:^|[_\s-])(R\d{7})(?=[._\s(-])/i;
const RICOH_EXACT = /^R\d{7}\.jpe?g$/i;
// a copy suffix (`-2`, ` (2)`) after the camera name is allowed: file managers add it to duplicates
const CANONICAL =
  /^(\d{4})-(\d{2})-(\d{2})_(\d{2})-(\d{2})-(\d{2})_(.+)_(R\d{7})(?:-\d{1,3}| ?\(\d{1,3}\))?\.(jpe?g)$/i;
const DAY = /(?:^|\/)(\d{4})-(\d{2})-(\d{2})(?:\/|$)/;

/** The fields of a canonical keeper name. */
export interface CanonicalName {
  /** Camera-local time from the name, `YYYY-MM-DD HH:MM:SS`. */
  capturedAt: string;
  author: string;
  /** The Ricoh file name, upper-cased: `R0001234.JPG`. */
  originalFilename: string;
}

/** True when the numbers form a real calendar date and clock time. */
export function isValidDateTime(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): boolean {
  if (y < 1970 || y > 2100 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= days;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** The Ricoh name inside a base name, normalised to `R0001234.JPG`, or null. */
export function ricohName(basename: string): string | null {
  const m = RICOH.exec(basename);
  return m ? `${(m[1] as string).toUpperCase()}.JPG` : null;
}

/** True for a plain camera name such as `R0001234.JPG` (not a copy like `R0001234-1.JPG`). */
export function isPlainRicohName(basename: string): boolean {
  return RICOH_EXACT.test(basename);
}

/** Parses a canonical keeper name; null when the name is not canonical or its date is impossible. */
export function parseCanonicalName(basename: string): CanonicalName | null {
  const m = CANONICAL.exec(basename);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!isValidDateTime(y, mo, d, h, mi, s)) return null;
  return {
    capturedAt: `${pad(y, 4)}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}`,
    author: m[7] as string,
    originalFilename: `${(m[8] as string).toUpperCase()}.JPG`,
  };
}

/** The canonical keeper name for a time, author and Ricoh name. */
export function canonicalName(capturedAt: string, author: string, originalFilename: string): string {
  const stamp = capturedAt.slice(0, 19).replace(' ', '_').replace(/:/g, '-');
  return `${stamp}_${author}_${originalFilename}`;
}

/** The `YYYY-MM-DD` of the deepest day folder in a relative path, or null. */
export function folderDate(relPath: string): string | null {
  const parts = relPath.split('/').slice(0, -1).reverse();
  for (const part of parts) {
    const m = DAY.exec(part);
    if (m && isValidDateTime(Number(m[1]), Number(m[2]), Number(m[3]))) return `${m[1]}-${m[2]}-${m[3]}`;
  }
  return null;
}

/** The archive folder of a day: `YYYY/YYYY-MM/YYYY-MM-DD`. */
export function dayFolder(date: string): string {
  return `${date.slice(0, 4)}/${date.slice(0, 7)}/${date.slice(0, 10)}`;
}
