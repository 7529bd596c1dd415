/**
 * The detectors on ONNX Runtime: the TF.js graph models converted to ONNX (lib/onnx/tfjs-graph.ts) once and kept
 * beside their files, run on ONNX Runtime's native CPU kernels. The input is letterboxed here as the TF.js path does
 * it (the frame at the top left of a black square, resized bilinearly without half-pixel centres), and what the
 * models output is decoded by the same code as on TF.js; centernet's post-processing (peaks of the class heat map,
 * the 100 best, their boxes) is cut from the graph and done here.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSession, ort } from '../onnx/runtime.js';
import { tfjsToOnnx, type TfGraphJson } from '../onnx/tfjs-graph.js';
import { FluxError } from '../util/check.js';
import { DETECTOR_SPECS, type DetectorName } from './models.js';
import { blazefaceFound, centernetFound, type Found, KEEP_SCORE, nanodetFound, type Rgb } from './run.js';

/** Bumped when the conversion changes, so a kept ONNX file from an older conversion is made again. */
export const CONVERSION_VERSION = 1;

/** The detectors that have an ONNX conversion, and the TF tensors taken as the ONNX model's outputs. */
export const ONNX_OUTPUTS: Partial<Record<DetectorName, readonly string[]>> = {
  centernet: ['tower_0/keypoints', 'tower_0/wh'],
  blazeface: ['Identity', 'Identity_1', 'Identity_2', 'Identity_3'],
  nanodet: ['Identity', 'Identity_1', 'Identity_2', 'Identity_3', 'Identity_4', 'Identity_5'],
};

/** The input shape of a converted detector: NHWC, but nanodet (converted to TF from ONNX) takes NCHW. */
export function onnxInputShape(name: DetectorName): number[] {
  const side = DETECTOR_SPECS[name].input;
  return name === 'nanodet' ? [1, 3, side, side] : [1, side, side, 3];
}

/** Where a detector's ONNX conversion is kept. */
export function onnxFile(name: DetectorName, dir: string): string {
  return join(dir, `${name}.onnx-v${CONVERSION_VERSION}.onnx`);
}

/** The ONNX conversion of a detector: read when kept, else converted from its TF.js files and kept. */
export function onnxBytes(name: DetectorName, dir: string): Uint8Array {
  const outputs = ONNX_OUTPUTS[name];
  if (!outputs) throw new FluxError(`detector ${name}: no ONNX conversion (use --runtime tfjs)`);
  const file = onnxFile(name, dir);
  if (existsSync(file)) return readFileSync(file);
  const jsonFile = join(dir, `${name}.json`);
  if (!existsSync(jsonFile))
    throw new FluxError(
      `detector ${name}: ${jsonFile} is missing; install the detector files with: flux detect --install`,
    );
  const json = JSON.parse(readFileSync(jsonFile, 'utf8')) as TfGraphJson;
  const weights = Buffer.concat(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(join(dir, p))));
  const inputLayout = name === 'nanodet' ? 'plain' : 'nhwc';
  const { bytes } = tfjsToOnnx(json, weights, { name, inputShape: onnxInputShape(name), outputs, inputLayout });
  mkdirSync(dir, { recursive: true });
  // a part file of this process's own, renamed into place whole: two processes converting at once both finish
  const part = `${file}.${process.pid}.part`;
  writeFileSync(part, bytes);
  renameSync(part, file);
  return bytes;
}

/**
 * The image letterboxed into a `size` square as float pixels 0..255, NHWC: the same arithmetic as TF.js's
 * resizeBilinear without align-corners or half-pixel centres (source = target x input / output).
 */
export function letterboxPixels(img: Rgb, size: number): Float32Array {
  const side = Math.max(img.width, img.height);
  const scale = side / size;
  const { width, height, data } = img;
  // horizontal pass over the frame's rows (the padding to the right is black), then the vertical pass
  const x0 = new Int32Array(size);
  const x1 = new Int32Array(size);
  const fx = new Float64Array(size);
  for (let x = 0; x < size; x++) {
    const s = x * scale;
    x0[x] = Math.floor(s);
    x1[x] = Math.min(side - 1, Math.ceil(s));
    fx[x] = s - (x0[x] as number);
  }
  const rows = new Float64Array(height * size * 3);
  for (let y = 0; y < height; y++) {
    const src = y * width * 3;
    const dst = y * size * 3;
    for (let x = 0; x < size; x++) {
      const a = x0[x] as number;
      const b = x1[x] as number;
      const f = fx[x] as number;
      for (let c = 0; c < 3; c++) {
        const l = a < width ? (data[src + a * 3 + c] as number) : 0;
        const r = b < width ? (data[src + b * 3 + c] as number) : 0;
        rows[dst + x * 3 + c] = l + (r - l) * f;
      }
    }
  }
  const out = new Float32Array(size * size * 3);
  const line = size * 3;
  for (let y = 0; y < size; y++) {
    const s = y * scale;
    const y0 = Math.floor(s);
    const y1 = Math.min(side - 1, Math.ceil(s));
    const f = s - y0;
    if (y0 >= height) break; // below the frame: black
    const top = y0 * line;
    const bottom = y1 * line;
    const dst = y * line;
    for (let i = 0; i < line; i++) {
      const t = rows[top + i] as number;
      const b = y1 < height ? (rows[bottom + i] as number) : 0;
      out[dst + i] = t + (b - t) * f;
    }
  }
  return out;
}

/**
 * Centernet's post-processing on its two heads (NHWC): the class heat map's local maxima (3 x 3), the 100 best over
 * all classes, each as [x1, y1, x2, y2, score, class] in input pixels (the cell times the stride of 4, less and
 * plus the four distances of the size head). Maxima below `floor` are dropped before ranking (they could only fill
 * the tail of the 100, and the decoder keeps none of them).
 */
export function centernetRows(
  heat: Float32Array,
  wh: Float32Array,
  grid: number,
  classes: number,
  floor: number,
): number[][] {
  const peaks: Array<[number, number]> = [];
  for (let i = 0; i < heat.length; i++) {
    const v = heat[i] as number;
    if (!(v >= floor)) continue;
    const c = i % classes;
    const cell = (i - c) / classes;
    const x = cell % grid;
    const y = (cell - x) / grid;
    let peak = true;
    for (let dy = -1; dy <= 1 && peak; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= grid || ny >= grid) continue;
        if ((heat[(ny * grid + nx) * classes + c] as number) > v) {
          peak = false;
          break;
        }
      }
    }
    if (peak) peaks.push([v, i]);
  }
  peaks.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return peaks.slice(0, 100).map(([score, i]) => {
    const c = i % classes;
    const cell = (i - c) / classes;
    const x = cell % grid;
    const y = (cell - x) / grid;
    const d = [0, 1, 2, 3].map((k) => wh[cell * 4 + k] as number);
    return [
      x * 4 - (d[0] as number),
      y * 4 - (d[1] as number),
      x * 4 + (d[2] as number),
      y * 4 + (d[3] as number),
      score,
      c,
    ];
  });
}

/** A detector converted to ONNX, open on ONNX Runtime's CPU provider. */
export class OnnxDetector {
  private constructor(
    readonly name: DetectorName,
    private readonly session: ort.InferenceSession,
  ) {}

  /** Opens a detector (converting it first if its ONNX file is not kept yet); `threads` intra-op threads. */
  static async load(name: DetectorName, dir: string, threads = 1): Promise<OnnxDetector> {
    const bytes = onnxBytes(name, dir);
    const { session } = await openSession(bytes, { threads, interOpThreads: 1, provider: 'cpu' });
    return new OnnxDetector(name, session);
  }

  /** Runs the model on one input (see onnxInputShape); the outputs by TF name. */
  async run(pixels: Float32Array): Promise<Record<string, Float32Array>> {
    return Object.fromEntries(Object.entries(await this.runShaped(pixels)).map(([k, t]) => [k, t.data]));
  }

  private async runShaped(pixels: Float32Array): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    const input = new ort.Tensor('float32', pixels, onnxInputShape(this.name));
    const out = await this.session.run({ input });
    return Object.fromEntries(
      Object.entries(out).map(([k, t]) => [k, { shape: t.dims as number[], data: t.data as Float32Array }]),
    );
  }

  async detect(img: Rgb): Promise<Found[]> {
    const side = DETECTOR_SPECS[this.name].input;
    const pixels = letterboxPixels(img, side);
    if (this.name === 'centernet') {
      const out = await this.run(pixels);
      const heat = out['tower_0/keypoints'] as Float32Array;
      const rows = centernetRows(
        heat,
        out['tower_0/wh'] as Float32Array,
        side / 4,
        heat.length / (side / 4) ** 2,
        KEEP_SCORE,
      );
      return centernetFound(img, rows);
    }
    if (this.name === 'nanodet') {
      // 0..1, channels first
      const chw = new Float32Array(pixels.length);
      const n = side * side;
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) chw[c * n + i] = (pixels[i * 3 + c] as number) / 255;
      return nanodetFound(img, Object.values(await this.runShaped(chw)));
    }
    for (let i = 0; i < pixels.length; i++) pixels[i] = (pixels[i] as number) / 127.5 - 0.5;
    const out = await this.run(pixels);
    return blazefaceFound(img, Object.values(out));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
