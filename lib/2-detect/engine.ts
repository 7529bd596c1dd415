/**
 * A detector ready to run, on either runtime: TF.js (the graph model as published, on the best TF.js backend here)
 * or ONNX Runtime (the graph converted to ONNX, on its native CPU kernels; bench/detect.ts measures both). `auto`
 * picks ONNX Runtime for the detectors that have a conversion (centernet, nanodet, blazeface) and TF.js for
 * movenet-multipose (its graph is full of dynamic shape ops the converter does not handle).
 */
import { tf } from '../tfjs/backend.js';
import { FluxError } from '../util/check.js';
import { type DetectorName, loadGraph, modelId, type Runtime, RUNTIMES } from './models.js';
import { OnnxPool } from './onnx-pool.js';
import { ONNX_OUTPUTS, OnnxDetector } from './onnx-run.js';
import { detectIn, type Found, type Rgb } from './run.js';

/** A runtime by name, or `auto`: ONNX Runtime where the detector has a conversion, else TF.js. */
export type RuntimeChoice = Runtime | 'auto';
export const RUNTIME_CHOICES: readonly RuntimeChoice[] = ['auto', ...RUNTIMES];

/** One detector, loaded. */
export interface Detector {
  name: DetectorName;
  runtime: Runtime;
  /** The id its detections are recorded under. */
  modelId: string;
  /** How many photos it takes at once (its worker threads; 1 in this thread). */
  concurrency: number;
  detect(img: Rgb): Promise<Found[]>;
  dispose(): Promise<void>;
}

/** The runtime a detector runs on under a choice; a detector without an ONNX conversion asked on ONNX is refused. */
export function runtimeFor(name: DetectorName, choice: RuntimeChoice = 'auto'): Runtime {
  if (choice === 'auto') return ONNX_OUTPUTS[name] ? 'onnx' : 'tfjs';
  if (choice === 'onnx' && !ONNX_OUTPUTS[name]) {
    const have = Object.keys(ONNX_OUTPUTS).join(', ');
    throw new FluxError(`--runtime onnx: ${name} has no ONNX conversion (only ${have}); use --runtime auto or tfjs`);
  }
  return choice;
}

/**
 * Loads a detector from its files in `dir` on a runtime (TF.js needs its backend initialised first). On ONNX
 * Runtime, `workers` > 1 starts that many worker threads with a one-thread session each (one photo a core, as the
 * stage runs); else one session in this thread with `threads` intra-op threads (default 1). TF.js runs here.
 */
export async function loadDetector(
  name: DetectorName,
  runtime: Runtime,
  dir: string,
  options: { threads?: number; workers?: number } = {},
): Promise<Detector> {
  const id = modelId(name, runtime);
  const workers = options.workers ?? 1;
  if (runtime === 'onnx' && workers > 1) {
    const pool = new OnnxPool(name, dir, workers);
    const detect = (img: Rgb): Promise<Found[]> => pool.detect(img);
    return { name, runtime, modelId: id, concurrency: workers, detect, dispose: () => pool.close() };
  }
  if (runtime === 'onnx') {
    const onnx = await OnnxDetector.load(name, dir, options.threads ?? 1);
    const detect = (img: Rgb): Promise<Found[]> => onnx.detect(img);
    return { name, runtime, modelId: id, concurrency: 1, detect, dispose: () => onnx.dispose() };
  }
  const graph: tf.GraphModel = await loadGraph(name, dir);
  return {
    name,
    runtime,
    modelId: id,
    concurrency: 1,
    detect: (img) => detectIn(name, graph, img),
    dispose: async () => graph.dispose(),
  };
}
