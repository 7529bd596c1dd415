/**
 * One ONNX Runtime detector in its own thread (its session runs synchronously, so a thread is what lets one
 * `flux detect` keep more than one core busy): photos come in, what the detector found goes back.
 */
import { parentPort, workerData } from 'node:worker_threads';
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
export type DetectResponse = { id: number; ok: true; found: Found[] } | { id: number; ok: false; message: string };

const { name, dir } = workerData as DetectSetup;
const loading = OnnxDetector.load(name, dir, 1);
let chain: Promise<void> = Promise.resolve();
parentPort?.on('message', (req: DetectRequest | { close: true }) => {
  if ('close' in req) {
    chain = chain.then(async () => {
      await (await loading.catch(() => null))?.dispose();
      parentPort?.close();
    });
    return;
  }
  chain = chain.then(async () => {
    let res: DetectResponse;
    try {
      res = { id: req.id, ok: true, found: await (await loading).detect(req.img) };
    } catch (err) {
      res = { id: req.id, ok: false, message: (err as Error).message.split('\n')[0] ?? 'detection failed' };
    }
    parentPort?.postMessage(res);
  });
});
