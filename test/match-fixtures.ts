/** Corpus photos and keeper files as the matcher sees them, for tests of its rules on hand-made archives. */
import type { Keeper, Photo } from '../lib/3-match/candidates.js';

export const GR3 = 'RICOH GR III';
export const GR3X = 'RICOH GR IIIx';
export const photo = (id: number, t: string, name: string | null, model: string | null = GR3): Photo => ({
  id,
  t,
  name,
  day: t.slice(0, 10),
  sha: `p${id}`,
  path: `2022/2022-01/${t.slice(0, 10)}/${name ?? `frame${id}.JPG`}`,
  preview: null,
  model,
});
export const keeper = (
  id: number,
  t: string | null,
  name: string | null,
  model: string | null,
  nameT?: string,
): Keeper => ({
  id,
  path: `k${id}.JPG`,
  sha: `k${id}`,
  t,
  nameT: nameT ?? null,
  name,
  folderDay: null,
  model,
  preview: null,
  status: null,
  matched: null,
  method: null,
});
