/**
 * Street-like scenes for the sample archive: sky by time of day, buildings in depth layers, fog, hard light,
 * figures; and a hidden taste over those visible properties that decides what the sample photographer keeps.
 * Pure TypeScript over typed arrays: a 960x640 frame renders in a few tens of milliseconds.
 */
import { Rng } from '../util/rng.js';

/** A person in the frame. */
export interface Figure {
  /** Horizontal centre, 0..1. */
  x: number;
  /** Height as a fraction of the frame height (near figures are big). */
  scale: number;
  /** Standing in a patch of hard light. */
  lit: boolean;
  /** Stride, 0..1. */
  pose: number;
}

/** Everything that decides what a frame looks like. */
export interface SceneParams {
  /** Hour of day, 0..24. */
  timeOfDay: number;
  /** Haze that fades distant layers, 0..1. */
  fog: number;
  /** Tonal contrast multiplier, 0.5..1.8. */
  contrast: number;
  /** Hardness of sunlight, 0..1. */
  light: number;
  /** Exposure error in EV. */
  exposure: number;
  /** Building depth layers, 1..5. */
  layers: number;
  buildingSeed: number;
  figures: Figure[];
  /** Horizon tilt in degrees. */
  tilt: number;
  /** Motion or focus blur, 0..1. */
  blur: number;
  /** Sensor noise, 0..1. */
  grain: number;
  /** Colour saturation, 0..1.3. */
  saturation: number;
}

/** The character of one walk: when, in what weather, and how inspired (keeper-rich) it was. */
export interface SessionStyle {
  hour: number;
  fogBias: number;
  lightBias: number;
  richness: number;
}

export type Misfire = 'black' | 'white' | 'blur';

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** A walk's style. */
export function sampleSessionStyle(rng: Rng): SessionStyle {
  return {
    hour: rng.uniform(6, 21),
    fogBias: rng.chance(0.3) ? rng.uniform(0.45, 0.85) : rng.uniform(0, 0.2),
    lightBias: rng.chance(0.5) ? rng.uniform(0.55, 0.95) : rng.uniform(0, 0.3),
    richness: rng.normal(0, 1),
  };
}

function sampleFigures(rng: Rng, light: number): Figure[] {
  const u = rng.next();
  const n = u < 0.25 ? 0 : u < 0.55 ? 1 : u < 0.75 ? 2 : u < 0.85 ? 3 : rng.int(4, 8);
  return separate(
    Array.from({ length: n }, () => ({
      x: rng.uniform(0.06, 0.94),
      scale: 0.08 + 0.5 * rng.next() ** 2,
      lit: light > 0.4 && rng.chance(0.5),
      pose: rng.next(),
    })),
  );
}

/**
 * The moment a street photographer releases: people are seldom hidden behind one another. Nearer figures stay where
 * they were drawn; a farther one mostly behind a nearer one steps to the nearer side where it is clear of it (when
 * there is room, else it stays). Draws nothing, so every other value of the scene is unchanged.
 */
function separate(figures: Figure[]): Figure[] {
  if (figures.length < 2) return figures;
  // about half the width of a figure's box in frame widths (arms and stride included)
  const half = (f: Figure): number => 0.18 * f.scale;
  const placed: Figure[] = [];
  for (const f of [...figures].sort((a, b) => b.scale - a.scale)) {
    // blocked: more than 30% of the figure's width behind a nearer one
    const blocking = (x: number): Figure | undefined => placed.find((o) => Math.abs(o.x - x) < half(o) + 0.4 * half(f));
    const near = blocking(f.x);
    if (near) {
      const gap = half(near) + half(f) + 0.01;
      const options = [near.x - gap, near.x + gap].filter((x) => x >= 0.04 && x <= 0.96 && !blocking(x));
      const best = options.sort((a, b) => Math.abs(a - f.x) - Math.abs(b - f.x))[0];
      if (best !== undefined) f.x = best;
    }
    placed.push(f);
  }
  return figures;
}

/** A frame taken `minutes` after the start of a walk. */
export function sampleSceneParams(rng: Rng, style: SessionStyle, minutes: number): SceneParams {
  const timeOfDay = (style.hour + minutes / 60) % 24;
  const night = timeOfDay < 6 || timeOfDay > 21;
  const light = clamp(style.lightBias + rng.normal(0, 0.15), 0, 1) * (night ? 0.2 : 1);
  return {
    timeOfDay,
    fog: clamp(style.fogBias + rng.normal(0, 0.1), 0, 1),
    contrast: clamp(rng.normal(1.05, 0.25), 0.5, 1.8),
    light,
    exposure: clamp(rng.normal(0, 0.4), -2, 2),
    layers: rng.int(1, 5),
    buildingSeed: rng.uint32(),
    figures: sampleFigures(rng, light),
    tilt: rng.chance(0.03) ? (rng.chance(0.5) ? 1 : -1) * rng.uniform(3, 8) : rng.normal(0, 0.7),
    blur: rng.chance(0.05) ? rng.uniform(0.4, 0.9) : rng.uniform(0, 0.15),
    grain: rng.uniform(0.05, 0.3) + (night ? 0.3 : 0),
    saturation: rng.chance(0.5) ? rng.uniform(0.05, 0.4) : rng.uniform(0.4, 1.1),
  };
}

/** The next frame of a burst: the same scene a quarter second later. */
export function burstSibling(p: SceneParams, rng: Rng): SceneParams {
  return {
    ...p,
    // a walker seen from the side moves on a step in a quarter second (about a fifth of his height, in frame widths)
    figures: p.figures.map((f, i) => {
      const look = figureLook(p.buildingSeed, i);
      const walk = look.profile ? look.facing * 0.137 * f.scale : 0;
      return {
        ...f,
        x: clamp(f.x + walk + rng.normal(0, 0.02), 0.02, 0.98),
        pose: clamp(f.pose + rng.normal(0, 0.25), 0, 1),
      };
    }),
    exposure: p.exposure + rng.normal(0, 0.05),
    blur: clamp(p.blur + rng.normal(0, 0.03), 0, 1),
  };
}

/** A technical failure: a black frame, a blown-out frame, or a blurred misfire. */
export function misfireParams(kind: Misfire, base: SceneParams): SceneParams {
  if (kind === 'black') return { ...base, exposure: -6 };
  if (kind === 'white') return { ...base, exposure: 5 };
  return { ...base, blur: 1, tilt: base.tilt + 14 };
}

// mean and spread of the raw taste over sampled frames, so the score is roughly N(0, 1)
const TASTE_MEAN = 0.56;
const TASTE_SD = 0.95;

/** The terms of the hidden taste, each named, in raw units (their sum, standardised, is {@link tasteScore}). */
export const TASTE_TERMS = [
  'fog_depth',
  'lit_figure',
  'contrast',
  'thirds',
  'figure_size',
  'golden_hour',
  'muted_colour',
  'empty_flat',
  'tilt',
  'blur',
  'exposure',
  'crowd',
] as const;
export type TasteTerm = (typeof TASTE_TERMS)[number];

/**
 * The hidden taste as the amounts it adds up, in the order it adds them (which keeps the sum bit-identical to the
 * generator's first version), each split into its named terms.
 */
function tasteParts(p: SceneParams): Array<[number, Partial<Record<TasteTerm, number>>]> {
  const n = p.figures.length;
  const one = (term: TasteTerm, v: number): [number, Partial<Record<TasteTerm, number>>] => [v, { [term]: v }];
  const parts = [
    // fog with depth
    one('fog_depth', p.fog > 0.3 && p.layers >= 3 ? 1.2 * p.fog : 0),
    // hard light falling on a person
    one('lit_figure', p.figures.some((f) => f.lit) ? 1.3 * p.light : 0),
    one('contrast', 0.8 * (p.contrast - 1)),
  ];
  // one or two people near the thirds, at a readable size
  if (n >= 1 && n <= 2) {
    for (const f of p.figures) {
      const thirds = Math.min(Math.abs(f.x - 1 / 3), Math.abs(f.x - 2 / 3)) < 0.08 ? 0.5 : 0;
      const size = f.scale >= 0.2 && f.scale <= 0.5 ? 0.3 : 0;
      parts.push([thirds + size, { thirds, figure_size: size }]);
    }
  }
  const h = p.timeOfDay;
  parts.push(
    one('golden_hour', (h >= 6.5 && h <= 8.5) || (h >= 17 && h <= 20) ? 0.5 : 0),
    one('muted_colour', 0.6 * (0.5 - p.saturation)),
  );
  // what he never keeps
  if (n === 0 && p.light < 0.3 && p.contrast < 1) parts.push(one('empty_flat', -1));
  if (Math.abs(p.tilt) > 2) parts.push(one('tilt', -0.5 * (Math.abs(p.tilt) - 2)));
  if (p.blur > 0.3) parts.push(one('blur', -4 * (p.blur - 0.3)));
  if (Math.abs(p.exposure) > 0.7) parts.push(one('exposure', -2 * (Math.abs(p.exposure) - 0.7)));
  if (n > 5) parts.push(one('crowd', -0.6));
  return parts;
}

/** The hidden taste of the sample photographer term by term (raw units), over visible properties only. */
export function tasteTerms(p: SceneParams): Record<TasteTerm, number> {
  const out = Object.fromEntries(TASTE_TERMS.map((t) => [t, 0])) as Record<TasteTerm, number>;
  for (const [, split] of tasteParts(p)) for (const [t, v] of Object.entries(split)) out[t as TasteTerm] += v;
  return out;
}

/** The hidden taste of the sample photographer: the sum of its terms, scaled to roughly N(0, 1). Deterministic. */
export function tasteScore(p: SceneParams): number {
  let s = 0;
  for (const [v] of tasteParts(p)) s += v;
  return (s - TASTE_MEAN) / TASTE_SD;
}

type Rgb = [number, number, number];

function skyColours(hour: number): [Rgb, Rgb] {
  if (hour < 5.5 || hour > 21)
    return [
      [8, 12, 28],
      [30, 34, 60],
    ];
  if (hour < 6.5 || hour > 20)
    return [
      [30, 55, 110],
      [110, 120, 170],
    ];
  if (hour < 8.5 || hour > 17)
    return [
      [90, 110, 150],
      [245, 170, 90],
    ];
  return [
    [110, 150, 205],
    [215, 225, 235],
  ];
}

const mix = (a: number, b: number, t: number): number => a + (b - a) * t;

/** The scene's lighting, shared by the buildings, the street and the figures. */
interface Light {
  horizon: number;
  fogColour: Rgb;
  night: boolean;
  sunTint: Rgb;
  /** Direction of the bands of sun and shadow, their period and a shift that keeps positions positive. */
  ca: number;
  sa: number;
  period: number;
  shift: number;
}

/** Where the horizon of a scene lies, in rows (the first draw of the scene's building generator). */
function horizonRow(rng: Rng, h: number): number {
  return Math.round(h * (0.52 + rng.uniform(-0.06, 0.06)));
}

function paintSkyStreet(
  buf: Float32Array,
  w: number,
  h: number,
  p: SceneParams,
  light: Light,
  skyTop: Rgb,
  skyHorizon: Rgb,
): void {
  const { horizon, fogColour, night } = light;
  for (let y = 0; y < h; y++) {
    let c: Rgb;
    if (y < horizon) {
      const t = y / horizon;
      c = [mix(skyTop[0], skyHorizon[0], t), mix(skyTop[1], skyHorizon[1], t), mix(skyTop[2], skyHorizon[2], t)];
    } else {
      const t = (y - horizon) / (h - horizon);
      const g = night ? mix(40, 18, t) : mix(120, 60, t);
      c = [g, g * 0.98, g * 0.95];
      if (Math.floor(t * 9) % 3 === 1) c = [c[0] * 1.08, c[1] * 1.08, c[2] * 1.08];
    }
    const f = y >= horizon ? p.fog * 0.35 : 0;
    const row = y * w * 3;
    const r = mix(c[0], fogColour[0], f);
    const g = mix(c[1], fogColour[1], f);
    const b = mix(c[2], fogColour[2], f);
    for (let x = 0; x < w; x++) {
      buf[row + x * 3] = r;
      buf[row + x * 3 + 1] = g;
      buf[row + x * 3 + 2] = b;
    }
  }
}

/** Buildings, far layers first; hard light cuts diagonal bands of sun and shadow across them. */
function paintBuildings(buf: Float32Array, w: number, h: number, p: SceneParams, light: Light, rng: Rng): void {
  const { horizon, fogColour, night, ca, sa, period, shift, sunTint } = light;
  const sunR = (1 + 0.9 * p.light) * sunTint[0];
  const sunG = (1 + 0.9 * p.light) * sunTint[1];
  const sunB = (1 + 0.9 * p.light) * sunTint[2];
  const shadeK = 1 - 0.55 * p.light;
  for (let l = 0; l < p.layers; l++) {
    const near = (l + 1) / p.layers;
    const fogAmount = p.fog * 0.92 * (1 - near * 0.75);
    const base = horizon + Math.round(l * h * 0.025);
    let x = -Math.round(rng.uniform(0, w * 0.1));
    while (x < w) {
      const bw = Math.round(w * rng.uniform(0.05, 0.2) * (0.6 + near * 0.6));
      const bh = Math.round(h * rng.uniform(0.12, 0.42) * (0.55 + near * 0.6));
      const shade = rng.uniform(55, 150) * (night ? 0.35 : 1);
      const warm = rng.uniform(0.9, 1.1);
      const col: Rgb = [shade * warm, shade, shade / warm];
      const top = Math.max(0, base - bh);
      const x0 = Math.max(0, x);
      const x1 = Math.min(w, x + bw);
      const windows = near > 0.5 && bw > 24;
      const wx = Math.max(6, Math.round(bw / rng.int(3, 6)));
      const wy = Math.max(8, Math.round(bh / rng.int(4, 9)));
      const lit = night ? 1.9 : 0.6;
      for (let y = top; y < base && y < h; y++) {
        const row = y * w * 3;
        const winRow = windows && (y - top) % wy > wy * 0.35 && y - top > wy * 0.5;
        for (let xx = x0; xx < x1; xx++) {
          let r = col[0];
          let g = col[1];
          let b = col[2];
          if (winRow && (xx - x) % wx > wx * 0.35) {
            r *= lit;
            g *= lit;
            b *= lit * (night ? 0.7 : 1.1);
          }
          if (p.light > 0.05) {
            if ((xx * ca + y * sa + shift) % period < period * 0.45) {
              r *= sunR;
              g *= sunG;
              b *= sunB;
            } else {
              r *= shadeK;
              g *= shadeK;
              b *= shadeK;
            }
          }
          const o = row + xx * 3;
          buf[o] = mix(r, fogColour[0], fogAmount);
          buf[o + 1] = mix(g, fogColour[1], fogAmount);
          buf[o + 2] = mix(b, fogColour[2], fogAmount);
        }
      }
      x += bw + Math.round(rng.uniform(0, w * 0.03));
    }
  }
}

/** Hard light on the street: bands of sun and shadow. */
function paintStreetLight(buf: Float32Array, w: number, h: number, p: SceneParams, light: Light): void {
  if (p.light <= 0.05) return;
  const { horizon, ca, sa, period, shift } = light;
  for (let y = horizon + Math.round(h * 0.12); y < h; y++) {
    const row = y * w * 3;
    for (let xx = 0; xx < w; xx++) {
      const k = (xx * ca - y * sa * 0.5 + shift) % period < period * 0.4 ? 1 + 0.7 * p.light : 1 - 0.4 * p.light;
      buf[row + xx * 3] = (buf[row + xx * 3] as number) * k;
      buf[row + xx * 3 + 1] = (buf[row + xx * 3 + 1] as number) * k;
      buf[row + xx * 3 + 2] = (buf[row + xx * 3 + 2] as number) * k;
    }
  }
}

/** Renders the scene as interleaved RGB bytes, width x height, before blur (see `blurSigma`). */
export function renderScene(p: SceneParams, width: number, height: number): Uint8Array {
  const w = width;
  const h = height;
  const buf = new Float32Array(w * h * 3);
  const rng = new Rng(p.buildingSeed >>> 0);
  const [skyTop, skyHorizon] = skyColours(p.timeOfDay);
  const horizon = horizonRow(rng, h);
  const fogColour: Rgb = [mix(skyHorizon[0], 200, 0.5), mix(skyHorizon[1], 200, 0.5), mix(skyHorizon[2], 200, 0.5)];
  const night = p.timeOfDay < 6 || p.timeOfDay > 21;
  const angle = rng.uniform(0.5, 1.1) * (rng.chance(0.5) ? 1 : -1);
  const period = w * rng.uniform(0.18, 0.35);
  const light: Light = {
    horizon,
    fogColour,
    night,
    ca: Math.cos(angle),
    sa: Math.sin(angle),
    period,
    shift: period * Math.ceil((w + h) / period + 2),
    sunTint: p.timeOfDay < 8.5 || p.timeOfDay > 17 ? [1.25, 1.1, 0.85] : [1.15, 1.12, 1.05],
  };
  paintSkyStreet(buf, w, h, p, light, skyTop, skyHorizon);
  paintBuildings(buf, w, h, p, light, rng);
  paintStreetLight(buf, w, h, p, light);
  // figures, small (far) first, so the near ones stand in front
  const order = p.figures.map((f, i) => ({ f, i })).sort((a, b) => a.f.scale - b.f.scale);
  for (const { f, i } of order) paintFigure(buf, w, h, p, light, f, figureLook(p.buildingSeed, i));
  let img = buf;
  if (Math.abs(p.tilt) > 0.05) img = rotate(img, w, h, (p.tilt * Math.PI) / 180);
  return finish(img, w, h, p);
}

// ---- people: a body of tapered limbs (capsules) over a skeleton that walks, in clothes, shaded by the scene's light

/** How one figure looks; drawn from the scene seed and the figure's place in the list, so a burst keeps its clothes. */
interface Look {
  coat: Rgb;
  trousers: Rgb;
  skin: Rgb;
  hair: Rgb;
  shoes: Rgb;
  /** Seen from the side (walking across the frame), else from the front or back. */
  profile: boolean;
  /** Which way a figure in profile walks: 1 to the right. */
  facing: 1 | -1;
  /** Build: shoulder width and limb thickness multiplier. */
  build: number;
  /** Short coat (jacket) or long coat reaching the knees. */
  longCoat: boolean;
}

const COATS: Rgb[] = [
  [34, 36, 44],
  [64, 54, 48],
  [128, 32, 38],
  [38, 58, 112],
  [156, 134, 102],
  [24, 24, 27],
  [58, 82, 60],
  [186, 96, 42],
  [24, 24, 27],
  [40, 40, 46],
  [150, 60, 110],
  [210, 170, 60],
  [206, 200, 190],
];
const TROUSERS: Rgb[] = [
  [30, 32, 42],
  [46, 62, 104],
  [84, 72, 60],
  [20, 20, 23],
  [142, 126, 100],
  [92, 92, 98],
];
const SKIN: Rgb[] = [
  [226, 190, 162],
  [200, 152, 122],
  [162, 112, 82],
  [112, 76, 56],
  [238, 204, 178],
];
const HAIR: Rgb[] = [
  [32, 24, 20],
  [72, 52, 32],
  [152, 112, 62],
  [22, 22, 22],
  [182, 180, 176],
];

function figureLook(seed: number, index: number): Look {
  const rng = new Rng(((seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)] as T;
  return {
    coat: pick(COATS),
    trousers: pick(TROUSERS),
    skin: pick(SKIN),
    hair: pick(HAIR),
    shoes: pick([
      [20, 18, 18],
      [60, 40, 30],
      [200, 200, 200],
    ] as Rgb[]),
    profile: rng.chance(0.45),
    facing: rng.chance(0.5) ? 1 : -1,
    build: rng.uniform(0.9, 1.12),
    longCoat: rng.chance(0.3),
  };
}

/** A tapered segment (a to b, radius ra to rb) in figure units (the figure is 1 tall), with its colour. */
interface Part {
  ax: number;
  ay: number;
  bx: number;
  by: number;
  ra: number;
  rb: number;
  colour: Rgb;
  hairline?: boolean;
}

/** The body's parts, back to front, in figure units: x from the centre line, y down from the top of the head. */
function bodyParts(f: Figure, look: Look): Part[] {
  const b = look.build;
  const stride = (0.15 + 0.85 * f.pose) * (look.profile ? 0.42 : 0.1);
  const dir = look.profile ? look.facing : 1;
  const limb = (x: number, y: number, angle: number, length: number): [number, number] => [
    x + Math.sin(angle) * length * dir,
    y + Math.cos(angle) * length,
  ];
  const hipY = 0.5;
  const parts: Part[] = [];
  const leg = (hx: number, angle: number, bend: number): Part[] => {
    const [kx, ky] = limb(hx, hipY, angle, 0.245);
    const [ax, ay] = limb(kx, ky, angle - bend, 0.235);
    return [
      { ax: hx, ay: hipY, bx: kx, by: ky, ra: 0.05 * b, rb: 0.038 * b, colour: look.trousers },
      { ax: kx, ay: ky, bx: ax, by: ay, ra: 0.037 * b, rb: 0.028 * b, colour: look.trousers },
      {
        ax,
        ay: ay + 0.012,
        bx: ax + (look.profile ? 0.06 * dir : 0),
        by: ay + 0.016,
        ra: 0.022,
        rb: 0.02,
        colour: look.shoes,
      },
    ];
  };
  const shoulderY = 0.185;
  const sw = (look.profile ? 0.06 : 0.125) * b;
  const arm = (sx: number, angle: number): Part[] => {
    const [ex, ey] = limb(sx, shoulderY, angle, 0.165);
    const [wx, wy] = limb(ex, ey, angle + (look.profile ? 0.35 : 0.05), 0.155);
    return [
      { ax: sx, ay: shoulderY, bx: ex, by: ey, ra: 0.036 * b, rb: 0.03 * b, colour: look.coat },
      { ax: ex, ay: ey, bx: wx, by: wy, ra: 0.03 * b, rb: 0.025 * b, colour: look.coat },
      { ax: wx, ay: wy, bx: wx, by: wy + 0.03, ra: 0.022, rb: 0.02, colour: look.skin },
    ];
  };
  const coatEnd = look.longCoat ? 0.72 : 0.55;
  const torso: Part[] = [
    {
      ax: 0,
      ay: shoulderY + 0.03,
      bx: 0,
      by: coatEnd - 0.06,
      ra: sw,
      rb: (look.longCoat ? 0.1 : 0.085) * b,
      colour: look.coat,
    },
    {
      ax: -sw + 0.035,
      ay: shoulderY + 0.02,
      bx: sw - 0.035,
      by: shoulderY + 0.02,
      ra: 0.04 * b,
      rb: 0.04 * b,
      colour: look.coat,
    },
  ];
  const head: Part[] = [
    { ax: 0, ay: 0.125, bx: 0, by: 0.17, ra: 0.03, rb: 0.034, colour: look.skin },
    {
      ax: 0.006 * dir * Number(look.profile),
      ay: 0.06,
      bx: 0,
      by: 0.09,
      ra: 0.058,
      rb: 0.052,
      colour: look.skin,
      hairline: true,
    },
  ];
  if (look.profile) {
    // walking across: the far arm and leg behind the body, the near ones in front, swinging against each other
    parts.push(...arm(0, -stride * 0.9), ...leg(0, -stride, 0.25 + 0.4 * f.pose), ...torso, ...leg(0, stride, 0.05));
    parts.push(...head, ...arm(0, stride * 0.9));
  } else {
    parts.push(...leg(-0.055 * b, -stride, 0.02), ...leg(0.055 * b, stride, 0.02), ...torso);
    parts.push(...arm(-sw + 0.01, -0.22 - stride * 0.3), ...arm(sw - 0.01, 0.22 + stride * 0.3), ...head);
  }
  // the lowest sole stands on the ground (y = 1)
  const bottom = Math.max(...parts.map((q) => Math.max(q.ay + q.ra, q.by + q.rb)));
  return parts.map((q) => ({ ...q, ay: q.ay + 1 - bottom, by: q.by + 1 - bottom }));
}

/** The bounds of the parts in figure units: left, right, top, bottom. */
function partBounds(parts: readonly Part[]): [number, number, number, number] {
  return [
    Math.min(...parts.map((q) => Math.min(q.ax - q.ra, q.bx - q.rb))),
    Math.max(...parts.map((q) => Math.max(q.ax + q.ra, q.bx + q.rb))),
    Math.min(...parts.map((q) => Math.min(q.ay - q.ra, q.by - q.rb))),
    Math.max(...parts.map((q) => Math.max(q.ay + q.ra, q.by + q.rb))),
  ];
}

/** Where a figure stands: the centre column, the row of its feet and its height, in pixels. */
function figurePlace(f: Figure, w: number, h: number, horizon: number): { cx: number; feet: number; fh: number } {
  const fh = f.scale * h;
  return {
    cx: f.x * w,
    feet: Math.min(h - 2, horizon + (h - horizon) * clamp((f.scale - 0.05) * 1.6, 0.02, 0.98)),
    fh,
  };
}

/** Coverage (0..1) of a pixel by a part, and where across the part it lies (-1 one edge, 1 the other). */
function partHit(q: Part, px: number, py: number, unit: number): [number, number] {
  const dx = q.bx - q.ax;
  const dy = q.by - q.ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? clamp(((px - q.ax) * dx + (py - q.ay) * dy) / len2, 0, 1) : 0;
  const ex = px - (q.ax + t * dx);
  const ey = py - (q.ay + t * dy);
  const r = mix(q.ra, q.rb, t);
  const d = Math.sqrt(ex * ex + ey * ey);
  const cover = clamp((r - d) / unit + 0.5, 0, 1);
  // across: the perpendicular offset, signed, over the radius (horizontal offset for a round part)
  const across = len2 > 0 ? (dx * (py - q.ay) - dy * (px - q.ax)) / Math.sqrt(len2) / r : ex / r;
  return [cover, clamp(-across * Math.sign(dy || 1), -1, 1)];
}

function paintFigure(
  buf: Float32Array,
  w: number,
  h: number,
  p: SceneParams,
  light: Light,
  f: Figure,
  look: Look,
): void {
  const { cx, feet, fh } = figurePlace(f, w, h, light.horizon);
  if (fh < 2) return;
  const parts = bodyParts(f, look);
  const [l, r, t] = partBounds(parts);
  const fogAmount = p.fog * 0.2 * (1 - clamp(f.scale * 3, 0, 1));
  const side = light.ca * Math.sign(light.sa || 1) >= 0 ? 1 : -1; // the lit side of every body
  // in the sun: the sun's colour; in shadow: darker the harder the light around (the street beside is in the sun)
  const shadow = 0.92 * (1 - 0.35 * p.light);
  const tint = light.night
    ? [0.3, 0.3, 0.36]
    : f.lit
      ? light.sunTint.map((v) => v * (1 + 0.2 * p.light))
      : [shadow, shadow, shadow * 1.06];
  const contrast = f.lit ? 0.55 : 0.35;
  const unit = 1 / fh;
  const x0 = Math.max(0, Math.floor(cx + l * fh));
  const x1 = Math.min(w, Math.ceil(cx + r * fh));
  const y0 = Math.max(0, Math.floor(feet - fh + t * fh));
  const y1 = Math.min(h, Math.ceil(feet + 1));
  for (let y = y0; y < y1; y++) {
    const py = (y + 0.5 - (feet - fh)) / fh;
    for (let x = x0; x < x1; x++) {
      const px = (x + 0.5 - cx) / fh;
      const o = (y * w + x) * 3;
      for (const q of parts) {
        const [cover, across] = partHit(q, px, py, unit);
        if (cover <= 0) continue;
        // hair on the crown (and the back of the head in profile), the face below it
        const hair = q.hairline === true && (py < q.ay - 0.012 || (look.profile && px * look.facing < -0.02));
        const c = hair ? look.hair : q.colour;
        // round limbs: the lit side brighter, the edges darker (which also parts an arm from the body)
        const shade = (1 + contrast * across * side - (f.lit ? 0.1 : 0)) * (1 - 0.35 * across ** 4);
        for (let k = 0; k < 3; k++) {
          const v = mix((c[k] as number) * (tint[k] as number) * shade, light.fogColour[k] as number, fogAmount);
          buf[o + k] = mix(buf[o + k] as number, v, cover);
        }
      }
    }
  }
  if (f.lit && fh > 20) castShadow(buf, w, h, cx, feet, fh, p.light);
}

/** A long shadow on the street from a figure standing in the sun. */
function castShadow(
  buf: Float32Array,
  w: number,
  h: number,
  cx: number,
  feet: number,
  fh: number,
  amount: number,
): void {
  const len = fh * 0.9 * amount;
  for (let y = Math.round(feet); y < Math.min(h, feet + fh * 0.05); y++) {
    const row = y * w * 3;
    for (let xx = Math.max(0, Math.round(cx)); xx < Math.min(w, Math.round(cx + len)); xx++) {
      buf[row + xx * 3] = (buf[row + xx * 3] as number) * 0.35;
      buf[row + xx * 3 + 1] = (buf[row + xx * 3 + 1] as number) * 0.35;
      buf[row + xx * 3 + 2] = (buf[row + xx * 3 + 2] as number) * 0.35;
    }
  }
}

/**
 * The box of each figure in a rendered frame (fractions of the frame: left, top, width, height; clipped to it), in
 * the order of `p.figures`; the tilt is applied as the renderer applies it. For benches and tests of detectors.
 */
export function figureBoxes(
  p: SceneParams,
  width: number,
  height: number,
): Array<{ x: number; y: number; w: number; h: number }> {
  const horizon = horizonRow(new Rng(p.buildingSeed >>> 0), height);
  const a = (p.tilt * Math.PI) / 180;
  const tilted = Math.abs(p.tilt) > 0.05;
  const zoom = 1 / (Math.abs(Math.cos(a)) + Math.abs(Math.sin(a)) * Math.max(width / height, height / width));
  const [mx, my] = [width / 2, height / 2];
  // a source pixel appears where the inverse of the renderer's sampling puts it: rotated by -a, scaled by 1 / zoom
  const place = (sx: number, sy: number): [number, number] =>
    tilted
      ? [
          mx + ((sx - mx) * Math.cos(a) + (sy - my) * Math.sin(a)) / zoom,
          my + (-(sx - mx) * Math.sin(a) + (sy - my) * Math.cos(a)) / zoom,
        ]
      : [sx, sy];
  return p.figures.map((f, i) => {
    const { cx, feet, fh } = figurePlace(f, width, height, horizon);
    const [l, r, t, b] = partBounds(bodyParts(f, figureLook(p.buildingSeed, i)));
    const corners = [
      [l, t],
      [r, t],
      [l, b],
      [r, b],
    ].map(([u, v]) => place(cx + (u as number) * fh, feet - fh + (v as number) * fh));
    const xs = corners.map((c) => clamp(c[0] / width, 0, 1));
    const ys = corners.map((c) => clamp(c[1] / height, 0, 1));
    return {
      x: Math.min(...xs),
      y: Math.min(...ys),
      w: Math.max(...xs) - Math.min(...xs),
      h: Math.max(...ys) - Math.min(...ys),
    };
  });
}

function rotate(src: Float32Array, w: number, h: number, a: number): Float32Array {
  const out = new Float32Array(src.length);
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  // zoom in a little so the corners stay filled, as a tilted camera frame would be
  const zoom = 1 / (Math.abs(cos) + Math.abs(sin) * Math.max(w / h, h / w));
  const cx = w / 2;
  const cy = h / 2;
  const zc = zoom * cos;
  const zs = zoom * sin;
  for (let y = 0; y < h; y++) {
    const dy = y - cy;
    let fx = cx - cx * zc - dy * zs + 0.5;
    let fy = cy - cx * zs + dy * zc + 0.5;
    for (let x = 0; x < w; x++, fx += zc, fy += zs) {
      const sx = Math.floor(fx);
      const sy = Math.floor(fy);
      const o = (y * w + x) * 3;
      if (sx >= 0 && sx < w && sy >= 0 && sy < h) {
        const s = (sy * w + sx) * 3;
        out[o] = src[s] as number;
        out[o + 1] = src[s + 1] as number;
        out[o + 2] = src[s + 2] as number;
      }
    }
  }
  return out;
}

/**
 * The Gaussian blur sigma, in pixels, that a frame of this width gets for its blur amount (0 = sharp). The blur is
 * applied by the JPEG encoder (libvips), which does it far faster than JavaScript.
 */
export function blurSigma(p: SceneParams, width: number): number {
  const sigma = p.blur * 0.012 * width;
  return sigma >= 0.3 ? sigma : 0;
}

/** Exposure (in linear light), contrast around mid-grey, saturation and grain; to bytes. */
function finish(img: Float32Array, w: number, h: number, p: SceneParams): Uint8Array {
  const gain = 2 ** p.exposure;
  const lut = new Float32Array(1024);
  for (let i = 0; i < 1024; i++) {
    const v = (i / 1023) * 1.6;
    const lin = v ** 2.2 * gain;
    const g = Math.min(1.6, lin) ** (1 / 2.2);
    lut[i] = (g - 0.5) * p.contrast + 0.5;
  }
  const out = new Uint8Array(w * h * 3);
  const sat = p.saturation;
  const grain = p.grain * 40;
  let seed = (p.buildingSeed ^ 0x9e3779b9) | 1;
  const scale = 1023 / 255 / 1.6;
  const idx = (v: number): number => {
    const i = (v * scale + 0.5) | 0;
    return i < 0 ? 0 : i > 1023 ? 1023 : i;
  };
  // Uint8ClampedArray rounds and clamps on store
  const clampedOut = new Uint8ClampedArray(out.buffer);
  for (let i = 0, o = 0; i < w * h; i++, o += 3) {
    const r = lut[idx(img[o] as number)] as number;
    const g = lut[idx(img[o + 1] as number)] as number;
    const b = lut[idx(img[o + 2] as number)] as number;
    const y = (0.299 * r + 0.587 * g + 0.114 * b) * (1 - sat);
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const n = ((seed & 1023) / 1023 - 0.5) * grain;
    clampedOut[o] = (y + r * sat) * 255 + n;
    clampedOut[o + 1] = (y + g * sat) * 255 + n;
    clampedOut[o + 2] = (y + b * sat) * 255 + n;
  }
  return out;
}
