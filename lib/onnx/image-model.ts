/**
 * An image embedding model on ONNX Runtime. A session runs one thread, so decoding keeps the other core busy.
 */
import { FluxError } from '../util/check.js';
import type { ModelSpec } from '../2-embed/models.js';
import { openSession, ort, type Provider, type ProviderChoice } from './runtime.js';

/** An image model ready to run on batches of preprocessed images. */
export class OnnxImageModel {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly spec: ModelSpec,
    readonly path: string,
    /** The execution provider the model runs on. */
    readonly provider: Provider,
  ) {}

  /**
   * Loads a model file on an execution provider (default: the best that loads); the message names the file when it
   * is not a usable ONNX model, and says how to install a provider that is not here.
   */
  static async load(
    spec: ModelSpec,
    path: string,
    threads = 1,
    provider: ProviderChoice = 'auto',
  ): Promise<OnnxImageModel> {
    let session: ort.InferenceSession;
    let chosen: Provider;
    try {
      ({ session, provider: chosen } = await openSession(path, { threads, interOpThreads: 1, provider }));
    } catch (err) {
      if (err instanceof FluxError) throw err;
      throw new FluxError(`model ${spec.id}: cannot load ${path}: ${(err as Error).message}`);
    }
    for (const name of [spec.output, ...(spec.logits ? [spec.logits] : [])]) {
      if (!session.outputNames.includes(name)) {
        const outputs = session.outputNames.join(', ');
        throw new FluxError(`model ${spec.id}: ${path} has no output "${name}" (outputs: ${outputs})`);
      }
    }
    if (!session.inputNames.includes(spec.input)) {
      const inputs = session.inputNames.join(', ');
      throw new FluxError(`model ${spec.id}: ${path} has no input "${spec.input}" (inputs: ${inputs})`);
    }
    return new OnnxImageModel(session, spec, path, chosen);
  }

  /** Runs `n` images (NCHW floats); returns the embeddings (n x dim) and, when the model has them, the logits. */
  async run(input: Float32Array, n: number): Promise<{ embedding: Float32Array; logits: Float32Array | null }> {
    const s = this.spec.preprocessing.size;
    const feeds = { [this.spec.input]: new ort.Tensor('float32', input.subarray(0, n * 3 * s * s), [n, 3, s, s]) };
    const fetches = [this.spec.output, ...(this.spec.logits ? [this.spec.logits] : [])];
    const out = await this.session.run(feeds, fetches);
    const emb = out[this.spec.output] as ort.Tensor;
    const dim = emb.dims[emb.dims.length - 1] as number;
    if (dim !== this.spec.dim) {
      throw new FluxError(
        `model ${this.spec.id}: output "${this.spec.output}" has ${dim} values per image, ` +
          `the registry says ${this.spec.dim}`,
      );
    }
    const logits = this.spec.logits ? ((out[this.spec.logits] as ort.Tensor).data as Float32Array) : null;
    return { embedding: new Float32Array(emb.data as Float32Array), logits: logits ? new Float32Array(logits) : null };
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
