/**
 * A detector ready to run, on either runtime: TF.js (the graph model as published, on the best TF.js backend here)
 * or ONNX Runtime (the graph converted to ONNX, on its native CPU kernels; bench/detect.ts measures both). `auto`
 * picks ONNX Runtime for the detectors that have a conversion (centernet, blazeface) and TF.js for the others.
 */
import { tf } from '../tfjs/backend.js';
import { FluxError } from '../util/check.js';
import { type DetectorName, loadGraph, modelId, type Runtime, RUNTIMES } from './models.js';
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
 * Loads a detector from its files in `dir` on a runtime (TF.js needs its backend initialised first). `threads`: the
 * intra-op threads of an ONNX Runtime session (1: one photo a core, as the stage runs; TF.js's wasm backend runs one).
 */
export async function loadDetector(name: DetectorName, runtime: Runtime, dir: string, threads = 1): Promise<Detector> {
  const id = modelId(name, runtime);
  if (runtime === 'onnx') {
    const onnx = await OnnxDetector.load(name, dir, threads);
    return { name, runtime, modelId: id, detect: (img) => onnx.detect(img), dispose: () => onnx.dispose() };
  }
  const graph: tf.GraphModel = await loadGraph(name, dir);
  return {
    name,
    runtime,
    modelId: id,
    detect: (img) => detectIn(name, graph, img),
    dispose: async () => graph.dispose(),
  };
}
