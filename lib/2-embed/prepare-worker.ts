/**
 * A decoding worker: preview file -> RGB -> pixel descriptor and model input tensor. Runs in a worker thread so
 * decoding and the descriptor use the second core while the model runs.
 */
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import type { Preprocessing } from './models.js';
import { prepareImage } from './preprocess.js';

sharp.concurrency(1);
sharp.cache(false);

export interface PrepareRequest {
  id: number;
  file: string;
  preprocessing: Preprocessing | null;
  view?: { seed: number; id: number; view: number };
  /** Where the model tensor goes: a slot (offset in floats) of the batch's shared buffer. */
  target?: { buffer: SharedArrayBuffer; offset: number };
}
export type PrepareResponse =
  | { id: number; ok: true; descriptor: Float32Array | null; tensor: Float32Array | null }
  | { id: number; ok: false; message: string };

async function handle(req: PrepareRequest): Promise<void> {
  let res: PrepareResponse;
  try {
    const out =
      req.target && req.preprocessing
        ? new Float32Array(
            req.target.buffer,
            req.target.offset * 4,
            3 * req.preprocessing.size * req.preprocessing.size,
          )
        : undefined;
    const { descriptor, tensor } = await prepareImage(await readFile(req.file), req.preprocessing, req.view, out);
    res = { id: req.id, ok: true, descriptor, tensor };
  } catch (err) {
    res = { id: req.id, ok: false, message: (err as Error).message.split('\n')[0] ?? 'failed' };
  }
  const transfer = res.ok
    ? [...(res.descriptor ? [res.descriptor.buffer] : []), ...(res.tensor ? [res.tensor.buffer] : [])]
    : [];
  parentPort?.postMessage(res, transfer as ArrayBuffer[]);
}

// images are handled as they arrive: sharp decodes the next (in libuv's threads) while this thread computes a
// descriptor, which keeps the cores fuller than one image at a time; the pool bounds how many are in flight
parentPort?.on('message', (req: PrepareRequest) => {
  void handle(req);
});
