/**
 * One ONNX Runtime detector in its own thread (its session runs synchronously, so a thread is what lets one
 * `flux detect` keep more than one core busy): photos come in, what the detector found goes back.
 */
import { workerData } from 'node:worker_threads';
import { serveInOrder } from '../util/model-worker.js';
import type { DetectorName } from './models.js';
import { OnnxDetector } from './onnx-run.js';
import type { Found, Rgb } from './run.js';

export interface DetectSetup {
  name: DetectorName;
  dir: string;
}
export interface DetectRequest {
  id: number;
  img: Rgb;
}

const { name, dir } = workerData as DetectSetup;
const loading = OnnxDetector.load(name, dir, 1);
serveInOrder<DetectRequest, { found: Found[] }>(
  async (req) => ({ found: await (await loading).detect(req.img) }),
  async () => {
    await (await loading.catch(() => null))?.dispose();
  },
);
