/**
 * An independent reference for model preprocessing, written from the model card (torchvision `Resize` bilinear
 * with antialias, as PIL does it: a triangle filter whose support grows with the downscale factor), in plain
 * TypeScript, sharing no code with `lib/2-embed/preprocess.ts`.
 */

function resampleAxis(src: Float32Array, w: number, h: number, out: number, horizontal: boolean): Float32Array {
  const len = horizontal ? w : h;
  const other = horizontal ? h : w;
  const dst = new Float32Array((horizontal ? out * h : w * out) * 3);
  const scale = len / out;
  const support = Math.max(1, scale);
  for (let o = 0; o < out; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(len, Math.ceil(centre + support));
    const weights: number[] = [];
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const wgt = Math.max(0, 1 - Math.abs((i + 0.5 - centre) / support));
      weights.push(wgt);
      sum += wgt;
    }
    for (let q = 0; q < other; q++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = lo; i < hi; i++)
          acc += (src[(horizontal ? q * w + i : i * w + q) * 3 + c] as number) * (weights[i - lo] as number);
        dst[(horizontal ? q * out + o : o * w + q) * 3 + c] = acc / sum;
      }
    }
  }
  return dst;
}

/** Shorter side to `resize`, centre crop `size`, to [0,1], minus mean, over std, NCHW. */
export function referenceTensor(
  rgb: Uint8Array,
  w: number,
  h: number,
  resize: number,
  size: number,
  mean: number[],
  std: number[],
): Float32Array {
  const scale = resize / Math.min(w, h);
  const rw = Math.round(w * scale);
  const rh = Math.round(h * scale);
  const across = resampleAxis(Float32Array.from(rgb), w, h, rw, true);
  const both = resampleAxis(across, rw, h, rh, false);
  const left = Math.floor((rw - size) / 2);
  const top = Math.floor((rh - size) / 2);
  const out = new Float32Array(3 * size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.round(Math.min(255, Math.max(0, both[((y + top) * rw + x + left) * 3 + c] as number))) / 255;
        out[c * size * size + y * size + x] = (v - (mean[c] as number)) / (std[c] as number);
      }
    }
  }
  return out;
}

/** Index of the largest value. */
export function argmax(values: ArrayLike<number>, from = 0, count = values.length): number {
  let best = from;
  for (let i = from; i < from + count; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best - from;
}
