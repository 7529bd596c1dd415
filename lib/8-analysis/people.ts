/**
 * Keeper density by who is in the frame: the corpus photos a person detector has examined, grouped by the number of
 * people found and by the largest person's size class (the `people` columns of lib/4-dataset/people.ts).
 */
import type { Db } from '../db/duckdb.js';
import { PEOPLE_NAMES, peopleFeatures } from '../4-dataset/people.js';

export interface DensityRow {
  group: string;
  photos: number;
  keepers: number;
  /** keepers / photos (null for an empty group). */
  density: number | null;
}

export interface PeopleDensity {
  /** The person model the counts come from; photos it examined and those it has not. */
  personModel: string | null;
  examined: number;
  notExamined: number;
  byCount: DensityRow[];
  bySize: DensityRow[];
}

export const COUNT_GROUPS = ['no one', '1 person', '2 people', '3 or more'] as const;
export const SIZE_GROUPS = ['no one', 'far (< 0.15 of the frame)', 'middle (0.15 to 0.4)', 'near (>= 0.4)'] as const;

const countGroup = (n: number): number => Math.min(3, n);
const sizeGroup = (h: number, n: number): number => (n === 0 ? 0 : h < 0.15 ? 1 : h < 0.4 ? 2 : 3);

/** The breakdown; null when no corpus photo has been through a person detector. */
export async function peopleDensity(db: Db): Promise<PeopleDensity | null> {
  const f = await peopleFeatures(db, 'photos');
  if (f.notExamined === f.ids.length) return null;
  const keeper = new Set(
    (await db.all<{ id: number }>('SELECT photo_id AS id FROM photos WHERE keeper')).map((r) => Number(r.id)),
  );
  const w = PEOPLE_NAMES.length;
  const [count, height] = [PEOPLE_NAMES.indexOf('people_count'), PEOPLE_NAMES.indexOf('people_max_height')];
  const tally = (n: number): Array<{ photos: number; keepers: number }> =>
    Array.from({ length: n }, () => ({ photos: 0, keepers: 0 }));
  const byCount = tally(COUNT_GROUPS.length);
  const bySize = tally(SIZE_GROUPS.length);
  f.ids.forEach((id, i) => {
    const n = f.x[i * w + count] as number;
    if (Number.isNaN(n)) return;
    const k = keeper.has(id) ? 1 : 0;
    for (const t of [byCount[countGroup(n)], bySize[sizeGroup(f.x[i * w + height] as number, n)]]) {
      if (!t) continue;
      t.photos += 1;
      t.keepers += k;
    }
  });
  const rows = (groups: readonly string[], t: typeof byCount): DensityRow[] =>
    groups.map((group, g) => {
      const { photos, keepers } = t[g] as { photos: number; keepers: number };
      return { group, photos, keepers, density: photos ? keepers / photos : null };
    });
  return {
    personModel: f.personModel,
    examined: f.ids.length - f.notExamined,
    notExamined: f.notExamined,
    byCount: rows(COUNT_GROUPS, byCount),
    bySize: rows(SIZE_GROUPS, bySize),
  };
}
