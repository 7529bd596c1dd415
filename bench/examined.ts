/**
 * A helper of the people benches (not a bench): the rows of the walks whose every photo a person detector has
 * examined, so a detection run still under way, or stopped, is measured on whole walks without imputed rows.
 */
import { subsetRows, type Dataset } from '../lib/4-dataset/rows.js';
import { PEOPLE_NAMES } from '../lib/4-dataset/people.js';

export function examinedWalks<T extends Dataset>(ds: T): T {
  const col = ds.names.indexOf(PEOPLE_NAMES[0]);
  if (col < 0) throw new Error(`examinedWalks: the rows have no ${PEOPLE_NAMES[0]} column (${ds.featureSet})`);
  const open = new Set<number>();
  ds.ids.forEach((_, r) => {
    if (Number.isNaN(ds.x[r * ds.dim + col] as number)) open.add(ds.session[r] as number);
  });
  const keep = ds.ids.flatMap((_, r) => (open.has(ds.session[r] as number) ? [] : [r]));
  return {
    ...ds,
    ...subsetRows(ds, keep),
    y: Uint8Array.from(keep, (r) => ds.y[r] as number),
    split: keep.map((r) => ds.split[r]) as Dataset['split'],
    session: Int32Array.from(keep, (r) => ds.session[r] as number),
  };
}
