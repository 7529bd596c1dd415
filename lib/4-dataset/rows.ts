/**
 * The rankers' inputs: one row per photo (and per augmented view of a training photo) holding the image model's
 * vector, the pixel descriptor and the context features, as one row-major Float32Array. Standardisation statistics
 * come from the training rows only and travel with the model (and into its ONNX graph).
 */
import type { Db } from '../db/duckdb.js';
import { CONTEXT_NAMES } from '../db/schema.js';
import {
  DESCRIPTOR_VERSION,
  isStaleDescriptor,
  LATER_DESCRIPTOR_NAMES,
  missingDescriptorColumns,
  WALK_DAY,
  WALK_MEASURES,
  WALK_NAMES,
} from '../db/vectors.js';
import { DESCRIPTOR_NAMES } from '../2-embed/descriptor.js';
import { readStoredVectors, type VectorSet } from '../2-embed/store.js';
import { ensureSplit, type SplitName, type SplitScheme } from './split.js';
import { decisionLabels, decisionsOutsideInbox } from '../db/decisions.js';
import { FluxError } from '../util/check.js';
import { PEOPLE_NAMES, peopleFeatures, runFamily } from './people.js';
import { derivedColumns } from './derived.js';

/**
 * What goes into a row. `context` alone is the metadata-only baseline; `+people` appends the detectors' people
 * columns (people.ts; NaN for a photo not yet examined).
 */
export const FEATURE_SETS = [
  'vector',
  'vector+descriptor',
  'vector+descriptor+context',
  'descriptor+context',
  'context',
  'vector+descriptor+context+people',
  'descriptor+context+people',
] as const;
export type FeatureSet = (typeof FEATURE_SETS)[number];

export const usesVector = (fs: FeatureSet): boolean => fs.startsWith('vector');
export const usesPeople = (fs: FeatureSet): boolean => fs.endsWith('+people');
export const usesDescriptor = (fs: FeatureSet): boolean => fs.includes('descriptor');
/** Whether a feature set's rows hold the walk's means of the descriptor (`walk_*`): with descriptor and context. */
export const usesWalk = (fs: FeatureSet): boolean => usesDescriptor(fs) && fs.includes('context');
/** The pixel descriptor version of a feature set's rows (this one's), or none when it reads no descriptor column. */
export const descriptorVersionOf = (fs: FeatureSet): number | undefined =>
  usesDescriptor(fs) ? DESCRIPTOR_VERSION : undefined;

/** The same feature set with the people columns appended, where there is one. */
export function withPeople(fs: FeatureSet): FeatureSet | null {
  const p = `${fs}+people`;
  return (FEATURE_SETS as readonly string[]).includes(p) ? (p as FeatureSet) : null;
}

/**
 * The people columns of a set by photo id (people.ts), each row `PEOPLE_NAMES.length` wide, and the detector runs
 * they come from; `personFamily` names the person model to read (a saved ranker's).
 */
async function peopleById(
  db: Db,
  set: 'photos' | 'inbox',
  personFamily?: string,
): Promise<{ byId: Map<number, Float32Array>; runs: PeopleRuns }> {
  const p = await peopleFeatures(db, set, personFamily === undefined ? {} : { personFamily });
  const w = PEOPLE_NAMES.length;
  const byId = new Map(p.ids.map((id, i) => [id, p.x.subarray(i * w, (i + 1) * w)]));
  return { byId, runs: { personModel: p.personModel, faceModel: p.faceModel } };
}

/** The detector runs people columns come from (`centernet@…`); null where none examined the photos. */
export interface PeopleRuns {
  personModel: string | null;
  faceModel: string | null;
}

/** Rows of features. */
export interface FeatureRows {
  featureSet: FeatureSet;
  /** Embedding model id, or null for sets without the vector. */
  modelId: string | null;
  ids: number[];
  views: number[];
  /** Row width. */
  dim: number;
  /** Column names: `v0..v{n-1}`, then descriptor, context, walk and people names, then the derived (derived.ts). */
  names: string[];
  x: Float32Array;
  /** With the people columns: the detector runs they come from. */
  people?: PeopleRuns;
}

/** Rows with labels, split and session: what training and evaluation need. */
export interface Dataset extends FeatureRows {
  scheme: SplitScheme;
  y: Uint8Array;
  split: SplitName[];
  /** Session index per row (into `sessions`). */
  session: Int32Array;
  sessions: string[];
  /** Capture time per row in seconds (camera clock), NaN when unknown; near misses of a burst or an hour use it. */
  time?: Float64Array;
  /** Corpus photos left out because they have no vector (failed previews). */
  missingVector: number;
  /** The seed the split was made with (the stored split keeps its own), and what was done to keep it current. */
  splitSeed: number;
  splitNote: string | null;
  /**
   * Training weight per row: 1 for corpus rows, `DECISION_WEIGHTS` for the photographer's review decisions.
   * Absent when every row weighs 1 (no decisions), so training is exactly what it was without them.
   */
  weight?: Float32Array;
  /** 1 for a row from a review decision (an inbox photo; always in `train`), 0 for a corpus row. */
  decided?: Uint8Array;
  /** The review decisions learned from, and those left out because the archive already holds the photo. */
  decisions?: DecisionCounts;
}

/**
 * The review decisions learned from, and those left out: the archive already holds the photo, it has no features,
 * or it is no longer in the inbox (absent when none is).
 */
export interface DecisionCounts {
  keep: number;
  reject: number;
  inArchive: number;
  noFeatures: number;
  notInInbox?: number;
}

/** The session name of a decided inbox photo of capture day `day`: its own walk, never one of the corpus. */
export const decisionSession = (day: string | null): string => `inbox:${day ?? 'undated'}`;
export const isDecisionSession = (session: string): boolean => session.startsWith('inbox:');

const DESC_TABLE_SET: Record<'photos' | 'inbox', VectorSet> = { photos: 'photos', inbox: 'inbox' };

/** Which rows {@link loadFeatures} reads. */
export interface LoadOptions {
  set: 'photos' | 'inbox';
  featureSet: FeatureSet;
  modelId: string | null;
  allViews?: boolean;
  /** The person model the people columns are read from (a saved ranker's); default the preferred one that ran. */
  personFamily?: string;
}

/**
 * Feature rows for a set of images (`photos` or `inbox`): view 0 only, or every view. Images without a vector are
 * left out when the feature set needs one; missing descriptor, context or people values (a photo no detector has
 * examined) are NaN, imputed at standardisation.
 */
export async function loadFeatures(db: Db, workspace: string, options: LoadOptions): Promise<FeatureRows> {
  const { set, featureSet } = options;
  const idCol = set === 'photos' ? 'photo_id' : 'inbox_id';
  const table = set === 'photos' ? 'photos' : 'inbox_photos';
  const ctxView = set === 'photos' ? 'photo_context' : 'inbox_context';
  const withDesc = usesDescriptor(featureSet);
  const withCtx = featureSet.includes('context');
  // the walk's weather and light (vectors.ts), over the walk the context view uses (WALK_DAY: only the photo's own
  // table has the columns it reads)
  const withWalk = usesWalk(featureSet);
  const withPeople = usesPeople(featureSet) ? await peopleById(db, set, options.personFamily) : null;
  const people = withPeople?.byId ?? null;
  const extra = [
    ...(withDesc ? DESCRIPTOR_NAMES : []),
    ...(withCtx ? CONTEXT_NAMES : []),
    ...(withWalk ? WALK_NAMES : []),
    ...(people ? PEOPLE_NAMES : []),
  ];
  const tableCols = extra.length - (people ? PEOPLE_NAMES.length : 0);
  const staleMessage = (what: string, columns: readonly string[]): string =>
    `${db.file}: ${what} computed before the columns ${columns.join(', ')}; run flux embed --db ` +
    `${db.file} to fill them in from the previews (the image model does not run again)`;
  const earlierMessage = (what: string): string =>
    `${db.file}: ${what} computed by an earlier version of the pixel descriptor (this is version ` +
    `${DESCRIPTOR_VERSION}); run flux embed --db ${db.file} to compute them again from the previews (the image ` +
    'model does not run again)';
  const missing = withDesc ? await missingDescriptorColumns(db) : [];
  const later = missing.filter((n) => n !== 'version');
  if (later.length) throw new FluxError(staleMessage('its pixel descriptors were', later));
  if (missing.length) throw new FluxError(earlierMessage('its pixel descriptors were'));
  const meta = await db.all<Record<string, number | null> & { id: number }>(`SELECT t.${idCol} AS id
    ${withDesc ? [...DESCRIPTOR_NAMES, 'version'].map((n) => `, d."${n}"`).join('') : ''}
    ${withCtx ? CONTEXT_NAMES.map((n) => `, c."${n}"`).join('') : ''}
    ${withWalk ? WALK_MEASURES.map((n, i) => `, avg(d."${n}") OVER walk AS "${WALK_NAMES[i]}"`).join('') : ''}
    FROM ${table} t
    ${withDesc ? `LEFT JOIN descriptors d ON d."set" = '${DESC_TABLE_SET[set]}' AND d.id = t.${idCol}` : ''}
    ${withCtx ? `LEFT JOIN ${ctxView} c ON c.${idCol} = t.${idCol}` : ''}
    ${withWalk ? `WINDOW walk AS (PARTITION BY coalesce(CAST(${WALK_DAY[set]} AS VARCHAR), 'photo ' || t.${idCol}))` : ''}
    ORDER BY t.${idCol}`);
  let ids: number[];
  let views: number[];
  let vdim = 0;
  let vectors: Float32Array | null = null;
  if (usesVector(featureSet)) {
    if (!options.modelId)
      throw new FluxError(`feature set ${featureSet} needs an embedding model (run flux embed with a model)`);
    const m = await readStoredVectors(workspace, options.modelId, set, options.allViews ? () => true : (v) => v === 0);
    // no vectors of a set that has nothing to embed (an inbox of unreadable files) is no rows, not a missing step
    if (m.ids.length === 0 && Number(await db.value(`SELECT count(*) FROM ${table} WHERE preview IS NOT NULL`)) > 0)
      throw new FluxError(
        `no ${options.modelId} vectors for ${set} under ${workspace}/embeddings: run flux embed first`,
      );
    ids = m.ids;
    views = m.views;
    vdim = m.dim;
    vectors = m.data;
  } else {
    ids = meta.map((r) => r.id);
    views = ids.map(() => 0);
  }
  const byId = new Map(meta.map((r) => [r.id, r]));
  const stale = withDesc ? meta.filter(isStaleDescriptor) : [];
  if (stale.length) {
    // the later columns those rows lack (a database can predate some of them and not others), else their version
    const empty = LATER_DESCRIPTOR_NAMES.filter((n) => stale.some((r) => r[n] == null));
    const what = `${stale.length} pixel descriptors of ${set} were`;
    throw new FluxError(empty.length ? staleMessage(what, empty) : earlierMessage(what));
  }
  // keep rows whose image is still in the table (a vector of a photo since removed is ignored)
  const keep: number[] = [];
  ids.forEach((id, i) => {
    if (byId.has(id)) keep.push(i);
  });
  const names = [...Array.from({ length: vdim }, (_, i) => `v${i}`), ...extra];
  // the derived columns (derived.ts) last, filled in place from each row's own values
  const derived = derivedColumns(names);
  const base = names.length;
  const dim = base + derived.names.length;
  const x = new Float32Array(keep.length * dim);
  keep.forEach((src, r) => {
    const o = r * dim;
    if (vectors) x.set(vectors.subarray(src * vdim, (src + 1) * vdim), o);
    const m = byId.get(ids[src] as number) as Record<string, number | null>;
    extra.slice(0, tableCols).forEach((n, j) => {
      const v = m[n];
      x[o + vdim + j] = v === null || v === undefined || !Number.isFinite(Number(v)) ? NaN : Number(v);
    });
    // people columns after them: NaN where the photo has not been examined
    if (people) x.fill(NaN, o + vdim + tableCols, o + base);
    const p = people?.get(ids[src] as number);
    if (p) x.set(p, o + vdim + tableCols);
    derived.fill(x.subarray(o, o + dim), base);
  });
  return {
    featureSet,
    modelId: usesVector(featureSet) ? options.modelId : null,
    ids: keep.map((i) => ids[i] as number),
    views: keep.map((i) => views[i] as number),
    dim,
    names: [...names, ...derived.names],
    x,
    ...(withPeople ? { people: withPeople.runs } : {}),
  };
}

/**
 * The labelled corpus: keeper (linked by matching) = 1, every other corpus photo = 0, with its split (made with
 * `seed` when the scheme has none yet, else the stored one, made again with its own seed if the corpus changed) and
 * session. Augmented views are included for training photos only.
 */
export async function loadDataset(
  db: Db,
  workspace: string,
  options: { featureSet: FeatureSet; modelId: string | null; scheme?: SplitScheme; seed?: number },
): Promise<Dataset> {
  const scheme = options.scheme ?? 'session';
  const current = await ensureSplit(db, { scheme, seed: options.seed ?? 7 });
  const labels = await db.all<{ id: number; keeper: boolean; split: SplitName; session: string; t: number | null }>(
    `SELECT p.photo_id AS id, coalesce(p.keeper, false) AS keeper,
    s.split, CAST(p.session_date AS VARCHAR) AS session, epoch(p.captured_at) AS t
    FROM photos p JOIN dataset_split s ON s.photo_id = p.photo_id AND s.scheme = ?`,
    [scheme],
  );
  const info = new Map(labels.map((l) => [l.id, l]));
  const rows = await loadFeatures(db, workspace, {
    set: 'photos',
    featureSet: options.featureSet,
    modelId: options.modelId,
    allViews: true,
  });
  const sessions = [...new Set(labels.map((l) => l.session))].sort();
  const sessionIndex = new Map(sessions.map((s, i) => [s, i]));
  const keep: number[] = [];
  rows.ids.forEach((id, i) => {
    const l = info.get(id);
    // augmented views serve training only
    if (l && (rows.views[i] === 0 || l.split === 'train')) keep.push(i);
  });
  const withVector = new Set(rows.ids);
  const out: Dataset = {
    ...rows,
    ...subsetRows(rows, keep),
    scheme,
    y: Uint8Array.from(keep, (i) => (info.get(rows.ids[i] as number)?.keeper ? 1 : 0)),
    split: keep.map((i) => (info.get(rows.ids[i] as number) as { split: SplitName }).split),
    session: Int32Array.from(
      keep,
      (i) => sessionIndex.get((info.get(rows.ids[i] as number) as { session: string }).session) as number,
    ),
    sessions,
    time: Float64Array.from(keep, (i) => Number(info.get(rows.ids[i] as number)?.t ?? NaN)),
    missingVector: labels.filter((l) => !withVector.has(l.id)).length,
    splitSeed: current.seed,
    splitNote: current.note,
  };
  return withDecisions(db, workspace, out, options);
}

/**
 * The photographer's review decisions appended as training rows (lib/db/decisions.ts): each decided inbox photo
 * with its features (view 0), label 1 for keep, 0 for reject, in `train` only (validation and test stay the
 * corpus walks, comparable from one training to the next), in a walk of its own (`inbox:<day>`, so a rejected frame
 * is a near miss of the frames kept that day), weighted `DECISION_WEIGHTS`. A photo whose bytes the archive already
 * holds (same sha256 as a corpus photo) is left out: the corpus labels it. No decisions: the dataset unchanged.
 */
async function withDecisions(
  db: Db,
  workspace: string,
  ds: Dataset,
  options: { featureSet: FeatureSet; modelId: string | null },
): Promise<Dataset> {
  const labels = await decisionLabels(db);
  const outside = await decisionsOutsideInbox(db);
  const notInInbox = outside ? { notInInbox: outside } : {};
  if (labels.size === 0)
    return outside ? { ...ds, decisions: { keep: 0, reject: 0, inArchive: 0, noFeatures: 0, ...notInInbox } } : ds;
  const inArchive = new Set(
    (
      await db.all<{ id: number }>(`SELECT i.inbox_id AS id FROM inbox_photos i
        WHERE i.sha256 IN (SELECT sha256 FROM photos)`)
    ).map((r) => r.id),
  );
  // the decided photos' people columns from the person model the corpus rows read
  const family = ds.people?.personModel ? runFamily(ds.people.personModel) : undefined;
  const feats = await loadFeatures(db, workspace, {
    set: 'inbox',
    featureSet: options.featureSet,
    modelId: options.modelId,
    ...(family ? { personFamily: family } : {}),
  }).catch((err: unknown) => {
    if (err instanceof FluxError && /no .* vectors for inbox/.test(err.message)) return null;
    throw err;
  });
  const pick: number[] = [];
  feats?.ids.forEach((id, i) => {
    if (labels.has(id) && !inArchive.has(id) && feats.views[i] === 0) pick.push(i);
  });
  const counted = [...labels.keys()].filter((id) => !inArchive.has(id)).length;
  const decisions = {
    keep: 0,
    reject: 0,
    inArchive: [...labels.keys()].filter((id) => inArchive.has(id)).length,
    noFeatures: counted - pick.length,
    ...notInInbox,
  };
  if (!feats || pick.length === 0) return { ...ds, decisions };
  if (feats.dim !== ds.dim) {
    throw new FluxError(
      `the decided inbox photos have ${feats.dim} features, the corpus ${ds.dim}: ` +
        'run flux embed on the inbox with the model of the corpus',
    );
  }
  const extra = subsetRows(feats, pick);
  const lab = pick.map((i) => labels.get(feats.ids[i] as number) as NonNullable<ReturnType<typeof labels.get>>);
  for (const l of lab) decisions[l.decision] += 1;
  const sessions = [...new Set([...ds.sessions, ...lab.map((l) => decisionSession(l.day))])].sort();
  const index = new Map(sessions.map((s, i) => [s, i]));
  const n = ds.ids.length;
  const x = new Float32Array((n + pick.length) * ds.dim);
  x.set(ds.x);
  x.set(extra.x, n * ds.dim);
  const session = new Int32Array(n + pick.length);
  ds.session.forEach((s, i) => (session[i] = index.get(ds.sessions[s] as string) as number));
  lab.forEach((l, j) => (session[n + j] = index.get(decisionSession(l.day)) as number));
  const weight = new Float32Array(n + pick.length).fill(1);
  lab.forEach((l, j) => (weight[n + j] = l.weight));
  const decided = new Uint8Array(n + pick.length).fill(1, n);
  const time = new Float64Array(n + pick.length).fill(NaN);
  if (ds.time) time.set(ds.time);
  return {
    ...ds,
    time,
    ids: [...ds.ids, ...extra.ids],
    views: [...ds.views, ...extra.views],
    x,
    y: Uint8Array.from([...ds.y, ...lab.map((l) => l.label)]),
    split: [...ds.split, ...lab.map((): SplitName => 'train')],
    session,
    sessions,
    weight,
    decided,
    decisions,
  };
}

/** The rows at the given indices. */
export function subsetRows(
  rows: Pick<FeatureRows, 'ids' | 'views' | 'dim' | 'x'>,
  idx: readonly number[],
): Pick<FeatureRows, 'ids' | 'views' | 'x'> {
  const x = new Float32Array(idx.length * rows.dim);
  idx.forEach((src, r) => x.set(rows.x.subarray(src * rows.dim, (src + 1) * rows.dim), r * rows.dim));
  return { ids: idx.map((i) => rows.ids[i] as number), views: idx.map((i) => rows.views[i] as number), x };
}

/** Per-column mean and standard deviation of the training rows; NaN values are skipped. */
export interface Standardizer {
  mean: Float32Array;
  std: Float32Array;
}

export function fitStandardizer(x: Float32Array, dim: number, rows: readonly number[]): Standardizer {
  const sum = new Float64Array(dim);
  const sq = new Float64Array(dim);
  const cnt = new Float64Array(dim);
  for (const r of rows) {
    for (let j = 0; j < dim; j++) {
      const v = x[r * dim + j] as number;
      if (Number.isNaN(v)) continue;
      sum[j] = (sum[j] as number) + v;
      sq[j] = (sq[j] as number) + v * v;
      cnt[j] = (cnt[j] as number) + 1;
    }
  }
  const mean = new Float32Array(dim);
  const std = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    const n = cnt[j] as number;
    const m = n > 0 ? (sum[j] as number) / n : 0;
    const v = n > 1 ? Math.max(0, (sq[j] as number) / n - m * m) : 0;
    mean[j] = m;
    std[j] = Math.sqrt(v) > 1e-6 ? Math.sqrt(v) : 1;
  }
  return { mean, std };
}

/** Standardised copy of the rows; NaN (missing) becomes 0, the training mean. */
export function standardize(x: Float32Array, dim: number, s: Standardizer): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % dim;
    const v = x[i] as number;
    out[i] = Number.isNaN(v) ? 0 : (v - (s.mean[j] as number)) / (s.std[j] as number);
  }
  return out;
}
