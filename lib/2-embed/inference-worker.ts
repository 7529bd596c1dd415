/**
 * The image model in its own thread: the main thread stays free to hand images to the decoding workers while a
 * batch runs, so decoding and inference overlap on both cores.
 */
import { workerData } from 'node:worker_threads';
import { serveInOrder } from '../util/model-worker.js';
import type { ModelSpec } from './models.js';
import { OnnxImageModel } from '../onnx/image-model.js';
import type { Provider } from '../onnx/runtime.js';

/** `tensor` may live in a SharedArrayBuffer (the decoding workers write into it). */
export interface InferenceRequest {
  id: number;
  tensor: Float32Array;
  n: number;
}
/** What a batch gives back. */
export interface InferenceResult {
  embedding: Float32Array;
  logits: Float32Array | null;
}

/** What the worker is started with: the model and the execution provider to run it on. */
export interface InferenceSetup {
  spec: ModelSpec;
  path: string;
  provider: Provider;
}

const { spec, path, provider } = workerData as InferenceSetup;
const loading = OnnxImageModel.load(spec, path, 1, provider);

// onnxruntime reads only unshared memory: each batch is copied out of the shared buffer into this one
let local = new Float32Array(0);
serveInOrder<InferenceRequest, InferenceResult>(
  async (req) => {
    const size = req.n * 3 * spec.preprocessing.size * spec.preprocessing.size;
    if (local.length < size) local = new Float32Array(size);
    local.set(req.tensor.subarray(0, size));
    const out = await (await loading).run(local, req.n);
    return { embedding: out.embedding, logits: out.logits };
  },
  // a clean exit: the model is released after any load or batch in progress, never torn down in the middle of one
  async () => {
    await (await loading.catch(() => null))?.close();
  },
  (r) => [r.embedding.buffer, ...(r.logits ? [r.logits.buffer] : [])] as ArrayBuffer[],
);
