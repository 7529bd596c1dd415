/**
 * Positive controls for the decision rule: synthetic rows at the real feature width (a 1,280-d vector, the pixel
 * descriptor, the context and walk values) with a planted taste whose right answer is known, 3.75% keepers in walks
 * of 60 frames. The vector is low-rank plus noise (16 latent factors with most of the variance, as an image model's
 * vectors), and the taste is a function of the factors:
 *
 * - additive: a linear taste; logistic regression (or the PCA baseline) should tie or win;
 * - interaction: the product of two factors; the pairwise scorer (its hidden layer) should win;
 * - motifs: the direction of the image vector: the cosine of a photo's factors to the nearest of four motif
 *   directions (a regular simplex, so they sum to zero, in a random 3-d subspace of the 16 factors), with the length
 *   of every photo's vector scaled by a random factor that carries no taste (an image model's vector lengths vary
 *   with contrast and content); the multi-centroid contrastive scorer, which scores the cosine to the nearest of its
 *   centroids, should win. (Until 2026-12-06 the motif taste was closeness, Euclidean, to the nearest of four
 *   centres in 4 factors: a smooth bump that pairwise fitted better than contrastive-multi, see bench/RESULTS.md.)
 * - burst (`--tastes burst`, bench/burst-control.ts): a within-burst preference; pairwise trained with near misses
 *   should beat pairwise without them (the baseline there); equivalence keeps the baseline, the wrong answer.
 *
 * Each control runs the decision rule of `flux train` (lib/5-rank/decide.ts) and prints which family it picks; the
 * rule must pick the planted family or stay undecided, never the wrong one. Every outcome is also written to
 * bench/controls.json (with the command, the date and the seed), which `flux train` prints beside its own decision;
 * an outcome of the same taste and keeper count replaces the one recorded before.
 *
 *   npm run build && node dist/bench/controls.js [--keepers 100,1000] [--tastes additive,interaction,motifs]
 *     [--repeats 1] [--folds 5] [--seed 7] [--record bench/controls.json | --record none] [--versus A,B]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { WALK_NAMES } from '../lib/db/schema.js';
import { DESCRIPTOR_NAMES } from '../lib/2-embed/descriptor.js';
import type { Dataset } from '../lib/4-dataset/rows.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { ruleContenders } from '../lib/5-rank/compare.js';
import { CONTROLS_FILE, familyResult, type ControlOutcome, type ControlsRecord } from '../lib/5-rank/controls.js';
import { decide, DEFAULT_RULE, ruleText, type Contender, type RuleEvidence } from '../lib/5-rank/decide.js';
import { averagePrecision } from '../lib/5-rank/metrics.js';
import type { Arch } from '../lib/5-rank/scorers.js';
import type { OnProgress } from '../lib/util/progress.js';
import { Rng } from '../lib/util/rng.js';
import { burstControl, CONTROL_CONTEXT_NAMES } from './burst-control.js';

const VEC = 1280;
const FACTORS = 16;
const FRAMES = 60;
const RATE = 0.0375;

/** A planted taste: its value for one frame's latent factors, and the families that are a right answer for it. */
export interface PlantedTaste {
  /** A frame's taste from its latent factors `f`; `shape`: the archive's draw of the taste's centres or directions. */
  value: (f: Float64Array, shape: number[][]) => number;
  right: Arch[];
  /** The taste's own shape, drawn once per archive after the common draws (absent: the four centres). */
  shape?: (rng: Rng) => number[][];
  /**
   * The standard deviation of the log of a per-photo factor that scales the photo's whole image vector, drawn
   * apart from its factors and its taste (absent or 0: every vector at its natural length).
   */
  normSpread?: number;
}

/** A unit vector. */
const unit = (v: number[]): number[] => {
  const l = Math.hypot(...v) || 1;
  return v.map((x) => x / l);
};

/**
 * Four motif directions in the 16 factors: the vertices of a regular simplex (pairwise cosine -1/3, summing to zero,
 * so no single linear direction points at them all) in a random 3-d subspace (Gram-Schmidt of three normal draws).
 */
export function motifDirections(rng: Rng): number[][] {
  const basis: number[][] = [];
  for (let b = 0; b < 3; b++) {
    let v = Array.from({ length: FACTORS }, () => rng.normal());
    for (const u of basis) {
      const d = v.reduce((a, x, j) => a + x * (u[j] as number), 0);
      v = v.map((x, j) => x - d * (u[j] as number));
    }
    basis.push(unit(v));
  }
  const simplex = [
    [1, 1, 1],
    [1, -1, -1],
    [-1, 1, -1],
    [-1, -1, 1],
  ];
  return simplex.map((s) =>
    unit(Array.from({ length: FACTORS }, (_, j) => s.reduce((a, c, b) => a + c * (basis[b] as number[])[j]!, 0))),
  );
}

/** The cosine of `f` to the nearest of the directions. */
export function nearestCosine(f: ArrayLike<number>, directions: readonly number[][]): number {
  let norm = 0;
  for (let j = 0; j < f.length; j++) norm += (f[j] as number) ** 2;
  norm = Math.sqrt(norm) || 1;
  return Math.max(...directions.map((d) => d.reduce((a, v, j) => a + v * (f[j] as number), 0) / norm));
}

/** The planted tastes by name (a new control is one more entry). */
export const TASTES: Record<string, PlantedTaste> = {
  additive: {
    value: (f) => 1.2 * ((f[0] as number) + (f[1] as number) - (f[2] as number)),
    right: ['logistic', 'pca-logistic'],
  },
  interaction: { value: (f) => 1.6 * (f[0] as number) * (f[1] as number), right: ['pairwise'] },
  // 12 x the cosine: a spread (sd 1.6) like the interaction taste's; lengths spread 5-fold (5th to 95th percentile)
  motifs: {
    value: (f, directions) => 12 * nearestCosine(f, directions),
    right: ['contrastive-multi'],
    shape: motifDirections,
    normSpread: 0.5,
  },
};

/** A synthetic archive with `keepers` keepers: walks of 60 frames, the top 3.75% by taste plus noise kept. */
export function archive(
  taste: string,
  keepers: number,
  seed: number,
): { ds: Dataset; oracle: number; planted: { loading: Float64Array; shape: number[][]; scale: Float64Array } } {
  const planted = TASTES[taste];
  if (!planted) throw new Error(`--tastes: unknown taste ${taste} (known: ${Object.keys(TASTES).join(', ')})`);
  const rng = new Rng(seed).fork(`controls:${taste}:${keepers}`);
  const n = Math.round(keepers / RATE);
  const walks = Math.ceil(n / FRAMES);
  const dim = VEC + DESCRIPTOR_NAMES.length + CONTROL_CONTEXT_NAMES.length + WALK_NAMES.length;
  const loading = Float64Array.from({ length: VEC * FACTORS }, () => (rng.normal() / Math.sqrt(FACTORS)) * 3);
  const centres = Array.from({ length: 4 }, () =>
    Array.from({ length: FACTORS }, (_, j) => (j < 4 ? 1.6 * rng.normal() : 0)),
  );
  // drawn after the common draws, so the archives of the other tastes stay as they were
  const shape = planted.shape ? planted.shape(rng) : centres;
  const scale = new Float64Array(n).fill(1);
  const x = new Float32Array(n * dim);
  const t = new Float64Array(n);
  const session = new Int32Array(n);
  for (let w = 0, i = 0; w < walks; w++) {
    // frames of a walk share part of their scene
    const walkMean = Float64Array.from({ length: FACTORS }, () => 0.5 * rng.normal());
    for (let k = 0; k < FRAMES && i < n; k++, i++) {
      const f = Float64Array.from(walkMean, (m) => m + Math.sqrt(0.75) * rng.normal());
      session[i] = w;
      if (planted.normSpread) scale[i] = Math.exp(planted.normSpread * rng.normal());
      for (let v = 0; v < VEC; v++) {
        let s = rng.normal();
        for (let j = 0; j < FACTORS; j++) s += (loading[v * FACTORS + j] as number) * (f[j] as number);
        x[i * dim + v] = (scale[i] as number) * s;
      }
      for (let j = VEC; j < dim; j++) x[i * dim + j] = rng.normal();
      t[i] = planted.value(f, shape);
    }
  }
  const noisy = Array.from(t, (v) => v + Math.log(1 / rng.uniform(1e-9, 1) - 1));
  const cut = [...noisy].sort((a, b) => b - a)[keepers - 1] as number;
  const y = Uint8Array.from(noisy, (v) => (v >= cut ? 1 : 0));
  const names = [
    ...Array.from({ length: VEC }, (_, j) => `v${j}`),
    ...DESCRIPTOR_NAMES,
    ...CONTROL_CONTEXT_NAMES,
    ...WALK_NAMES,
  ];
  const ds: Dataset = {
    featureSet: 'vector+descriptor+context',
    modelId: 'synthetic',
    ids: Array.from({ length: n }, (_, i) => i),
    views: new Array<number>(n).fill(0),
    dim,
    names,
    x,
    scheme: 'session',
    y,
    split: new Array(n).fill('train'),
    session,
    sessions: Array.from({ length: walks }, (_, w) => `w${w}`),
    missingVector: 0,
    splitSeed: seed,
    splitNote: null,
  };
  return { ds, oracle: averagePrecision(t, y), planted: { loading, shape, scale } };
}

const cell = (d: { value: number; lo: number; hi: number }): string =>
  `${d.value >= 0 ? '+' : ''}${d.value.toFixed(3)} [${d.lo.toFixed(3)}, ${d.hi.toFixed(3)}]`;

/** The best contender's difference from the baseline, as a table cell. */
function bestCell(e: RuleEvidence): string {
  const best = [...e.contenders].sort((a, b) => b.diff.value - a.diff.value)[0];
  return best ? `${best.arch} ${cell(best.diff)}` : '';
}

/** The architecture of a contender named in the evidence. */
const archOf = (e: RuleEvidence, name: string): string => e.contenders.find((c) => c.name === name)?.arch ?? name;

/** The best superior contender minus the runner-up, as a table cell ('' when fewer than two were superior). */
function pairingCell(e: RuleEvidence): string {
  const p = e.pairing;
  return p ? `${archOf(e, p.best)} - ${archOf(e, p.runnerUp)} ${cell(p.diff)}: ${p.outcome}` : '';
}

/** The decision as a table cell. */
function decisionCell(e: RuleEvidence): string {
  const p = e.pairing;
  if (p?.outcome === 'undecided')
    return `undecided between ${archOf(e, p.best)} and ${archOf(e, p.runnerUp)} (${e.chosen.arch} deployed)`;
  return `${e.decision}: ${e.chosen.arch}`;
}

/** The outcomes recorded before, with the new ones in place of those of the same taste and keeper count. */
function merged(file: string, outcomes: readonly ControlOutcome[]): ControlsRecord {
  const before: ControlOutcome[] = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as ControlsRecord).outcomes
    : [];
  const key = (o: ControlOutcome): string => `${o.taste}:${o.keepers}`;
  const fresh = new Set(outcomes.map(key));
  const all = [...before.filter((o) => !fresh.has(key(o))), ...outcomes];
  all.sort((a, b) => a.taste.localeCompare(b.taste) || a.keepers - b.keepers);
  return { about: 'positive controls of the decision rule (bench/controls.ts)', outcomes: all };
}

const FULL = 'vector+descriptor+context';

/**
 * `--versus A,B`: a diagnostic, not a control: B's AP minus A's on the rule's folds, with the rule's paired interval
 * (one comparison, so 95%), for two contenders that both beat the baseline. Nothing is recorded.
 */
function versus(pair: string): { baseline: Contender; contenders: Contender[] } {
  const [a, b] = pair.split(',') as [Arch, Arch];
  const named = (arch: Arch): Contender => ({ name: `${arch} · ${FULL}`, arch, featureSet: FULL });
  return { baseline: named(a), contenders: [named(b)] };
}

/** Writes the record, formatted as the repository's formatter would (the file is committed and lint-checked). */
async function record(file: string, outcomes: readonly ControlOutcome[]): Promise<void> {
  const text = JSON.stringify(merged(file, outcomes), null, 2);
  writeFileSync(file, await format(text, { ...(await resolveConfig(file)), parser: 'json' }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keepers: { type: 'string', default: '100,1000' },
      tastes: { type: 'string', default: Object.keys(TASTES).join(',') },
      repeats: { type: 'string', default: '1' },
      folds: { type: 'string', default: '5' },
      seed: { type: 'string', default: '7' },
      record: { type: 'string', default: fileURLToPath(new URL('../../bench/controls.json', import.meta.url)) },
      versus: { type: 'string' },
    },
  });
  const command = `node dist/bench/controls.js ${process.argv.slice(2).join(' ')}`.trim();
  await initBackend('wasm').catch(() => initBackend());
  const seed = Number(values.seed);
  const settings = { ...DEFAULT_RULE, repeats: Number(values.repeats), folds: Number(values.folds) };
  const rows: string[] = [];
  const outcomes: ControlOutcome[] = [];
  for (const keepers of values.keepers.split(',').map(Number)) {
    for (const taste of values.tastes.split(',')) {
      const t0 = performance.now();
      const { ds, oracle, baseline, contenders } =
        taste === 'burst'
          ? burstControl(keepers, seed)
          : {
              ...archive(taste, keepers, seed),
              ...(values.versus ? versus(values.versus) : ruleContenders(true, FULL)),
            };
      const onProgress: OnProgress = (p) =>
        process.stderr.write(
          `${taste}, ${keepers} keepers: ${p.stage} (${p.done}/${p.total}) ` +
            `${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
        );
      const e = await decide(ds, baseline, contenders, { seed, settings, onProgress });
      const seconds = (performance.now() - t0) / 1000;
      if (!e) continue;
      if (values.versus) {
        console.log(`\n## ${taste}, ${keepers} keepers, ${values.versus}\n${ruleText(e)}`);
        continue;
      }
      // the burst control's contenders are all pairwise: the right answer is one trained with near misses
      const result =
        taste === 'burst'
          ? familyResult(e.decision, e.chosen.name === e.baseline.name ? 'chance' : 'pairwise', ['pairwise'])
          : familyResult(e.decision, e.chosen.arch, (TASTES[taste] as PlantedTaste).right);
      console.log(
        `\n## ${taste}, ${keepers} keepers (${ds.ids.length} rows, ${ds.sessions.length} walks; ` +
          `the planted taste itself ranks at AP ${oracle.toFixed(3)}), ${seconds.toFixed(0)} s\n${ruleText(e)}`,
      );
      rows.push(
        `| ${taste} | ${keepers} | ${oracle.toFixed(3)} | ${e.baseline.ap.toFixed(3)} | ${bestCell(e)} | ` +
          `${pairingCell(e)} | ${decisionCell(e)} | ${result} | ${seconds.toFixed(0)} |`,
      );
      const between =
        e.pairing?.outcome === 'undecided'
          ? { between: [archOf(e, e.pairing.best), archOf(e, e.pairing.runnerUp)] }
          : {};
      outcomes.push({
        ...{ taste, keepers, rows: ds.ids.length, decision: e.decision, chosen: e.chosen.arch, ...between, result },
        ...{ right: taste === 'burst' ? ['pairwise'] : (TASTES[taste]?.right ?? []), seconds: Math.round(seconds) },
        ...{ command, date: new Date().toISOString().slice(0, 10), seed, folds: settings.folds },
        repeats: settings.repeats,
      });
      // written after every control, so a long run that is stopped keeps what it measured
      if (values.record !== 'none') await record(values.record, outcomes);
    }
  }
  console.log(
    '\n| planted taste | keepers | oracle AP | baseline AP | best contender - baseline [interval] | ' +
      'best - runner-up [interval] | decision | right family? | seconds |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
