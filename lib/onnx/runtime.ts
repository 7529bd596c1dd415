/**
 * The only module that imports onnxruntime-node: session creation with the workbench's settings. The image
 * embedder, the curator's matrix kernels and the exported keeper scorer all open their sessions here.
 */
import * as ort from 'onnxruntime-node';

export { ort };

/** Session settings: intra-op threads (0 = ONNX Runtime's default, one per core) and inter-op threads. */
export interface SessionOptions {
  threads?: number;
  interOpThreads?: number;
}

/** Opens an inference session on a model file or the bytes of a model. */
export async function createSession(model: string | Uint8Array, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  const settings: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.threads ?? 0,
    graphOptimizationLevel: 'all',
    ...(options.interOpThreads !== undefined ? { interOpNumThreads: options.interOpThreads } : {}),
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, settings) : ort.InferenceSession.create(model, settings);
}
