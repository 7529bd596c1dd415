/**
 * `flux match`: link every keeper file to its original in the corpus, by the cascade EXIF time -> Ricoh filename ->
 * SHA-256 -> image similarity, never labelling a wrong photo. What the cascade cannot decide goes to review.
 *
 * Safety rules, beyond the cascade:
 * - a byte-identical file (SHA-256) is definitive and overrides names and times;
 * - a candidate whose camera name or capture time contradicts the keeper's (after the session's clock offset) is
 *   never linked by similarity: a burst sibling has another frame number and another sub-second;
 * - a similarity link needs the calibrated threshold and a clear margin over the second-best candidate.
 *
 * The parts: candidates.ts (index, metadata steps, day windows), offsets.ts (clock offsets), calibration.ts
 * (thresholds from the archive), rules.ts (vetoes and link decisions), vectors.ts (similarity), review.ts (the
 * review sheet and decisions); the tables are lib/db/matching.ts.
 */
import type { Db } from '../db/duckdb.js';
import { ensureSchema, workspaceOf } from '../db/schema.js';
import {
  corpusDuplicates,
  ensureMatchSchema,
  keeperMatches,
  matchDecisions,
  matchKeepers,
  matchPhotos,
  unreadableKeepers,
  writeMatchRun,
  writeVerifications,
  writeVerifyCalibration,
} from '../db/matching.js';
import { defaultModel } from '../2-embed/models.js';
import { modelWithVectors, vectorGlob } from '../2-embed/store.js';
import { FluxError } from '../util/check.js';
import { throttle } from '../util/progress.js';
import type { ClockOffset, Decision, MatchOptions, MatchReport, Thresholds } from './types.js';
import {
  burstNeighbours,
  decisionBook,
  indexCorpus,
  metadataSteps,
  offsetOf,
  similarityCandidates,
  type CorpusIndex,
  type DecisionBook,
  type Keeper,
  walkOf,
  type Scored,
} from './candidates.js';
import { clockOffsets, keeperOffset } from './offsets.js';
import { calibrate, calibrationEvidence, thumbnailBar } from './calibration.js';
import { applyAccepted, contradiction, decideBySimilarity, vetoMetadataLinks, type RuleContext } from './rules.js';
import {
  applyVerdict,
  calibrateVerification,
  isVetoedLink,
  previewCache,
  restoreVerifiedLink,
  settleTie,
  verificationRow,
  verifyAgainst,
  verifyFloor,
  type PreviewCache,
} from './verification.js';
import { WORK_SIZE } from './verify.js';
import { modelScorer, thumbnailScorer, type PairScorer } from './vectors.js';

export * from './types.js';
export { timeContradicts } from './time.js';
export { calibrate } from './calibration.js';
export { unreadableKeepers } from '../db/matching.js';

/** The keepers this run decides: new, undecided, linked to a photo that is gone, or revisited by a decision. */
function keepersToDecide(ix: CorpusIndex, book: DecisionBook, keepers: readonly Keeper[], all: boolean): Keeper[] {
  // ... revisited: its link rejected, no original, another accepted since
  const revisited = (k: Keeper): boolean =>
    k.matched !== null &&
    (book.rejected(k, k.matched) || book.noOriginal(k) || (book.accepted(k) ?? k.matched) !== k.matched);
  return keepers.filter(
    (k) =>
      all ||
      k.status === null ||
      k.status !== 'matched' ||
      k.matched === null ||
      !ix.photoById.has(k.matched) ||
      revisited(k),
  );
}

/** The model whose vectors the similarity step uses, or null for thumbnails; refuses a model without vectors. */
function similarityModel(db: Db, workspace: string, model: string | undefined): string | null {
  const has = (id: string): boolean =>
    Boolean(vectorGlob(workspace, id, 'photos') && vectorGlob(workspace, id, 'keepers'));
  const modelId = model ?? modelWithVectors(workspace, defaultModel()?.spec.id ?? null, ['photos', 'keepers']);
  if (modelId && !has(modelId)) {
    throw new FluxError(
      `--model: no vectors of ${modelId} yet; ` + `run flux embed --db ${db.file} --model ${modelId} first`,
    );
  }
  return modelId;
}

/** The vector scorers: the model's (else thumbnails), and thumbnails as the second look when a model leads. */
interface Scorers {
  scorer: PairScorer;
  thumbs: PairScorer;
  modelId: string | null;
}

/** Keepers linked by the metadata steps (this run's decisions, else the stored ones), and their photo. */
function metadataLinked(
  ix: CorpusIndex,
  keepers: readonly Keeper[],
  decided: ReadonlyMap<number, Decision>,
): { linked: Keeper[]; photoOf: (k: Keeper) => number } {
  const linked = keepers.filter((k) => {
    const d = decided.get(k.id);
    return d
      ? d.photo !== null && d.method !== 'similarity'
      : k.status === 'matched' && k.method !== 'similarity' && k.matched !== null && ix.photoById.has(k.matched);
  });
  // taken now: a later rule may doubt a link, the evidence stays what the metadata said
  const photos = new Map(linked.map((k) => [k.id, (decided.get(k.id)?.photo ?? k.matched) as number]));
  return { linked, photoOf: (k) => photos.get(k.id) as number };
}

/**
 * Thresholds from the metadata links (steps 1-3 only, so a re-run sees the same evidence as the first run), and
 * the second look's bar when the similarity step has work and a model leads.
 */
async function learnThresholds(
  ix: CorpusIndex,
  keepers: readonly Keeper[],
  decided: ReadonlyMap<number, Decision>,
  sc: Scorers,
  needSimilarity: number,
): Promise<{ thresholds: Thresholds; thumbLink: number }> {
  const { linked, photoOf } = metadataLinked(ix, keepers, decided);
  const evidence = calibrationEvidence(ix, linked, photoOf);
  const { truePairs, siblings } = await evidence.measure(sc.scorer);
  const thresholds = calibrate(sc.scorer.source, truePairs, siblings);
  const thumbLink = needSimilarity && sc.modelId ? thumbnailBar((await evidence.measure(sc.thumbs)).siblings) : 1.01;
  return { thresholds, thumbLink };
}

/**
 * Verification by alignment of the similarity step's top candidates (up to three per keeper, from the similarity
 * true pairs reach here, none that contradicts the keeper's name or time): stored per pair, and applied to the
 * decisions when the archive's own links calibrate it.
 */
async function verifyStep(
  db: Db,
  cx: RuleContext,
  todo: readonly Keeper[],
  decided: ReadonlyMap<number, Decision>,
  evidence: ReturnType<typeof metadataLinked>,
  need: readonly Keeper[],
  scored: ReadonlyMap<number, Scored[]>,
  cache: PreviewCache,
  onProgress: (done: number, total: number) => void,
): Promise<{ pairs: number; seconds: number }> {
  const t0 = performance.now();
  const floor = verifyFloor(cx.thresholds.truePairs, cx.thresholds.link, cx.thresholds.margin);
  const work = need.map((k) => ({
    k,
    vetoed: false,
    top: (scored.get(k.id) ?? [])
      .filter((x) => x.s >= floor)
      .filter((x) => !contradiction(cx, k, x.id))
      .slice(0, 3),
  }));
  // metadata links sent to review because a frame shot seconds apart looks more like the keeper: the pixels decide
  for (const k of todo) {
    const d = decided.get(k.id) as Decision;
    if (d.status === 'review' && isVetoedLink(d)) {
      work.push({ k, vetoed: true, top: d.candidates.map((c) => ({ id: c.id, s: c.similarity ?? -1 })) });
    }
  }
  const jobs = work.filter((w) => w.top.length > 0);
  if (jobs.length === 0) return { pairs: 0, seconds: 0 };
  const vt = await calibrateVerification(cx.ix, cache, evidence.linked, evidence.photoOf);
  await writeVerifyCalibration(db, WORK_SIZE, vt);
  let pairs = 0;
  for (const [i, { k, vetoed, top }] of jobs.entries()) {
    const vs = await verifyAgainst(
      cache,
      k.id,
      top.map((x) => x.id),
    );
    pairs += vs.size;
    await writeVerifications(
      db,
      [...vs.entries()].map(([id, v]) => verificationRow(k.id, id, v, vt)),
    );
    const d = decided.get(k.id) as Decision;
    if (vetoed) restoreVerifiedLink(d, vs, vt);
    else {
      await applyVerdict(
        d,
        top,
        vs,
        vt,
        (id) => contradiction(cx, k, id) !== null,
        (pair) => settleTie(cache, k.id, pair, vs),
      );
    }
    onProgress(i + 1, jobs.length);
  }
  return { pairs, seconds: (performance.now() - t0) / 1000 };
}

/** Metadata links get their similarity recorded and are looked at beside the frames shot seconds apart. */
async function checkMetadataLinks(
  cx: RuleContext,
  todo: readonly Keeper[],
  decided: ReadonlyMap<number, Decision>,
  scorer: PairScorer,
): Promise<void> {
  const links = todo.filter((k) => (decided.get(k.id) as Decision).photo !== null);
  const link = await scorer.score(links.map((k) => [k.id, (decided.get(k.id) as Decision).photo as number] as const));
  const nearOf = burstNeighbours(cx.ix, cx.book, links, decided);
  const near = await scorer.score([...nearOf.entries()].flatMap(([kid, ids]) => ids.map((id) => [kid, id] as const)));
  await vetoMetadataLinks(cx, links, decided, { link, near }, nearOf);
}

/** The report of a run, from the rows as written. */
async function report(
  db: Db,
  parts: {
    keepers: number;
    processed: number;
    offsets: ReadonlyMap<string, ClockOffset>;
    thresholds: Thresholds;
    seconds: number;
    timings: MatchReport['timings'];
  },
): Promise<MatchReport> {
  const rows = await keeperMatches(db);
  const count = (xs: Array<string | null>): Record<string, number> =>
    xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x ?? '-']: (m[x ?? '-'] ?? 0) + 1 }), {});
  return {
    keepers: parts.keepers,
    processed: parts.processed,
    byMethod: count(rows.filter((r) => r.match_status === 'matched').map((r) => r.match_method)),
    byStatus: count(rows.map((r) => r.match_status)),
    offsets: [...parts.offsets.entries()].map(([key, o]) => ({ ...walkOf(key), ...o })),
    thresholds: parts.thresholds,
    unmatched: rows.filter((r) => r.match_status === 'unmatched').map((r) => r.path),
    review: rows
      .filter((r) => r.match_status === 'review')
      .map((r) => ({ path: r.path, reason: r.review_reason ?? '' })),
    unreadable: await unreadableKeepers(db),
    seconds: parts.seconds,
    timings: parts.timings,
  };
}

/**
 * A keeper of a walk whose clock was off, decided again at the walk's offset (`shifted`) beside its decision as its
 * clock reads (`own`). Its own link stays when its camera name agrees too and the offset finds nothing (a keeper of
 * another stretch of that day, or one whose clock was right); otherwise a link of its own that the offset does not
 * confirm leaves the frames it names to the image evidence (a person when that cannot tell), never to the offset.
 */
export function atWalkOffset(ix: CorpusIndex, k: Keeper, own: Decision, shifted: Decision): Decision {
  if (own.status !== 'matched' || own.photo === null || own.photo === shifted.photo) return shifted;
  const p = ix.photoById.get(own.photo);
  if (shifted.status !== 'matched' && k.name !== null && p?.name === k.name) return own;
  const ids = [own.photo, ...(shifted.status === 'matched' ? [shifted.photo as number] : shifted.pool)];
  const pool = [...new Set(ids)];
  return {
    ...shifted,
    photo: null,
    method: null,
    status: 'unmatched',
    pool,
    candidates: pool.map((id) => ({
      id,
      similarity: null,
      note: id === own.photo ? `${own.method} as the keeper's clock reads` : "at its walk's clock offset",
    })),
  };
}

/** Runs the cascade on an open index. */
export async function match(db: Db, options: MatchOptions = {}): Promise<MatchReport> {
  const t0 = performance.now();
  const onProgress = throttle(options.onProgress);
  await ensureSchema(db);
  await ensureMatchSchema(db);
  const workspace = await workspaceOf(db);
  const ix = indexCorpus(await matchPhotos(db), await corpusDuplicates(db));
  const keepers = await matchKeepers(db);
  const book = decisionBook(await matchDecisions(db));
  const todo = keepersToDecide(ix, book, keepers, Boolean(options.all));
  const decided = new Map<number, Decision>();
  onProgress({ stage: 'match', done: 0, total: todo.length });
  for (const k of todo) decided.set(k.id, metadataSteps(ix, book, k, 0));
  // a keeper decided by an earlier run votes as it did then (its metadata steps without an offset, which is what
  // the keepers of this run hold so far), so a re-run finds the same offsets from the same votes
  const offsets = clockOffsets(keepers, (k) => decided.get(k.id) ?? metadataSteps(ix, book, k, 0));
  for (const k of todo) {
    const off = offsetOf(offsets, k);
    if (off !== 0)
      decided.set(k.id, atWalkOffset(ix, k, decided.get(k.id) as Decision, metadataSteps(ix, book, k, off)));
  }
  // similarity: vectors from the embedding model, else small thumbnails of the previews
  const modelId = similarityModel(db, workspace, options.model);
  const tMeta = (performance.now() - t0) / 1000;
  const keeperById = new Map(keepers.map((k) => [k.id, k]));
  const thumbs = thumbnailScorer(
    workspace,
    (id) => keeperById.get(id)?.preview ?? null,
    (id) => ix.photoById.get(id)?.preview ?? null,
  );
  const scorer = modelId ? modelScorer(db, workspace, modelId) : thumbs;
  const needSimilarity = todo.filter(
    (k) => (decided.get(k.id) as Decision).status !== 'matched' && !book.noOriginal(k),
  );
  const { thresholds, thumbLink } = await learnThresholds(
    ix,
    keepers,
    decided,
    { scorer, thumbs, modelId },
    needSimilarity.length,
  );
  // verification learns from the same metadata links, before any is doubted
  const evidence = metadataLinked(ix, keepers, decided);
  const cx: RuleContext = { ix, book, offsets, thresholds, secondLook: modelId ? thumbs : null, thumbLink };
  await checkMetadataLinks(cx, todo, decided, scorer);
  const scored = await similarityCandidates(ix, book, offsets, needSimilarity, decided, scorer, thresholds.link);
  let done = todo.length - needSimilarity.length;
  for (const k of needSimilarity) {
    await decideBySimilarity(cx, k, decided.get(k.id) as Decision, scored.get(k.id) ?? []);
    onProgress({ stage: 'match', done: ++done, total: todo.length, detail: k.path });
  }
  const cache = previewCache(
    workspace,
    (id) => keeperById.get(id)?.preview ?? null,
    (id) => ix.photoById.get(id)?.preview ?? null,
  );
  const verification = await verifyStep(db, cx, todo, decided, evidence, needSimilarity, scored, cache, (n, total) =>
    onProgress({ stage: 'verify', done: n, total }),
  );
  const tSim = (performance.now() - t0) / 1000 - tMeta - verification.seconds;
  await applyAccepted(cx, todo, decided, scorer);
  await writeMatchRun(db, {
    // a review row keeps its proposed photo, so the contact sheet can show it, but it is not a label
    outcomes: todo.map((k) => {
      const d = decided.get(k.id) as Decision;
      return {
        keeperId: k.id,
        photo: d.photo,
        method: d.method,
        similarity: d.similarity,
        status: d.status,
        offset: keeperOffset(d, offsetOf(offsets, k)),
        reason: d.reason,
        candidates: d.candidates,
      };
    }),
    sessions: [...offsets.entries()].map(([key, o]) => ({ ...walkOf(key), ...o })),
    calibration: thresholds,
  });
  return report(db, {
    keepers: keepers.length,
    processed: todo.length,
    offsets,
    thresholds,
    seconds: (performance.now() - t0) / 1000,
    timings: {
      metadata: tMeta,
      similarity: tSim,
      keepersBySimilarity: needSimilarity.length,
      verification: verification.seconds,
      verifiedPairs: verification.pairs,
    },
  });
}

/** The thresholds line of the summary. */
function thresholdsLine(t: Thresholds): string {
  const fixed = (x: number): string => x.toFixed(4);
  return (
    `similarity (${t.source}): ` +
    (t.calibrated
      ? `link >= ${fixed(t.link)}, sure >= ${fixed(t.review)}, margin ${fixed(t.margin)}`
      : 'not calibrated (too few keepers linked by metadata to learn thresholds from): ' +
        `candidates from ${fixed(t.link)} go to review`) +
    `; true pairs n=${t.truePairs.length}${t.truePairs.length ? ` min ${fixed(Math.min(...t.truePairs))}` : ''}` +
    `, siblings n=${t.siblings.length}${t.siblings.length ? ` max ${fixed(Math.max(...t.siblings))}` : ''}`
  );
}

/** The match summary as text. */
export function formatMatch(r: MatchReport): string {
  const counts = (m: Record<string, number>): string =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const offsets = r.offsets.map(
    (o) =>
      `${o.day}${o.camera ? ` ${o.camera}` : ''} ${o.seconds >= 0 ? '+' : ''}${o.seconds} s ` +
      `(${o.agreeing}/${o.links} links)`,
  );
  const lines = [
    `${r.keepers} keeper files, ${r.processed} decided in this run`,
    `status: ${counts(r.byStatus)}`,
    `matched by: ${counts(r.byMethod) || '-'}`,
    `clock offsets: ${offsets.join(', ') || 'none'}`,
    thresholdsLine(r.thresholds),
  ];
  for (const u of r.unmatched) lines.push(`unmatched: ${u}`);
  for (const v of r.review) lines.push(`review: ${v.path}: ${v.reason}`);
  for (const u of r.unreadable) lines.push(`could not be read as a photo, not matched: ${u.path}: ${u.reason}`);
  return lines.join('\n');
}
