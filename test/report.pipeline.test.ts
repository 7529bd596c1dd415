/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pca } from '../lib/8-analysis/pca.js';
import { keeperMotifs, silhouette, silhouetteCriterion } from '../lib/8-analysis/motifs.js';
import { issueDrafts } from '../lib/8-analysis/drafts.js';
import { placeStats, weekdayHourDensity } from '../lib/8-analysis/sessions.js';
import { Db } from '../lib/db/duckdb.js';
import { htmlTable } from '../lib/util/html.js';
import { settingsText } from '../lib/8-analysis/corpus.js';
import {
  figureHtml,
  histogramFigure,
  matchMarkers,
  probabilityAxisEnd,
  reliabilityFigure,
  scatterFigure,
} from '../lib/plot/plotly.js';
import { scorePhotos, trainAndScore } from '../lib/pipeline/train-and-score.js';
import type { SampleResult } from '../lib/0-sample/generate.js';
import { Rng } from '../lib/util/rng.js';
import { envSkip, matchedSmallSample, PROJECT, tempDir } from './helpers.js';

const work = tempDir('report');
after(() => work.cleanup());

test('PCA finds the planted directions and their share of the variance', async () => {
  const rng = new Rng(4);
  const n = 3000,
    d = 40;
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const a = rng.normal(0, 5),
      b = rng.normal(0, 2);
    for (let j = 0; j < d; j++) data[i * d + j] = 10 + rng.normal(0, 0.1) + (j === 3 ? a : 0) + (j === 7 ? b : 0);
  }
  const p = await pca({ data, rows: n, dim: d }, 3, 1);
  assert.ok(Math.abs(Math.abs(p.components[3] as number) - 1) < 1e-3, 'first component is axis 3');
  assert.ok(Math.abs(Math.abs(p.components[d + 7] as number) - 1) < 1e-3, 'second component is axis 7');
  const expected = 25 / (25 + 4 + 0.01 * d);
  assert.ok(Math.abs((p.explained[0] as number) - expected) < 0.02, `explained ${p.explained[0]} ~ ${expected}`);
  assert.ok(Math.abs(p.projected.data[0] as number) > 0 && p.projected.dim === 3);
});

test('silhouette: near 1 for separated clusters, near 0 for an arbitrary cut of one blob', () => {
  const rng = new Rng(8);
  const pts: number[][] = [];
  const labels: number[] = [];
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < 40; i++) {
      pts.push([c * 100 + rng.normal(), rng.normal()]);
      labels.push(c);
    }
  assert.ok(silhouette(pts, labels) > 0.95);
  const blob = Array.from({ length: 120 }, () => [rng.normal(), rng.normal()]);
  assert.ok(
    silhouette(
      blob,
      blob.map((_, i) => i % 2),
    ) < 0.05,
  );
});

test('large scatters use WebGL; labels and script payloads are escaped', () => {
  const pts = (n: number): Array<{ x: number; y: number; group: string; text: string }> =>
    Array.from({ length: n }, (_, i) => ({ x: i, y: i, group: 'a', text: `<b>${i}</b>` }));
  assert.equal(scatterFigure(pts(10), { title: 't' }).data[0]?.type, 'scatter');
  const big = scatterFigure(pts(400_000), { title: 't' });
  assert.equal(big.data[0]?.type, 'scattergl');
  assert.equal((big.data[0]?.x as number[]).length, 400_000);
  const html = figureHtml(
    scatterFigure([{ x: 1, y: 2, group: '</script><script>alert(1)</script>', text: '<img src=x onerror=alert(1)>' }], {
      title: 'x',
    }),
  );
  assert.ok(
    !html.includes('<img src=x') && !html.includes('</script><script>alert'),
    'no raw markup from archive text',
  );
  // tables: a numeric column right-aligned with one number of decimals; text left-aligned and escaped
  const t = htmlTable([
    { name: '<b>', focal: 18.3, n: 11, ap: 0.1 },
    { name: 'x', focal: 2.8, n: 2, ap: 0.1444 },
  ]);
  assert.deepEqual(
    [...t.matchAll(/<td style="text-align:(\w+);[^"]*">([^<]*)<\/td>/g)].map((m) => `${m[1]} ${m[2]}`),
    ['left &lt;b&gt;', 'right 18.3', 'right 11', 'right 0.100', 'left x', 'right 2.8', 'right 2', 'right 0.144'],
  );
  // probability axes zoom to small scores, never past 1
  assert.deepEqual(
    [probabilityAxisEnd([0.21, 0.05]), probabilityAxisEnd([0.9]), probabilityAxisEnd([]), probabilityAxisEnd([0.43])],
    [0.25, 1, 0.05, 0.5],
  );
  const rel = reliabilityFigure(
    [
      { meanScore: 0.04, keeperRate: 0.03, count: 200 },
      { meanScore: 0.12, keeperRate: 0.08, count: 20 },
    ],
    { title: 'r' },
  );
  assert.deepEqual((rel.layout.xaxis as { range: number[] }).range, [0, 0.15]);
  assert.match((rel.layout.title as { text: string }).text, /axes to 0\.15: no bin is higher/);
  // thresholds on a histogram: a dotted line each, named; the sure threshold only once it is learnt
  assert.deepEqual(matchMarkers({ link: 0.97, review: 0.985, calibrated: true }), [
    { value: 0.97, name: 'link' },
    { value: 0.985, name: 'sure' },
  ]);
  assert.deepEqual(matchMarkers({ link: 0.995, review: 1.01, calibrated: false }), [
    { value: 0.995, name: 'review from' },
  ]);
  const h = histogramFigure([{ name: 'a', values: [0.9, 0.95] }], {
    title: 't',
    x: 'x',
    markers: matchMarkers({ link: 0.97, review: 0.985, calibrated: true }),
  });
  assert.deepEqual(
    (h.layout.shapes as Array<{ x0: number }>).map((m) => m.x0),
    [0.97, 0.985],
  );
  assert.deepEqual(
    (h.layout.annotations as Array<{ text: string }>).map((m) => m.text),
    ['link', 'sure'],
  );
});

// ---- on the small sample, trained and scored
let sample: SampleResult;
let dbFile: string;

before(async () => {
  ({ sample, dbFile } = await matchedSmallSample(work.dir));
  await trainAndScore({
    db: dbFile,
    arch: 'pairwise',
    modelsDir: join(work.dir, 'models'),
    resamples: 20,
    hyper: { epochs: 3 },
    skipPhotoSplit: true,
  });
  await scorePhotos({ db: dbFile });
});

test('motifs: k chosen by silhouette, every keeper mapped, nearest photos are members, drift per year', async () => {
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const m = await keeperMotifs(db, { seed: 3 });
    const keepers = Number(await db.value('SELECT count(*) FROM photos WHERE keeper'));
    assert.equal(m.ids.length, keepers);
    assert.equal(m.xy.length, keepers);
    assert.ok(m.k >= 2 && m.k <= 8 && m.kChoice.scores.length >= 1);
    assert.equal(m.k, m.kChoice.scores.reduce((a, b) => (b.silhouette > a.silhouette ? b : a)).k);
    assert.equal(
      m.motifs.reduce((s, x) => s + x.size, 0),
      keepers,
    );
    for (const motif of m.motifs) {
      for (const p of motif.nearest) assert.equal(m.cluster[m.ids.indexOf(p.photoId)], motif.cluster);
      assert.deepEqual(
        motif.nearest.map((p) => p.distance),
        [...motif.nearest.map((p) => p.distance)].sort((a, b) => a - b),
      );
    }
    assert.equal(
      m.byYear.reduce((s, b) => s + b.keepers, 0),
      keepers,
    );
    assert.equal(
      m.drift.reduce((s, d) => s + d.keepers, 0),
      keepers,
    );
    const again = await keeperMotifs(db, { seed: 3 });
    assert.deepEqual(again.cluster, m.cluster, 'seeded');
    assert.deepEqual(again.xy, m.xy, 'seeded UMAP');
    const fixed = await keeperMotifs(db, { seed: 3, k: 3, skipUmap: true });
    assert.equal(fixed.k, 3);
    assert.equal(fixed.kChoice.criterion, 'given');
    // the chosen k says how much structure its silhouette shows, and a subsample only when there was one
    const best = Math.max(...m.kChoice.scores.map((x) => x.silhouette));
    assert.match(
      m.kChoice.criterion,
      new RegExp(
        `^mean silhouette over k = 2\\.\\.\\d+; best ${best.toFixed(2)} at k = ${m.k}, (no substantial|weak|reasonable|strong) structure`,
      ),
    );
    assert.equal(
      silhouetteCriterion(
        [
          { k: 2, silhouette: 0.09 },
          { k: 3, silhouette: 0.05 },
        ],
        8,
        2000,
      ),
      'mean silhouette over k = 2..8 (1,500-point subsample); best 0.09 at k = 2, no substantial structure: the motifs overlap, read them as tendencies, not separate kinds of picture',
    );
    assert.match(
      silhouetteCriterion([{ k: 4, silhouette: 0.72 }], 8, 100),
      /^mean silhouette over k = 2\.\.8; best 0\.72 at k = 4, strong structure$/,
    );
  } finally {
    db.close();
  }
});

test('issue drafts: full sequences in time order, no burst twice, a cap per walk, disjoint drafts, high scores only', async () => {
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const d = await issueDrafts(db, { size: 5, drafts: 2, maxPerWalk: 2 });
    assert.ok(d.drafts.length >= 1, `${d.candidates} candidates`);
    const seen = new Set<number>();
    for (const draft of d.drafts) {
      assert.equal(draft.photos.length, 5);
      const times = draft.photos.map((p) => p.capturedAt);
      assert.deepEqual(times, [...times].sort());
      const perWalk = new Map<string, number>();
      for (const p of draft.photos) {
        assert.ok(p.score >= 0.8);
        assert.ok(!seen.has(p.photoId), 'drafts are disjoint');
        seen.add(p.photoId);
        perWalk.set(p.session, (perWalk.get(p.session) ?? 0) + 1);
      }
      assert.ok([...perWalk.values()].every((c) => c <= 2));
      for (const a of draft.photos)
        for (const b of draft.photos) {
          if (a !== b && a.session === b.session)
            assert.ok(
              Math.abs(Date.parse(a.capturedAt) - Date.parse(b.capturedAt)) > 2000,
              'no two frames of one burst',
            );
        }
    }
    const big = await issueDrafts(db, { size: 36 });
    assert.equal(big.drafts.length, 0);
    assert.match(big.note ?? '', /photos score at least 0.8; 0 drafts of 36/);
  } finally {
    db.close();
  }
});

test('session statistics by weekday and hour, and places only where GPS exists', async () => {
  const db = await Db.open(dbFile, { readOnly: true });
  try {
    const wh = await weekdayHourDensity(db);
    const total = Number(await db.value('SELECT count(*) FROM photos WHERE captured_at IS NOT NULL'));
    assert.equal(wh.density.length, 7);
    assert.ok(wh.density.flat().some((v) => v !== null && v > 0));
    const p = await placeStats(db);
    assert.equal(
      p.withGps,
      Number(await db.value('SELECT count(*) FROM photos WHERE gps_lat IS NOT NULL AND gps_lon IS NOT NULL')),
    );
    assert.ok(total > 0 && p.places.reduce((s, x) => s + x.photos, 0) <= p.withGps);
  } finally {
    db.close();
  }
});

const chromium = '/usr/bin/chromium';
const noBrowser = envSkip(existsSync(chromium) ? false : `needs Debian's chromium at ${chromium} (CI installs it)`);

test(
  'flux report: one offline page whose plots all render in headless Chromium, with archive text escaped',
  { skip: noBrowser },
  async () => {
    // a hostile file name in the archive text
    const evil = `2023/x/<i id="evil">evil</i> & "q" 'a'.JPG`;
    const db = await Db.open(dbFile);
    await db.run(`UPDATE photos SET path = ? WHERE photo_id = (SELECT min(photo_id) FROM photos WHERE keeper)`, [evil]);
    db.close();
    // a later model trained without rescoring: the page describes the model whose scores it shows
    await trainAndScore({
      db: dbFile,
      arch: 'logistic',
      modelsDir: join(work.dir, 'models-later'),
      resamples: 20,
      hyper: { epochs: 2 },
      skipPhotoSplit: true,
      score: false,
    });
    const out = join(work.dir, 'report', 'report.html');
    const flux = join(PROJECT, 'dist', 'lib', 'cli', 'flux.js');
    const r = spawnSync(process.execPath, [flux, 'report', '--db', dbFile, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /Chosen: pairwise · /);
    assert.ok(!html.includes('Chosen: logistic'), 'not the later, unused model');
    assert.ok(!/Runner-up: pairwise/.test(html), 'the winner is not its own runner-up');
    assert.ok(!html.includes('<i id="evil">'), 'the file name is not markup');
    for (const id of ['corpus', 'matching', 'rankers', 'scores', 'motifs', 'sessions', 'drafts'])
      assert.ok(html.includes(`<section id="${id}">`), id);
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({
      executablePath: chromium,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      const outside: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
        outside.push(url);
        return route.abort();
      });
      await page.goto(`file://${out}`, { waitUntil: 'load' });
      await page.waitForFunction(
        () =>
          document.querySelectorAll('.flux-figure').length > 0 &&
          [...document.querySelectorAll('.flux-figure')].every((f) => f.querySelector('.main-svg')),
        null,
        { timeout: 60_000 },
      );
      const counts = await page.evaluate(() => ({
        figures: document.querySelectorAll('.flux-figure').length,
        drawn: [...document.querySelectorAll('.flux-figure')].filter((f) => f.querySelectorAll('.main-svg').length > 0)
          .length,
        points: document.querySelectorAll('#motifs .scatterlayer .point').length,
        evil: document.querySelectorAll('#evil').length,
        text: document.body.innerText.includes('<i id="evil">evil</i>'),
        images: [...document.images].filter((i) => i.src.startsWith('data:image/jpeg') && i.naturalWidth > 0).length,
        // a plot's area is what is left of its height after the margins: every chart keeps room to draw its data
        cramped: [...document.querySelectorAll('.flux-figure')]
          .filter((f) => [...f.querySelectorAll('.nsewdrag')].some((r) => r.getBoundingClientRect().height < 40))
          .map((f) => f.querySelector('.gtitle')?.textContent ?? f.id),
      }));
      // hovering a point of the motif map shows that keeper's thumbnail and name beside it
      const mapId = await page.evaluate(() => document.querySelector('#motifs .flux-figure')?.id ?? '');
      await page.locator('#motifs .scatterlayer .point').first().hover({ force: true });
      await page.waitForFunction(
        (id) => (document.getElementById(`${id}-img`) as HTMLImageElement | null)?.src.startsWith('data:image/jpeg'),
        mapId,
        { timeout: 10_000 },
      );
      const caption = await page.evaluate((id) => document.getElementById(`${id}-text`)?.textContent ?? '', mapId);
      assert.match(caption, /\.JPG|\.jpg/);
      assert.deepEqual(errors, []);
      assert.deepEqual(outside, [], 'no network');
      assert.ok(counts.figures >= 12, `${counts.figures} figures`);
      assert.equal(counts.drawn, counts.figures);
      assert.deepEqual(counts.cramped, [], 'charts with no room left between their margins');
      const keepers = await (async () => {
        const d = await Db.open(dbFile, { readOnly: true });
        try {
          return Number(await d.value('SELECT count(*) FROM photos WHERE keeper'));
        } finally {
          d.close();
        }
      })();
      assert.equal(counts.points, keepers, 'every keeper is a point on the motif map');
      assert.equal(counts.evil, 0);
      assert.ok(counts.text, 'the hostile name is shown as text');
      assert.ok(counts.images >= 10, `${counts.images} thumbnails decoded`);
    } finally {
      await browser.close();
    }
    const inside = spawnSync(
      process.execPath,
      [flux, 'report', '--db', dbFile, '--out', join(sample.originals, 'r.html')],
      { encoding: 'utf8' },
    );
    assert.equal(inside.status, 1);
    assert.match(inside.stderr, /--out: .* inside the archive folder originals/);
  },
);

test('issue drafts: a burst is a chain of frames, however long it runs; undated high scores are counted, not lost', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.run(`CREATE TABLE photos (photo_id BIGINT, path VARCHAR, preview VARCHAR, captured_at TIMESTAMP,
      session_date DATE, keeper_score DOUBLE, keeper BOOLEAN)`);
    // walk 1: eight frames 0.4 s apart (one burst, 2.8 s end to end), the first and last the best; walk 2: two frames
    // a minute apart; and a high score without a capture time
    const rows: string[] = [];
    for (let i = 0; i < 8; i++) {
      const score = i === 0 ? 0.95 : i === 7 ? 0.94 : 0.85;
      rows.push(`(${i + 1}, 'a${i}.JPG', NULL, TIMESTAMP '2024-05-01 10:00:00' + INTERVAL ${400 * i} MILLISECOND,
        DATE '2024-05-01', ${score}, false)`);
    }
    rows.push(`(20, 'b0.JPG', NULL, TIMESTAMP '2024-06-01 09:00:00', DATE '2024-06-01', 0.9, false)`);
    rows.push(`(21, 'b1.JPG', NULL, TIMESTAMP '2024-06-01 09:01:00', DATE '2024-06-01', 0.82, false)`);
    rows.push(`(30, 'c.JPG', NULL, NULL, NULL, 0.99, false)`);
    await db.run(`INSERT INTO photos VALUES ${rows.join(', ')}`);
    const d = await issueDrafts(db, { size: 3, drafts: 1 });
    assert.deepEqual(
      d.drafts[0]?.photos.map((p) => p.photoId),
      [1, 20, 21],
      'the burst gives its best frame only; its last frame, 2.8 s after the first, is the same burst',
    );
    assert.deepEqual([d.note, d.undated], [null, 1], 'the drafts asked for were made; the undated photo counted');
    const more = await issueDrafts(db, { size: 4, drafts: 1 });
    assert.equal(more.drafts.length, 0);
    assert.match(more.note ?? '', /^10 photos score at least 0.8 \(and 1 more without a capture time, left out/);
  } finally {
    db.close();
  }
});

test('camera settings read as a photographer reads them: each row to its own precision, a shutter speed as 1/N', () => {
  const rows = settingsText([
    { setting: 'ISO', median: 400, p10: 200, p90: 3200 },
    { setting: 'f-number', median: 5.6, p10: 2.8, p90: 11 },
    { setting: 'exposure (s)', median: 1 / 2000, p10: 1 / 4000, p90: 0.7 },
    { setting: 'focal length (mm)', median: 18.3, p10: 18.3, p90: 26.1 },
  ]);
  assert.deepEqual(
    rows.map((r) => [r.setting, r.median, r.p10, r.p90]),
    [
      ['ISO', '400', '200', '3200'],
      ['f-number', '5.6', '2.8', '11.0'],
      ['exposure (s)', '1/2000', '1/4000', '0.7'],
      ['focal length (mm)', '18', '18', '26'],
    ],
  );
});
