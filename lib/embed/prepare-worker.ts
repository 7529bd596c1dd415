/**
 * A decoding worker: preview file -> RGB -> pixel descriptor and model input tensor. Runs in a worker thread so
 * decoding and the descriptor use the second core while the model runs.
 */
import { readFile } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import sharp from 'sharp';
import { pixelDescriptor } from './descriptor.js';
import type { Preprocessing } from './models.js';
import { decodeRgb, modelPixels, toTensor } from './preprocess.js';

sharp.concurrency(1);
sharp.cache(false);

export interface PrepareRequest { id: number; file: string; preprocessing: Preprocessing | null }
export type PrepareResponse =
  | { id: number; ok: true; descriptor: Float32Array; tensor: Float32Array | null }
  | { id: number; ok: false; message: string };

parentPort?.on('message', (req: PrepareRequest) => {
  void (async (): Promise<PrepareResponse> => {
    try {
      const { rgb, width, height } = await decodeRgb(await readFile(req.file));
      const descriptor = pixelDescriptor(rgb, width, height);
      let tensor: Float32Array | null = null;
      if (req.preprocessing) {
        tensor = new Float32Array(3 * req.preprocessing.size * req.preprocessing.size);
        toTensor(await modelPixels(rgb, width, height, req.preprocessing), req.preprocessing, tensor);
      }
      return { id: req.id, ok: true, descriptor, tensor };
    } catch (err) {
      return { id: req.id, ok: false, message: (err as Error).message.split('\n')[0] ?? 'failed' };
    }
  })().then((res) => {
    const transfer = res.ok ? [res.descriptor.buffer, ...(res.tensor ? [res.tensor.buffer] : [])] : [];
    parentPort?.postMessage(res, transfer as ArrayBuffer[]);
  });
});
