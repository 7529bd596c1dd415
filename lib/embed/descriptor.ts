/**
 * A tonal and technical descriptor of a photo from its pixels, next to the model vector: the photographer's taste
 * shows in tone (contrast, fog, flat or hard light) and technique (blur, exposure, a tilted horizon), which image
 * models trained for object recognition partly ignore.
 */

/** The measures, in output order. */
export const DESCRIPTOR_NAMES = ['brightness', 'contrast', 'dynamic_range', 'clip_black', 'clip_white', 'haze', 'sharpness', 'noise',
  'saturation', 'tilt_deg', 'tilt_strength', 'colourfulness'] as const;

/** The descriptor of an upright RGB image (a preview of about 384 px); every value is finite. */
export function pixelDescriptor(rgb: Uint8Array, width: number, height: number): Float32Array {
  const out = new Float32Array(DESCRIPTOR_NAMES.length);
  const n = width * height;
  if (n === 0 || rgb.length < n * 3) return out;
  const y = new Float32Array(n);
  const dark = new Uint8Array(n);
  const hist = new Uint32Array(256);
  let sum = 0;
  let sum2 = 0;
  let black = 0;
  let white = 0;
  let sat = 0;
  let satN = 0;
  let rgS = 0; let rgS2 = 0; let ybS = 0; let ybS2 = 0;
  for (let i = 0, o = 0; i < n; i++, o += 3) {
    const r = rgb[o] as number;
    const g = rgb[o + 1] as number;
    const b = rgb[o + 2] as number;
    const l = 0.299 * r + 0.587 * g + 0.114 * b;
    y[i] = l;
    sum += l;
    sum2 += l * l;
    hist[Math.min(255, Math.round(l))]++;
    const mx = Math.max(r, g, b);
    const mn = Math.min(r, g, b);
    dark[i] = mn;
    if (mx <= 3) black++;
    if (mx >= 252) white++;
    if (mx > 0) { sat += (mx - mn) / mx; satN++; }
    const rg = r - g;
    const yb = 0.5 * (r + g) - b;
    rgS += rg; rgS2 += rg * rg; ybS += yb; ybS2 += yb * yb;
  }
  const mean = sum / n;
  // brightness and contrast: exposure and the punch of the tones
  out[0] = mean / 255;
  out[1] = Math.sqrt(Math.max(0, sum2 / n - mean * mean)) / 255;
  // dynamic range: how much of the tonal scale the picture uses (flat light and fog use little)
  const pct = (q: number): number => {
    let acc = 0;
    for (let v = 0; v < 256; v++) { acc += hist[v] as number; if (acc >= q * n) return v; }
    return 255;
  };
  out[2] = (pct(0.99) - pct(0.01)) / 255;
  // clipping: crushed blacks and blown highlights
  out[3] = black / n;
  out[4] = white / n;
  // haze: the dark channel prior; in clear scenes most patches have some near-black channel, in fog none has
  out[5] = minFilterMean(dark, width, height, 3) / 255;
  // sharpness and noise from the Laplacian: focus and motion blur, high ISO grain
  const { variance, noise } = laplacianStats(y, width, height);
  out[6] = Math.log1p(variance);
  out[7] = noise;
  // saturation (HSV S) and colourfulness (Hasler and Suesstrunk): colour rendering, monochrome leanings
  out[8] = satN ? sat / satN : 0;
  const rgM = rgS / n; const ybM = ybS / n;
  const sdRg = Math.sqrt(Math.max(0, rgS2 / n - rgM * rgM));
  const sdYb = Math.sqrt(Math.max(0, ybS2 / n - ybM * ybM));
  out[11] = (Math.sqrt(sdRg * sdRg + sdYb * sdYb) + 0.3 * Math.sqrt(rgM * rgM + ybM * ybM)) / 100;
  // horizon tilt: the dominant angle of near-horizontal edges
  const tilt = dominantTilt(y, width, height);
  out[9] = tilt.deg;
  out[10] = tilt.strength;
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i] as number)) out[i] = 0;
  return out;
}

/** Mean of a (2r+1)^2 minimum filter, separable. */
function minFilterMean(src: Uint8Array, w: number, h: number, r: number): number {
  const tmp = new Uint8Array(src.length);
  for (let yy = 0; yy < h; yy++) {
    for (let x = 0; x < w; x++) {
      let m = 255;
      for (let k = Math.max(0, x - r); k <= Math.min(w - 1, x + r); k++) m = Math.min(m, src[yy * w + k] as number);
      tmp[yy * w + x] = m;
    }
  }
  let total = 0;
  for (let x = 0; x < w; x++) {
    for (let yy = 0; yy < h; yy++) {
      let m = 255;
      for (let k = Math.max(0, yy - r); k <= Math.min(h - 1, yy + r); k++) m = Math.min(m, tmp[k * w + x] as number);
      total += m;
    }
  }
  return total / (w * h);
}

/** Variance of the 3x3 Laplacian, and a noise sigma (Immerkaer's estimator) on the flattest half of the image. */
function laplacianStats(y: Float32Array, w: number, h: number): { variance: number; noise: number } {
  if (w < 3 || h < 3) return { variance: 0, noise: 0 };
  let s = 0; let s2 = 0; let count = 0;
  const imm: number[] = [];
  const grad: number[] = [];
  for (let yy = 1; yy < h - 1; yy++) {
    for (let x = 1; x < w - 1; x++) {
      const i = yy * w + x;
      const c = y[i] as number;
      const lap = (y[i - 1] as number) + (y[i + 1] as number) + (y[i - w] as number) + (y[i + w] as number) - 4 * c;
      s += lap; s2 += lap * lap; count++;
      if ((x + yy) % 2 === 0) {
        // Immerkaer's mask: [1 -2 1; -2 4 -2; 1 -2 1], insensitive to edges and ramps up to second order
        const m = (y[i - w - 1] as number) - 2 * (y[i - w] as number) + (y[i - w + 1] as number) - 2 * (y[i - 1] as number) + 4 * c
          - 2 * (y[i + 1] as number) + (y[i + w - 1] as number) - 2 * (y[i + w] as number) + (y[i + w + 1] as number);
        imm.push(Math.abs(m));
        grad.push(Math.abs((y[i + 1] as number) - (y[i - 1] as number)) + Math.abs((y[i + w] as number) - (y[i - w] as number)));
      }
    }
  }
  const mean = s / count;
  // noise from the flattest half, where the mask sees grain and not structure
  const order = grad.map((g, i) => [g, i] as const).sort((a, b) => a[0] - b[0]);
  const half = order.slice(0, Math.max(1, Math.floor(order.length / 2)));
  let acc = 0;
  for (const [, i] of half) acc += imm[i] as number;
  const noise = (Math.sqrt(Math.PI / 2) / 6) * (acc / half.length);
  return { variance: s2 / count - mean * mean, noise };
}

/** The dominant angle (degrees; positive when the horizon falls to the right, a clockwise tilt) of edges within 45 degrees of horizontal. */
function dominantTilt(y: Float32Array, w: number, h: number): { deg: number; strength: number } {
  const bins = new Float64Array(181); // -45..45 in 0.5 degree bins
  let total = 0;
  for (let yy = 1; yy < h - 1; yy++) {
    for (let x = 1; x < w - 1; x++) {
      const i = yy * w + x;
      const gx = (y[i - w + 1] as number) + 2 * (y[i + 1] as number) + (y[i + w + 1] as number) - (y[i - w - 1] as number) - 2 * (y[i - 1] as number) - (y[i + w - 1] as number);
      const gy = (y[i + w - 1] as number) + 2 * (y[i + w] as number) + (y[i + w + 1] as number) - (y[i - w - 1] as number) - 2 * (y[i - w] as number) - (y[i - w + 1] as number);
      const mag = Math.hypot(gx, gy);
      if (mag < 40) continue;
      // an edge line is perpendicular to its gradient; a horizontal edge has a vertical gradient
      let a = (Math.atan2(gx, gy) * 180) / Math.PI; // 0 for a vertical gradient pointing down
      if (a > 90) a -= 180;
      if (a < -90) a += 180;
      if (Math.abs(a) > 45) continue;
      const bin = Math.round((-a + 45) * 2);
      bins[bin] = (bins[bin] as number) + mag;
      total += mag;
    }
  }
  if (total === 0) return { deg: 0, strength: 0 };
  let best = 90;
  let bestV = -1;
  for (let b = 0; b < bins.length; b++) {
    const v = (bins[b - 1] ?? 0) * 0.5 + (bins[b] as number) + (bins[b + 1] ?? 0) * 0.5;
    if (v > bestV) { bestV = v; best = b; }
  }
  let near = 0;
  for (let b = Math.max(0, best - 2); b <= Math.min(180, best + 2); b++) near += bins[b] as number;
  return { deg: best / 2 - 45, strength: near / total };
}
