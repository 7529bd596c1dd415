/**
 * A tonal and technical descriptor of a photo from its pixels, next to the model vector: the photographer's taste
 * shows in tone (contrast, fog, flat or hard light) and technique (blur, exposure, a tilted horizon), which image
 * models trained for object recognition partly ignore.
 */

/** The measures, in output order. */
export const DESCRIPTOR_NAMES = ['brightness', 'contrast', 'dynamic_range', 'clip_black', 'clip_white', 'haze', 'sharpness', 'noise',
  'saturation', 'tilt_deg', 'tilt_strength', 'colourfulness'] as const;

/**
 * The descriptor of an upright RGB image; every value is finite. Images wider than 256 px are first halved (2x2
 * mean) until they are not: the measures describe the picture, not the pixels, and this keeps the cost near 3 ms.
 */
export function pixelDescriptor(rgb: Uint8Array, width: number, height: number): Float32Array {
  while (width > 256 && height >= 4) {
    const half = halve(rgb, width, height);
    rgb = half.rgb;
    width = half.width;
    height = half.height;
  }
  return measure(rgb, width, height);
}

/** 2x2 mean downscale. */
function halve(rgb: Uint8Array, w: number, h: number): { rgb: Uint8Array; width: number; height: number } {
  const hw = w >> 1;
  const hh = h >> 1;
  const out = new Uint8Array(hw * hh * 3);
  for (let y = 0; y < hh; y++) {
    const r0 = 2 * y * w * 3;
    const r1 = r0 + w * 3;
    for (let x = 0; x < hw; x++) {
      const a = r0 + 6 * x;
      const b = r1 + 6 * x;
      const o = (y * hw + x) * 3;
      out[o] = ((rgb[a] as number) + (rgb[a + 3] as number) + (rgb[b] as number) + (rgb[b + 3] as number) + 2) >> 2;
      out[o + 1] = ((rgb[a + 1] as number) + (rgb[a + 4] as number) + (rgb[b + 1] as number) + (rgb[b + 4] as number) + 2) >> 2;
      out[o + 2] = ((rgb[a + 2] as number) + (rgb[a + 5] as number) + (rgb[b + 2] as number) + (rgb[b + 5] as number) + 2) >> 2;
    }
  }
  return { rgb: out, width: hw, height: hh };
}

function measure(rgb: Uint8Array, width: number, height: number): Float32Array {
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

/** Mean of a (2r+1)^2 minimum filter: separable, each pass in O(n) with van Herk's block prefix and suffix minima. */
function minFilterMean(src: Uint8Array, w: number, h: number, r: number): number {
  const k = 2 * r + 1;
  const line = new Uint8Array(Math.max(w, h) + 2 * r);
  const pre = new Uint8Array(line.length);
  const suf = new Uint8Array(line.length);
  const tmp = new Uint8Array(src.length);
  // min over [i - r, i + r] of a line padded with 255 at both ends; the line is read from `buf` at `start`, `step`
  const pass = (buf: Uint8Array, start: number, step: number, n: number, dst: Uint8Array | null): number => {
    const len = n + 2 * r;
    line.fill(255, 0, len);
    for (let i = 0, o = start; i < n; i++, o += step) line[i + r] = buf[o] as number;
    for (let i = 0; i < len; i++) {
      const v = line[i] as number;
      const p = pre[i - 1] as number;
      pre[i] = i % k === 0 || v < p ? v : p;
    }
    for (let i = len - 1; i >= 0; i--) {
      const v = line[i] as number;
      const q = suf[i + 1] as number;
      suf[i] = i === len - 1 || (i + 1) % k === 0 || v < q ? v : q;
    }
    let total = 0;
    for (let i = 0, o = start; i < n; i++, o += step) {
      const a = suf[i] as number;
      const b = pre[i + 2 * r] as number;
      const m = a < b ? a : b;
      if (dst) dst[o] = m;
      total += m;
    }
    return total;
  };
  for (let yy = 0; yy < h; yy++) pass(src, yy * w, 1, w, tmp);
  let total = 0;
  for (let x = 0; x < w; x++) total += pass(tmp, x, w, h, null);
  return total / (w * h);
}

/** Variance of the 3x3 Laplacian, and a noise sigma (Immerkaer's estimator) on the flattest half of the image. */
function laplacianStats(y: Float32Array, w: number, h: number): { variance: number; noise: number } {
  if (w < 3 || h < 3) return { variance: 0, noise: 0 };
  let s = 0; let s2 = 0; let count = 0;
  const m = Math.ceil(((w - 2) * (h - 2)) / 2) + 1;
  const imm = new Float32Array(m);
  const grad = new Float32Array(m);
  const gradHist = new Uint32Array(1024);
  let k = 0;
  for (let yy = 1; yy < h - 1; yy++) {
    for (let x = 1; x < w - 1; x++) {
      const i = yy * w + x;
      const c = y[i] as number;
      const lap = (y[i - 1] as number) + (y[i + 1] as number) + (y[i - w] as number) + (y[i + w] as number) - 4 * c;
      s += lap; s2 += lap * lap; count++;
      if ((x + yy) % 2 === 0) {
        // Immerkaer's mask: [1 -2 1; -2 4 -2; 1 -2 1], insensitive to edges and ramps up to second order
        const v = (y[i - w - 1] as number) - 2 * (y[i - w] as number) + (y[i - w + 1] as number) - 2 * (y[i - 1] as number) + 4 * c
          - 2 * (y[i + 1] as number) + (y[i + w - 1] as number) - 2 * (y[i + w] as number) + (y[i + w + 1] as number);
        const g = Math.abs((y[i + 1] as number) - (y[i - 1] as number)) + Math.abs((y[i + w] as number) - (y[i - w] as number));
        imm[k] = v < 0 ? -v : v;
        grad[k] = g;
        gradHist[g > 1023 ? 1023 : g | 0]++;
        k++;
      }
    }
  }
  const mean = s / count;
  // noise from the flattest half, where the mask sees grain and not structure: the gradient median by histogram
  let acc = 0;
  let cut = 0;
  while (cut < 1023 && acc + (gradHist[cut] as number) < k / 2) acc += gradHist[cut++] as number;
  let sum = 0;
  let used = 0;
  for (let j = 0; j < k; j++) {
    if ((grad[j] as number) < cut + 1) { sum += imm[j] as number; used++; }
  }
  const noise = used ? (Math.sqrt(Math.PI / 2) / 6) * (sum / used) : 0;
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
      const mag2 = gx * gx + gy * gy;
      if (mag2 < 1600) continue;
      const mag = Math.sqrt(mag2);
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
