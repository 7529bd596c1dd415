/**
 * Do real detectors see the sample's people? Scenes drawn as the sample draws them (its walk styles, its figures)
 * are rendered at the sample's frame size, stored as JPEG, shrunk to the preview as ingest does, and run through
 * each person detector. Prints, per detector and preview size, the share of figures found (a person box at the
 * score or above overlapping the figure's known box at IoU >= 0.3, one to one) among figures taller than 0.1 of
 * the frame (target >= 80%) and among all (target >= 50%), and the share of empty frames with a person found
 * (target <= 2%). `--score 0.3,0.25` tallies several scores from one detection run.
 *
 *   npm run build && node dist/bench/people-sample.js [--frames 150] [--empty 100] [--seed 3] [--score 0.4]
 *     [--models centernet,nanodet,movenet-multipose] [--previews 384] [--width 768 --height 512]
 *     [--misses]
 * With --misses, the tall figures are also broken down by the conditions of their scene (found / all in each), to see
 * what the ones a detector misses look like.
 */
import { parseArgs } from 'node:util';
import { sampleSceneParams, sampleSessionStyle, type SceneParams } from '../lib/0-sample/render.js';
import { findInScene, matchBoxes } from '../lib/2-detect/figures.js';
import { type DetectorName, loadGraph } from '../lib/2-detect/models.js';
import { initBackend } from '../lib/tfjs/backend.js';
import { Rng } from '../lib/util/rng.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '150' },
    empty: { type: 'string', default: '100' },
    seed: { type: 'string', default: '3' },
    score: { type: 'string', default: '0.4' },
    models: { type: 'string', default: 'centernet,nanodet,movenet-multipose' },
    previews: { type: 'string', default: '384' },
    misses: { type: 'boolean', default: false },
    width: { type: 'string', default: '768' },
    height: { type: 'string', default: '512' },
  },
});
const [W, H] = [Number(values.width), Number(values.height)];

/** Scenes with people (as the sample draws them, a sixth in portrait) and scenes emptied of them. */
function scenes(seed: number, n: number, withPeople: boolean): Array<{ p: SceneParams; w: number; h: number }> {
  const rng = new Rng(seed);
  const out: Array<{ p: SceneParams; w: number; h: number }> = [];
  while (out.length < n) {
    const p = sampleSceneParams(rng, sampleSessionStyle(rng), rng.uniform(0, 120));
    if (withPeople && !p.figures.length) continue;
    const portrait = rng.chance(1 / 6);
    out.push({ p: withPeople ? p : { ...p, figures: [] }, w: portrait ? H : W, h: portrait ? W : H });
  }
  return out;
}

/** Conditions a tall figure can be seen in: a name and a test on the figure, its box and its scene. */
type Cond = [
  string,
  (
    f: SceneParams['figures'][number],
    k: { x: number; h: number; w: number },
    p: SceneParams,
    hidden: number,
    portrait: boolean,
  ) => boolean,
];
const CONDITIONS: Cond[] = [
  ['more than 40% hidden', (_f, _k, _p, hidden) => hidden > 0.4],
  ['0.1 to 0.2 of the frame tall', (_f, k) => k.h <= 0.2],
  ['0.2 to 0.4 tall', (_f, k) => k.h > 0.2 && k.h <= 0.4],
  ['taller than 0.4', (_f, k) => k.h > 0.4],
  ['cut by the frame edge', (_f, k) => k.x <= 0.005 || k.x + k.w >= 0.995],
  ['lit', (f) => f.lit],
  ['in shadow', (f) => !f.lit],
  ['fog > 0.4', (_f, _k, p) => p.fog > 0.4],
  ['blur > 0.3', (_f, _k, p) => p.blur > 0.3],
  ['exposure error > 1 EV', (_f, _k, p) => Math.abs(p.exposure) > 1],
  ['dusk or night (before 7, after 19 h)', (_f, _k, p) => p.timeOfDay < 7 || p.timeOfDay > 19],
  ['contrast < 0.8', (_f, _k, p) => p.contrast < 0.8],
  ['stride < 0.3 (legs together, side view)', (f) => f.pose < 0.3],
  ['portrait frame', (_f, _k, _p, _h, portrait) => portrait],
  ['4 or more figures in the frame', (_f, _k, p) => p.figures.length >= 4],
];

const backend = await initBackend();
const seed = Number(values.seed);
const peopled = scenes(seed, Number(values.frames), true);
const empty = scenes(seed + 1, Number(values.empty), false);
const figures = peopled.reduce((s, x) => s + x.p.figures.length, 0);
console.log(
  `people on the sample: ${peopled.length} frames with ${figures} figures, ${empty.length} empty frames, ` +
    `${W}x${H}, seed ${seed}, scores ${values.score}, backend ${backend.name}`,
);
console.log('figures more than 40% behind a nearer figure are counted in "all" and left out of "visible"');
console.log(
  'detector            preview  tall: all  visible (lit, shadow)   all: all  visible   ' +
    'empty frames with a find  extra/frame  ms/frame',
);
type Scene = (typeof peopled)[number];
type Finds = Awaited<ReturnType<typeof findInScene>>;

/** The figures found at one score of what the detector returned at the lowest score asked. */
function tallyAt(score: number, peopledFinds: Finds[], emptyFinds: Finds[]) {
  const tally = { tall: 0, tallFound: 0, tallVis: 0, tallVisFound: 0, lit: 0, litFound: 0, all: 0, allFound: 0 };
  const more = { vis: 0, visFound: 0, extra: 0, emptyHit: 0, byCond: CONDITIONS.map(() => ({ n: 0, found: 0 })) };
  peopledFinds.forEach((r, f) => {
    const s = peopled[f] as Scene;
    const found = r.found.filter((x) => x.score >= score);
    const match = matchBoxes(r.known, found);
    r.known.forEach((k, i) => {
      const hit = match[i] !== -1;
      const visible = (r.hidden[i] as number) <= 0.4;
      const fig = s.p.figures[i];
      if (k.h > 0.1 && fig) {
        CONDITIONS.forEach(([, test], c) => {
          if (!test(fig, k, s.p, r.hidden[i] as number, s.h > s.w)) return;
          const t = more.byCond[c] as { n: number; found: number };
          t.n++;
          t.found += Number(hit);
        });
      }
      tally.all++;
      tally.allFound += Number(hit);
      more.vis += Number(visible);
      more.visFound += Number(visible && hit);
      if (k.h > 0.1) {
        tally.tall++;
        tally.tallFound += Number(hit);
        tally.tallVis += Number(visible);
        tally.tallVisFound += Number(visible && hit);
        if (visible && fig?.lit) {
          tally.lit++;
          tally.litFound += Number(hit);
        }
      }
    });
    more.extra += found.length - match.filter((m) => m !== -1).length;
  });
  for (const r of emptyFinds) more.emptyHit += Number(r.found.some((x) => x.score >= score));
  return { ...tally, ...more };
}

const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1, b)).toFixed(1)}%`;
const scores = String(values.score).split(',').map(Number);
const lowest = Math.min(...scores);
for (const name of String(values.models).split(',') as DetectorName[]) {
  const graph = await loadGraph(name);
  for (const size of String(values.previews).split(',').map(Number)) {
    const t0 = performance.now();
    const peopledFinds: Finds[] = [];
    for (const s of peopled) peopledFinds.push(await findInScene(name, graph, s.p, s.w, s.h, size, lowest));
    const emptyFinds: Finds[] = [];
    for (const s of empty) emptyFinds.push(await findInScene(name, graph, s.p, s.w, s.h, size, lowest));
    const ms = (performance.now() - t0) / (peopled.length + empty.length);
    const shown = peopledFinds[0]?.previewSize ?? size;
    for (const score of scores) {
      const t = tallyAt(score, peopledFinds, emptyFinds);
      const litShadow = `(${pct(t.litFound, t.lit)}, ${pct(t.tallVisFound - t.litFound, t.tallVis - t.lit)})`;
      console.log(
        `${`${name} >= ${score}`.padEnd(19)} ${String(size || `full ${shown}`).padStart(7)}  ` +
          `${pct(t.tallFound, t.tall).padStart(9)}  ${pct(t.tallVisFound, t.tallVis).padStart(7)} ` +
          litShadow.padEnd(16) +
          `${pct(t.allFound, t.all).padStart(9)}  ${pct(t.visFound, t.vis).padStart(7)}   ` +
          `${pct(t.emptyHit, empty.length).padStart(24)}  ` +
          `${(t.extra / peopled.length).toFixed(2).padStart(11)}  ${ms.toFixed(0).padStart(8)}`,
      );
      console.log(`${''.padEnd(28)}(${t.tall} tall, ${t.tallVis} visible; ${t.all} in all, ${t.vis} visible)`);
      if (!values.misses) continue;
      console.log(`${''.padEnd(28)}tall figures found, by condition (found / all):`);
      CONDITIONS.forEach(([label], c) => {
        const b = t.byCond[c] as { n: number; found: number };
        console.log(`${''.padEnd(30)}${label.padEnd(42)} ${pct(b.found, b.n).padStart(6)}  (${b.found} / ${b.n})`);
      });
    }
  }
  graph.dispose();
}
