/**
 * Columns derived from the stored ones, as a photographer would name what the raw measures only imply: how far the
 * exposure lies from mid-grey in stops, how far the horizon is off level, the light of the day at twice the rhythm of
 * the clock (morning and evening light apart from noon and night), an empty frame's flatness and a lit person's
 * light. Fixed functions of one photo's own values (nothing fitted on other photos), so training and scoring
 * compute them alike; a derived column is present when every column it reads is.
 */
import { CONTEXT_NAMES, WALK_NAMES } from '../db/vectors.js';
import { PEOPLE_NAMES } from './people.js';

/** The group a column belongs to, which decides the feature sets that select it. */
export type ColumnGroup = 'vector' | 'descriptor' | 'context' | 'people';

interface Derived {
  name: string;
  group: ColumnGroup;
  inputs: readonly string[];
  f: (v: readonly number[]) => number;
}

/** Mid-grey on the 0..1 luma scale (18% reflectance in sRGB). */
const MID_GREY = 0.46;
const stops = (b: number): number => Math.log2(Math.max(b, 1 / 255) / MID_GREY);

export const DERIVED: readonly Derived[] = [
  // exposure in stops from mid-grey, under and over apart (a black and a blown frame are both mistakes)
  { name: 'under_stops', group: 'descriptor', inputs: ['brightness'], f: ([b]) => Math.max(0, -stops(b as number)) },
  { name: 'over_stops', group: 'descriptor', inputs: ['brightness'], f: ([b]) => Math.max(0, stops(b as number)) },
  // a horizon off level, either way, and weighed by how clearly the frame shows one
  { name: 'tilt_abs', group: 'descriptor', inputs: ['tilt_deg'], f: ([t]) => Math.abs(t as number) },
  {
    name: 'tilt_abs_clear',
    group: 'descriptor',
    inputs: ['tilt_deg', 'tilt_strength'],
    f: ([t, s]) => Math.abs(t as number) * (s as number),
  },
  // the hour at twice the clock's rhythm: low sun morning and evening against noon and night
  {
    name: 'hour_sin2',
    group: 'context',
    inputs: ['hour_sin', 'hour_cos'],
    f: ([s, c]) => 2 * (s as number) * (c as number),
  },
  {
    name: 'hour_cos2',
    group: 'context',
    inputs: ['hour_sin', 'hour_cos'],
    f: ([s, c]) => (c as number) ** 2 - (s as number) ** 2,
  },
  // an empty frame's tonal spread: a frame with nobody in it and flat light holds nothing
  {
    name: 'people_none_contrast',
    group: 'people',
    inputs: ['people_none', 'contrast'],
    f: ([n, c]) => (n as number) * (c as number),
  },
  {
    name: 'people_none_range',
    group: 'people',
    inputs: ['people_none', 'dynamic_range'],
    f: ([n, r]) => (n as number) * (r as number),
  },
  // a person lit against the frame in hard light, and people in a frame of strong tones
  {
    name: 'people_lit_contrast',
    group: 'people',
    inputs: ['people_light_max', 'contrast'],
    f: ([l, c]) => Math.max(0, l as number) * (c as number),
  },
  {
    name: 'people_some_contrast',
    group: 'people',
    inputs: ['people_none', 'contrast'],
    f: ([n, c]) => (1 - (n as number)) * (c as number),
  },
];

const CONTEXT = new Set([...CONTEXT_NAMES, ...WALK_NAMES]);
const PEOPLE = new Set<string>(PEOPLE_NAMES);
const GROUP_OF = new Map(DERIVED.map((d) => [d.name, d.group]));

/** The group of a column by its name: `v0..` the vector, then context, people, else the descriptor. */
export function columnGroup(name: string): ColumnGroup {
  if (/^v\d+$/.test(name)) return 'vector';
  const derived = GROUP_OF.get(name);
  if (derived) return derived;
  if (CONTEXT.has(name)) return 'context';
  if (PEOPLE.has(name)) return 'people';
  return 'descriptor';
}

/**
 * The derived columns that rows of these columns get (those whose inputs are all present, in `DERIVED` order): their
 * names, and `fill`, which writes them into a row from position `at` on; a missing input value (NaN) gives NaN.
 */
export function derivedColumns(names: readonly string[]): {
  names: string[];
  fill: (row: Float32Array, at: number) => void;
} {
  const index = new Map(names.map((n, i) => [n, i]));
  const add = DERIVED.filter((d) => d.inputs.every((i) => index.has(i)));
  const cols = add.map((d) => d.inputs.map((i) => index.get(i) as number));
  const fill = (row: Float32Array, at: number): void =>
    add.forEach((d, j) => {
      const v = (cols[j] as number[]).map((c) => row[c] as number);
      row[at + j] = v.some(Number.isNaN) ? NaN : d.f(v);
    });
  return { names: add.map((d) => d.name), fill };
}

/** Rows with their derived columns appended (a copy; the dataset builder fills them in place instead). */
export function withDerived(
  names: readonly string[],
  x: Float32Array,
  dim: number,
): { names: string[]; x: Float32Array; dim: number } {
  const plan = derivedColumns(names);
  if (!plan.names.length) return { names: [...names], x, dim };
  const n = dim ? x.length / dim : 0;
  const w = dim + plan.names.length;
  const out = new Float32Array(n * w);
  for (let r = 0; r < n; r++) {
    out.set(x.subarray(r * dim, (r + 1) * dim), r * w);
    plan.fill(out.subarray(r * w, (r + 1) * w), dim);
  }
  return { names: [...names, ...plan.names], x: out, dim: w };
}
