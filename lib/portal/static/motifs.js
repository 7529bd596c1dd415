// The motif map and curator of the FLUX portal: an SVG scatter of the keepers drawn from /api/motifs.
import { api, busy } from './api.js';
const SVG = 'http://www.w3.org/2000/svg';
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const BANDS = { stable: '#1b7837', frequent: '#7fbf7b', occasional: '#e08214' };
const W = 720;
const H = 540;
const $ = (id) => document.getElementById(id);
const byId = new Map();

function style(dot, p) {
  const colour = p.band ? BANDS[p.band] : p.picked === false ? '#ccc' : PALETTE[p.cluster % PALETTE.length];
  dot.setAttribute('fill', p.excluded ? 'none' : colour);
  dot.setAttribute('stroke', p.excluded ? '#b2182b' : p.favourite ? '#000' : 'none');
  dot.setAttribute('stroke-width', p.favourite ? '2' : '1.5');
  dot.dataset.excluded = p.excluded ? '1' : '';
  dot.dataset.favourite = p.favourite ? '1' : '';
  dot.dataset.band = p.band || '';
  const marks = [p.excluded ? 'excluded' : '', p.favourite ? 'favourite' : '', p.band || ''].filter(Boolean);
  dot.setAttribute('aria-label', `${p.path}, motif ${p.cluster + 1}${marks.length ? `, ${marks.join(', ')}` : ''}`);
}

function hover(p) {
  const box = $('hover');
  const img = document.createElement('img');
  img.src = `/api/originals/${p.photo_id}/preview`;
  img.alt = p.path;
  box.querySelector('.img').replaceChildren(img);
  const mark = p.excluded ? ' · excluded' : '';
  box.querySelector('figcaption').textContent = `${p.path} · motif ${p.cluster + 1}${mark}`;
}

async function toggle(p, favourite) {
  busy(1);
  try {
    if (favourite) {
      await api('POST', '/api/curator/favourites', { photo_id: p.photo_id, on: !p.favourite });
      p.favourite = !p.favourite;
    } else {
      await api('POST', '/api/curator/exclusions', { photo_id: p.photo_id, on: !p.excluded });
      p.excluded = !p.excluded;
    }
    style(byId.get(p.photo_id).dot, p);
    $('status').textContent = '';
  } catch (err) {
    $('status').textContent = err.message;
  } finally {
    busy(-1);
  }
}

function draw(points) {
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', String(W));
  svg.setAttribute('height', String(H));
  svg.style.background = '#fafafa';
  for (const p of points) {
    const dot = document.createElementNS(SVG, 'circle');
    // an excluded keeper is drawn hollow: its whole disc still takes the click that brings it back
    dot.setAttribute('pointer-events', 'all');
    dot.setAttribute('cx', (20 + ((p.x - x0) / (x1 - x0 || 1)) * (W - 40)).toFixed(1));
    dot.setAttribute('cy', (H - 20 - ((p.y - y0) / (y1 - y0 || 1)) * (H - 40)).toFixed(1));
    dot.setAttribute('r', '5');
    dot.dataset.photoId = String(p.photo_id);
    const title = document.createElementNS(SVG, 'title');
    title.textContent = p.path;
    dot.append(title);
    style(dot, p);
    dot.addEventListener('mouseenter', () => hover(p));
    dot.addEventListener('click', (ev) => toggle(p, ev.shiftKey));
    // the keyboard reaches every keeper too: Tab to it (its preview shows), Enter excludes, Shift+Enter favours
    dot.setAttribute('tabindex', '0');
    dot.setAttribute('role', 'button');
    dot.addEventListener('focus', () => hover(p));
    dot.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      ev.preventDefault();
      toggle(p, ev.shiftKey);
    });
    svg.append(dot);
    byId.set(p.photo_id, { p, dot });
  }
  $('map').replaceChildren(svg);
}

async function run() {
  busy(1);
  $('status').textContent = 'running…';
  try {
    const body = {
      method: $('method').value,
      target: Number($('target').value),
      iterations: Number($('iterations').value),
    };
    const r = await api('POST', '/api/curator/run', body);
    const bands = new Map(r.selection.map((s) => [s.photoId, s.band]));
    for (const { p, dot } of byId.values()) {
      p.band = bands.get(p.photo_id) || null;
      p.picked = bands.has(p.photo_id);
      style(dot, p);
    }
    const count = (b) => r.selection.filter((s) => s.band === b).length;
    $('status').textContent =
      `${r.method}: ${r.selection.length} keepers (${r.model}), ${r.iterations} iterations: ` +
      `${count('stable')} picked >= 90% of the time, ${count('frequent')} >= 70%, ${count('occasional')} less often`;
    $('export').disabled = false;
  } catch (err) {
    $('status').textContent = err.message;
  } finally {
    busy(-1);
  }
}

async function exportRun() {
  busy(1);
  try {
    const e = await api('POST', '/api/curator/export', {});
    $('status').textContent = `exported ${e.copied.length} photos to ${e.dir} (CSV ${e.csv})`;
  } catch (err) {
    $('status').textContent = err.message;
  } finally {
    busy(-1);
  }
}

$('run').addEventListener('click', run);
$('export').addEventListener('click', exportRun);
busy(1);
api('GET', '/api/motifs')
  .then((m) => {
    $('summary').textContent = `${m.points.length} keepers in ${m.k} motifs (${m.model}; ${m.criterion})`;
    draw(m.points);
    document.body.dataset.ready = '1';
  })
  .catch((err) => {
    $('summary').textContent = err.message;
  })
  .finally(() => busy(-1));
