// The inbox review page of the FLUX portal: plain JavaScript, no build step. It reads and writes through the
// portal's API; archive text is only ever set as textContent.
import { api, busy } from './api.js';
const PAGE = 60;
const BAND_NAMES = {
  review: 'review recommended',
  uncertain: 'uncertain',
  unlikely: 'probable non-keeper',
  failure: 'technical failure',
  unscored: 'not scored',
};
const state = { items: [], total: 0, photos: 0, decided: 0, expanded: new Set(), current: null, undo: [] };
const $ = (id) => document.getElementById(id);
let queue = Promise.resolve();
// bumped when a save fails: the decisions pressed before it was known are dropped, not applied to the photo the
// cursor stayed on
let epoch = 0;

function status(text) {
  $('status').textContent = text || '';
}

function filters() {
  const p = new URLSearchParams();
  if ($('band').value) p.set('band', $('band').value);
  if ($('day').value) p.set('day', $('day').value);
  return p;
}

/** The cards in screen order: each burst's best frame, then its other frames when opened. */
function visible() {
  const out = [];
  for (const item of state.items) {
    out.push(item);
    if (state.expanded.has(item.photo_id)) out.push(...item.stack);
  }
  return out;
}

function find(id) {
  return visible().find((x) => x.photo_id === id) || null;
}

function counter() {
  const left = state.photos - state.decided;
  $('counter').textContent = `${state.decided} decided · ${left} left · ${state.photos} photos`;
}

/** The preview with the detected people and faces over it (shown when the grid has class `people`). */
function boxed(img, people) {
  const wrap = document.createElement('span');
  wrap.className = 'boxed';
  wrap.append(img);
  const pct = (v) => `${(100 * Math.min(1, Math.max(0, v))).toFixed(2)}%`;
  for (const b of people) {
    const s = document.createElement('span');
    s.className = `pbox ${b.kind === 'face' ? 'face' : 'person'}`;
    s.title = `${b.kind} ${b.score.toFixed(2)}`;
    Object.assign(s.style, { left: pct(b.x), top: pct(b.y), width: pct(b.w), height: pct(b.h) });
    wrap.append(s);
  }
  return wrap;
}

function card(item) {
  const fig = document.createElement('figure');
  fig.className = `card${item.burst_rank > 1 ? ' frame' : ''}${item.decision ? ` ${item.decision}` : ''}`;
  if (item.surfaced) fig.classList.add('surfaced');
  if (item.photo_id === state.current) fig.classList.add('current');
  // one option of the grid's list: what a screen reader says of it, and which one the keys act on
  fig.setAttribute('role', 'option');
  fig.setAttribute('aria-selected', String(item.photo_id === state.current));
  fig.tabIndex = -1;
  const said = item.decision ? `, ${item.decision === 'keep' ? 'kept' : 'rejected'}` : '';
  fig.setAttribute('aria-label', `${item.path}, ${item.score_text} ${BAND_NAMES[item.band] || item.band}${said}`);
  fig.dataset.photoId = String(item.photo_id);
  fig.dataset.decision = item.decision || '';
  const box = document.createElement('div');
  box.className = 'img';
  if (item.preview) {
    const img = document.createElement('img');
    img.src = item.preview;
    img.alt = item.path;
    img.loading = 'lazy';
    if (item.people && item.people.length) box.append(boxed(img, item.people));
    else box.append(img);
  } else box.textContent = 'no preview';
  fig.append(box);
  if (item.decision) {
    const verdict = document.createElement('span');
    verdict.className = 'verdict';
    verdict.textContent = item.decision === 'keep' ? 'kept' : 'rejected';
    fig.append(verdict);
  }
  if (item.burst_rank === 1 && item.burst_size > 1) {
    const badge = document.createElement('span');
    badge.className = 'stackbadge';
    badge.textContent = `burst of ${item.burst_size}${state.expanded.has(item.photo_id) ? ' (open)' : ''}`;
    fig.append(badge);
  }
  const cap = document.createElement('figcaption');
  const score = document.createElement('b');
  score.className = `band-${item.band}`;
  score.textContent = item.score_text;
  cap.append(score, ` ${BAND_NAMES[item.band] || item.band}`);
  if (item.surfaced) {
    const surf = document.createElement('b');
    surf.className = 'surf';
    surf.textContent = ' · surfaced';
    cap.append(surf);
  }
  cap.append(document.createElement('br'), item.path);
  if (item.captured_at) {
    const small = document.createElement('small');
    small.textContent = item.captured_at;
    cap.append(document.createElement('br'), small);
  }
  fig.append(cap);
  fig.addEventListener('click', () => select(item.photo_id));
  return fig;
}

function render() {
  const grid = $('grid');
  grid.replaceChildren(...visible().map(card));
  $('more').hidden = state.items.length >= state.total;
  counter();
  const el = grid.querySelector('.current');
  if (el) {
    el.scrollIntoView({ block: 'nearest' });
    // the keys act on the current card: it holds the focus, unless a filter is being chosen
    if (!(document.activeElement instanceof HTMLSelectElement)) el.focus({ preventScroll: true });
  }
  showLoupe();
}

/** The larger view follows the cursor while it is open. */
function showLoupe() {
  if ($('loupe').hidden) return;
  const item = find(state.current);
  if (!item) return toggleLoupe(false);
  const src = `/api/photos/${item.photo_id}/large`;
  if ($('loupe-img').getAttribute('src') !== src) $('loupe-img').src = src;
  $('loupe-img').alt = item.path;
  $('loupe-cap').textContent =
    `${item.path} · ${item.score_text}${item.decision ? ` · ${item.decision === 'keep' ? 'kept' : 'rejected'}` : ''}`;
}

function toggleLoupe(open = $('loupe').hidden) {
  $('loupe').hidden = !open;
  showLoupe();
}

function select(id) {
  state.current = id;
  render();
}

async function refreshCounts() {
  const page = await api('GET', `/api/inbox?limit=0&${filters()}`);
  state.photos = page.photos;
  state.decided = page.decided;
  counter();
}

async function load(reset) {
  if (reset) {
    state.items = [];
    state.expanded.clear();
  }
  const p = filters();
  p.set('stacks', '1');
  p.set('limit', String(PAGE));
  p.set('offset', String(state.items.length));
  const page = await api('GET', `/api/inbox?${p}`);
  state.items.push(...page.items);
  Object.assign(state, { total: page.total, photos: page.photos, decided: page.decided });
  if (page.note) status(page.note);
  if (state.current === null || !find(state.current)) state.current = state.items[0] ? state.items[0].photo_id : null;
  render();
}

function move(step) {
  const list = visible();
  const i = list.findIndex((x) => x.photo_id === state.current);
  const next = Math.max(0, Math.min(list.length - 1, i + step));
  if (list[next]) select(list[next].photo_id);
  if (step > 0 && next >= list.length - 1 && state.items.length < state.total) run(() => load(false));
}

/**
 * Runs API work in order, one request after another, so undo always meets the state it expects. The work's answer,
 * a string, becomes the status line (empty clears it); without one the line stays as it is, so a failed save's
 * message is not wiped by the next unrelated success.
 */
function run(work) {
  busy(1);
  queue = queue
    .then(work)
    .then(
      (message) => {
        if (typeof message === 'string') status(message);
      },
      (err) => status(err.message),
    )
    .finally(() => busy(-1));
  return queue;
}

/** Sets a photo's decision on its card, whether its burst is open or closed. */
function apply(id, decision) {
  for (const item of state.items) for (const x of [item, ...item.stack]) if (x.photo_id === id) x.decision = decision;
}

/**
 * Decides the photo under the cursor when the press's turn comes (presses queue one after another), and moves on
 * once the decision is saved. A save that fails leaves the cursor on its photo with the message up.
 */
function decide(decision) {
  const pressed = epoch;
  run(async () => {
    const item = find(state.current);
    if (!item || pressed !== epoch) return undefined;
    let row;
    try {
      row = await api('POST', '/api/decisions', { photo_id: item.photo_id, decision });
    } catch (err) {
      epoch++;
      throw err;
    }
    apply(item.photo_id, row.decision);
    // the decision this one replaced, as the server read it: what an undo restores
    state.undo.push({ photo_id: item.photo_id, path: item.path, previous: row.previous });
    // on, unless the cursor was moved by hand while the photo was being saved
    if (state.current === item.photo_id) move(1);
    await refreshCounts();
    render();
    return '';
  });
}

function undo() {
  const pressed = epoch;
  run(async () => {
    // pressed behind a save that failed: it would undo an earlier decision, not the one that failed
    if (pressed !== epoch) return undefined;
    const last = state.undo[state.undo.length - 1];
    if (!last) return 'nothing to undo';
    if (last.previous) await api('POST', '/api/decisions', { photo_id: last.photo_id, decision: last.previous });
    else await api('DELETE', `/api/decisions/${last.photo_id}`);
    // taken off the list only once undone: a failed undo (the database busy) is tried again by the next U
    state.undo.pop();
    apply(last.photo_id, last.previous);
    // back to the photo, its burst opened when it lies in a closed one
    const holder = state.items.find((x) => x.stack.some((f) => f.photo_id === last.photo_id));
    if (holder) state.expanded.add(holder.photo_id);
    await refreshCounts();
    // a photo the filters hide: the cursor stays where it is, and the line says which photo was undone
    const shown = find(last.photo_id) !== null;
    if (shown) state.current = last.photo_id;
    render();
    return shown ? '' : `undone: ${last.path} (not shown under these filters)`;
  });
}

function toggleBurst() {
  const item = find(state.current);
  if (!item) return;
  const top = item.burst;
  if (state.expanded.has(top)) {
    state.expanded.delete(top);
    state.current = top;
  } else if (state.items.some((x) => x.photo_id === top && x.stack.length)) state.expanded.add(top);
  render();
}

const KEYS = {
  p: () => decide('keep'),
  x: () => decide('reject'),
  u: undo,
  e: toggleBurst,
  z: () => toggleLoupe(),
  Escape: () => toggleLoupe(false),
  ArrowRight: () => move(1),
  ArrowDown: () => move(1),
  ArrowLeft: () => move(-1),
  ArrowUp: () => move(-1),
};

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.target instanceof HTMLSelectElement) return;
  const action = KEYS[ev.key] || KEYS[ev.key.toLowerCase()];
  if (!action) return;
  ev.preventDefault();
  action();
});

async function loadFilters() {
  const f = await api('GET', '/api/inbox/filters');
  for (const b of f.bands) $('band').append(new Option(`${BAND_NAMES[b.band] || b.band} (${b.photos})`, b.band));
  for (const d of f.days) if (d.day) $('day').append(new Option(`${d.day} (${d.photos})`, d.day));
}

for (const id of ['band', 'day']) {
  $(id).addEventListener('change', () => {
    $(id).blur();
    state.current = null;
    run(() => load(true));
  });
}
$('more').addEventListener('click', () => run(() => load(false)));
$('loupe').addEventListener('click', () => toggleLoupe(false));
$('show-people').addEventListener('change', (ev) => $('grid').classList.toggle('people', ev.target.checked));
busy(0);
run(async () => {
  await loadFilters();
  await load(true);
  document.body.dataset.ready = '1';
});
